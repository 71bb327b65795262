//! HTTPRoute rules → route table entries, once a route is attached.
//!
//! Matches become path keys (PathPrefix as Ingress Prefix, Exact
//! approximated, RegularExpression refused; header/query/method conditions
//! dropped with UnsupportedMatch), backendRefs a weighted or plain pool
//! (ReferenceGrant-checked), header modifiers per-path headers, and a
//! scheme-only https redirect is merged into the route with backends on the
//! same (host, path). Rules left without backends are reported with the
//! entry their requests would fall through to.

use gateway_api::experimental::httproutes::{HttpRouteRules, HttpRouteRulesMatchesPathType};
use std::sync::Arc;

use super::backends::{BackendRef, PortRef, service_address};
use super::gateway::{GROUP, Target, grant_allows};
use super::{Ctx, acme, annotations, prefix_key, report_path, routable_host};
use crate::diag::{Code, Severity};
use crate::ir::{Condition, PathEntry, PathSettings, Provenance, Server};
use crate::model::{FieldPath, HttpRoute, Obj, Origin, diag_at};
use crate::route::lookup;

/// Work left until every route has claimed its entries.
#[derive(Default)]
pub struct Pending {
    /// (host, key, rule): https-only redirects to merge.
    redirects: Vec<(String, String, Provenance)>,
    /// (host, key, rule): rules without any backend.
    fallthrough: Vec<(String, String, Provenance)>,
}

impl Pending {
    /// Appends another route's pending work, after this one's.
    pub fn extend(&mut self, other: Pending) {
        self.redirects.extend(other.redirects);
        self.fallthrough.extend(other.fallthrough);
    }
}

pub fn render(
    ctx: &mut Ctx<'_>,
    route: &Obj<HttpRoute>,
    targets: &[Target],
    pending: &mut Pending,
) {
    let origin = &route.origin;
    let Some(spec) = route.value.spec.as_ref() else {
        return;
    };
    let ann = annotations::read(
        route.value.metadata.annotations.as_ref(),
        origin,
        &mut ctx.diags,
    );
    let hosts_field = FieldPath::of(&["spec", "hostnames"]);
    let mut hosts: Vec<String> = Vec::new();
    for t in targets {
        let h = match t {
            Target::Host(h) => routable_host(ctx, Some(h), origin, &hosts_field),
            Target::CatchAll => routable_host(ctx, None, origin, &hosts_field),
        };
        if let Some(h) = h
            && !hosts.contains(&h)
        {
            hosts.push(h);
        }
    }
    let mut rendered = false;
    for (ri, rule) in spec.rules.iter().flatten().enumerate() {
        let rfield = FieldPath::of(&["spec", "rules"]).idx(ri);
        let mut settings = (*ann.settings).clone();
        let redirect_https = filters(ctx, origin, rule, &rfield, &mut settings);
        let settings = Arc::new(settings);
        unsupported_fields(ctx, origin, rule, &rfield);
        let servers: Arc<[Server]> = backends(ctx, origin, rule, &rfield).into();
        let keys = match_keys(ctx, origin, rule, &rfield);
        let has_refs = rule.backend_refs.as_ref().is_some_and(|b| !b.is_empty());
        // cert-manager's gatewayHTTPRoute solver: host-independent.
        let (solver_keys, keys): (Vec<_>, Vec<_>) = keys
            .into_iter()
            .partition(|(k, _, _)| acme::challenge_key(k).is_some());
        for (key, _, mfield) in solver_keys {
            if let Some(server) = servers.first() {
                let prov = Provenance {
                    origin: origin.clone(),
                    field: mfield,
                };
                acme::claim_solver(ctx, &key, server.address.clone(), prov);
            }
        }
        for host in &hosts {
            for (key, conditional, mfield) in &keys {
                let prov = Provenance {
                    origin: origin.clone(),
                    field: mfield.clone(),
                };
                if !servers.is_empty() {
                    let entry = PathEntry {
                        servers: servers.clone(),
                        settings: settings.clone(),
                        provenance: prov,
                        conditional: *conditional,
                    };
                    rendered |= ctx.claim(host, key, entry);
                } else if redirect_https && !has_refs {
                    pending.redirects.push((host.clone(), key.clone(), prov));
                } else {
                    pending.fallthrough.push((host.clone(), key.clone(), prov));
                }
            }
        }
    }
    if rendered && ann.sticky {
        ctx.set_sticky(Provenance {
            origin: origin.clone(),
            field: FieldPath::of(&["metadata", "annotations"])
                .key("synapse.gen0sec.com/sticky-sessions"),
        });
    }
}

/// Applies the rule's filters to `settings`; true when the rule asks only
/// for a redirect to https.
fn filters(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    rule: &HttpRouteRules,
    rfield: &FieldPath,
    settings: &mut PathSettings,
) -> bool {
    let mut redirect_https = false;
    for (fi, f) in rule.filters.iter().flatten().enumerate() {
        let ffield = rfield.key("filters").idx(fi);
        let name = format!("{:?}", f.r#type);
        let unsupported = |ctx: &mut Ctx<'_>, what: String| {
            ctx.push(diag_at(
                Code::UnsupportedFilter,
                format!("{what} has no Synapse equivalent; the rule renders without it"),
                origin,
                &ffield,
            ));
        };
        // The request and response modifiers are distinct generated types of
        // one shape: set and add become `Name:Value` entries, remove is lost.
        macro_rules! header_modifier {
            ($modifier:expr, $list:expr, $field:literal, $title:literal) => {
                if let Some(m) = &$modifier {
                    for h in m.set.iter().flatten() {
                        $list.push(format!("{}:{}", h.name, h.value));
                    }
                    for (hi, h) in m.add.iter().flatten().enumerate() {
                        $list.push(format!("{}:{}", h.name, h.value));
                        add_approximated(
                            ctx,
                            origin,
                            &ffield.key($field).key("add").idx(hi),
                            &h.name,
                        );
                    }
                    if m.remove.as_ref().is_some_and(|r| !r.is_empty()) {
                        unsupported(ctx, concat!($title, " remove").to_string());
                    }
                }
            };
        }
        match name.as_str() {
            "RequestHeaderModifier" => header_modifier!(
                f.request_header_modifier,
                settings.request_headers,
                "requestHeaderModifier",
                "RequestHeaderModifier"
            ),
            "ResponseHeaderModifier" => header_modifier!(
                f.response_header_modifier,
                settings.response_headers,
                "responseHeaderModifier",
                "ResponseHeaderModifier"
            ),
            "RequestRedirect" => {
                let https_only = f.request_redirect.as_ref().is_some_and(|r| {
                    r.scheme
                        .as_ref()
                        .is_some_and(|s| format!("{s:?}") == "Https")
                        && r.hostname.is_none()
                        && r.path.is_none()
                        && r.port.is_none()
                });
                if https_only {
                    redirect_https = true;
                } else {
                    unsupported(
                        ctx,
                        "a RequestRedirect other than scheme: https".to_string(),
                    );
                }
            }
            "UrlRewrite" => unsupported(ctx, "URLRewrite".to_string()),
            "Cors" => unsupported(ctx, "CORS".to_string()),
            other => unsupported(ctx, other.to_string()),
        }
    }
    redirect_https
}

fn add_approximated(ctx: &mut Ctx<'_>, origin: &Arc<Origin>, field: &FieldPath, name: &str) {
    ctx.push(diag_at(
        Code::HeaderAddApproximated,
        format!("header {name} is added like a set: a value already present is replaced, not appended to"),
        origin,
        field,
    ));
}

fn unsupported_fields(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    rule: &HttpRouteRules,
    rfield: &FieldPath,
) {
    let fields = [
        ("timeouts", rule.timeouts.is_some()),
        ("retry", rule.retry.is_some()),
        ("sessionPersistence", rule.session_persistence.is_some()),
    ];
    for (name, set) in fields {
        if set {
            ctx.push(diag_at(
                Code::UnsupportedFilter,
                format!("rule field {name} has no Synapse equivalent; the rule renders without it"),
                origin,
                &rfield.key(name),
            ));
        }
    }
}

fn backends(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    rule: &HttpRouteRules,
    rfield: &FieldPath,
) -> Vec<Server> {
    let refs = rule.backend_refs.as_deref().unwrap_or_default();
    let weighted = refs.iter().any(|b| b.weight.is_some());
    let mut servers = Vec::new();
    for (bi, b) in refs.iter().enumerate() {
        let bfield = rfield.key("backendRefs").idx(bi);
        let group = b.group.as_deref().unwrap_or("");
        let kind = b.kind.as_deref().unwrap_or("Service");
        if b.filters.as_ref().is_some_and(|f| !f.is_empty()) {
            ctx.push(diag_at(
                Code::UnsupportedFilter,
                "per-backend filters have no Synapse equivalent; the backend renders without them"
                    .to_string(),
                origin,
                &bfield.key("filters"),
            ));
        }
        if !(group.is_empty() || group == "core") || kind != "Service" {
            ctx.push(diag_at(
                Code::UnsupportedBackend,
                format!(
                    "backendRef of kind {kind:?} (group {group:?}) is not a Service; it is dropped"
                ),
                origin,
                &bfield,
            ));
            continue;
        }
        let weight = if weighted {
            Some(b.weight.unwrap_or(1))
        } else {
            None
        };
        if weight == Some(0) {
            continue;
        }
        let ns = b
            .namespace
            .clone()
            .unwrap_or_else(|| origin.namespace.clone());
        if ns != origin.namespace
            && !grant_allows(
                ctx,
                (GROUP, "HTTPRoute", &origin.namespace),
                ("", "Service", &ns, &b.name),
            )
        {
            ctx.push(diag_at(
                Code::RefNotPermitted,
                format!(
                    "backendRef to Service {ns}/{} crosses namespaces and no ReferenceGrant in {ns:?} allows it; it is dropped",
                    b.name
                ),
                origin,
                &bfield,
            ));
            continue;
        }
        let port = match b.port {
            Some(p) => PortRef::Number(p),
            None => PortRef::Missing,
        };
        let Some(address) = service_address(
            ctx,
            BackendRef {
                namespace: &ns,
                name: &b.name,
                port,
                origin,
                field: &bfield,
                missing: Code::BackendNotFound,
            },
        ) else {
            continue;
        };
        let weight = match weight {
            Some(w) if w < 0 => {
                ctx.push(diag_at(
                    Code::BackendUnresolved,
                    format!("weight {w} is negative; the backend is dropped"),
                    origin,
                    &bfield.key("weight"),
                ));
                continue;
            }
            w => w.map(|w| w as u32),
        };
        servers.push(Server { address, weight });
    }
    servers
}

/// The rule's matches as (key, conditional, field).
fn match_keys(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    rule: &HttpRouteRules,
    rfield: &FieldPath,
) -> Vec<(String, bool, FieldPath)> {
    let matches = rule.matches.as_deref().unwrap_or_default();
    if matches.is_empty() {
        return vec![("/".to_string(), false, rfield.clone())];
    }
    let mut keys = Vec::new();
    for (mi, m) in matches.iter().enumerate() {
        let mfield = rfield.key("matches").idx(mi);
        let (kind, value) = match &m.path {
            Some(p) => (
                p.r#type.clone(),
                p.value.clone().unwrap_or_else(|| "/".to_string()),
            ),
            None => (None, "/".to_string()),
        };
        let pfield = mfield.key("path");
        let key = match kind.unwrap_or(HttpRouteRulesMatchesPathType::PathPrefix) {
            HttpRouteRulesMatchesPathType::RegularExpression => {
                ctx.push(diag_at(
                    Code::UnsupportedPathRegex,
                    format!("RegularExpression path {value:?} cannot be matched by Synapse; the match is not rendered"),
                    origin,
                    &pfield,
                ));
                continue;
            }
            HttpRouteRulesMatchesPathType::Exact => match prefix_key(&value) {
                Ok(k) => {
                    ctx.push(diag_at(
                        Code::ExactPathApproximated,
                        format!("Exact path {k} is rendered as a prefix: it also answers requests below it"),
                        origin,
                        &pfield,
                    ));
                    k
                }
                Err(p) => {
                    report_path(ctx, p, &value, origin, &pfield);
                    continue;
                }
            },
            HttpRouteRulesMatchesPathType::PathPrefix => match prefix_key(&value) {
                Ok(k) => k,
                Err(p) => {
                    report_path(ctx, p, &value, origin, &pfield);
                    continue;
                }
            },
        };
        let mut dropped = Vec::new();
        if m.headers.as_ref().is_some_and(|h| !h.is_empty()) {
            dropped.push("headers");
        }
        if m.query_params.as_ref().is_some_and(|q| !q.is_empty()) {
            dropped.push("queryParams");
        }
        if m.method.is_some() {
            dropped.push("method");
        }
        let conditional = !dropped.is_empty();
        if conditional {
            let mut d = diag_at(
                Code::UnsupportedMatch,
                format!(
                    "the {} condition of this match cannot be expressed; it is rendered on path {key} alone",
                    dropped.join(", ")
                ),
                origin,
                &mfield,
            );
            if ctx.opts.strict {
                d.diag.severity = Severity::Error;
            }
            ctx.push(d);
        }
        keys.push((key, conditional, mfield));
    }
    keys
}

/// Merges https redirects and reports rules without backends, once every
/// route has claimed its entries.
pub fn finish(ctx: &mut Ctx<'_>, pending: Pending) {
    for (host, key, prov) in pending.redirects {
        match ctx.table.host_mut(&host).and_then(|h| h.paths.get_mut(&key)) {
            Some(entry) => Arc::make_mut(&mut entry.settings).https_proxy_enabled = Some(true),
            None => ctx.push(diag_at(
                Code::HttpsRedirectUnmerged,
                format!("the https redirect of {host}{key} has no route with backends to merge into; it is not rendered"),
                &prov.origin,
                &prov.field,
            )),
        }
    }
    for (host, key, prov) in pending.fallthrough {
        let dest = lookup(&ctx.table, &host, &key).map(|m| (m.key, m.entry.provenance.clone()));
        let d = match &dest {
            Some((k, to)) => diag_at(
                Code::BackendFallThrough,
                format!(
                    "the rule has no backend left, so requests for {host}{key} fall through to {k} ({}) instead of a 500",
                    to.origin.describe()
                ),
                &prov.origin,
                &prov.field,
            )
            .related("the entry that answers them", &to.origin, &to.field),
            None => diag_at(
                Code::BackendFallThrough,
                format!("the rule has no backend left, so requests for {host}{key} get 404 instead of a 500"),
                &prov.origin,
                &prov.field,
            ),
        };
        ctx.push(d);
    }
}

/// The route's ResolvedRefs condition, as a controller sets it whether or
/// not a parent accepted the route: False with the first reason found
/// (InvalidKind, RefNotPermitted, BackendNotFound), else True.
pub fn resolved_refs(ctx: &Ctx<'_>, route: &Obj<HttpRoute>) -> Condition {
    let origin = &route.origin;
    let refs = route
        .value
        .spec
        .iter()
        .flat_map(|s| s.rules.iter().flatten())
        .flat_map(|r| r.backend_refs.iter().flatten());
    for b in refs {
        let group = b.group.as_deref().unwrap_or("");
        let kind = b.kind.as_deref().unwrap_or("Service");
        let ns = b
            .namespace
            .clone()
            .unwrap_or_else(|| origin.namespace.clone());
        let (reason, message) = if !(group.is_empty() || group == "core") || kind != "Service" {
            ("InvalidKind", format!("backendRef {} is a {kind}", b.name))
        } else if ns != origin.namespace
            && !grant_allows(
                ctx,
                (GROUP, "HTTPRoute", &origin.namespace),
                ("", "Service", &ns, &b.name),
            )
        {
            (
                "RefNotPermitted",
                format!("no ReferenceGrant allows Service {ns}/{}", b.name),
            )
        } else if ctx.service(&ns, &b.name).is_none() {
            (
                "BackendNotFound",
                format!("Service {ns}/{} is not in the input", b.name),
            )
        } else {
            continue;
        };
        return Condition {
            kind: "ResolvedRefs",
            status: false,
            reason,
            message,
        };
    }
    Condition {
        kind: "ResolvedRefs",
        status: true,
        reason: "ResolvedRefs",
        message: String::new(),
    }
}
