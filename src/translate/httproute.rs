//! HTTPRoute rules → route table entries, once a route is attached.
//!
//! Matches become path keys or, where the target has them (v2), matches of
//! their own (Exact, RegularExpression, method), in Gateway API precedence;
//! what the target cannot say is reported (UnsupportedMatch, Exact
//! approximated), backendRefs a weighted or plain pool
//! (ReferenceGrant-checked), header modifiers per-path headers, and a
//! scheme-only https redirect is merged into the route with backends on the
//! same (host, path). Rules left without backends are reported with the
//! entry their requests would fall through to.

use gateway_api::experimental::httproutes::{
    HttpRouteRules, HttpRouteRulesFiltersRequestRedirectPathType,
    HttpRouteRulesFiltersRequestRedirectScheme, HttpRouteRulesMatchesPathType,
};
use std::sync::Arc;

use super::attach::Reached;
use super::rules::{
    RefView, apply_header_mod, dropped_conditions, header_mod, ref_view, resolved_refs_of,
    route_hosts, servers_of, sticky,
};
use super::{Ctx, acme, annotations, prefix_key, regex, report_path};
use crate::diag::Code;
use crate::ir::{
    Condition, PathEntry, PathMatch, PathSettings, Provenance, Redirect, RouteMatch, Server,
    Transforms,
};
use crate::model::{FieldPath, HttpRoute, Obj, Origin, diag_at};
use crate::route::{Probe, lookup_request};

/// Work left until every route has claimed its entries.
#[derive(Default)]
pub struct Pending {
    /// (host, match, rule): https-only redirects to merge.
    redirects: Vec<(String, RouteMatch, Provenance)>,
    /// (host, match, rule): rules without any backend.
    fallthrough: Vec<(String, RouteMatch, Provenance)>,
}

impl Pending {
    /// A rule with no backend left: reported once every route has claimed
    /// its entries, with the entry its requests fall through to.
    pub fn fall_through(&mut self, host: String, m: RouteMatch, prov: Provenance) {
        self.fallthrough.push((host, m, prov));
    }

    /// Appends another route's pending work, after this one's.
    pub fn extend(&mut self, other: Pending) {
        self.redirects.extend(other.redirects);
        self.fallthrough.extend(other.fallthrough);
    }
}

/// A rule's RequestRedirect, as written.
struct RedirectFilter {
    https: Option<bool>,
    hostname: Option<String>,
    /// ReplaceFullPath's path; ReplacePrefixMatch is `prefix`.
    full_path: Option<String>,
    prefix: bool,
    port: Option<i32>,
    status: u16,
    field: FieldPath,
}

impl RedirectFilter {
    /// Only a change of scheme to https: `https_proxy_enabled`
    /// (`force_https`) on the route with backends says it in every format.
    fn https_only(&self) -> bool {
        self.https == Some(true)
            && self.hostname.is_none()
            && self.full_path.is_none()
            && !self.prefix
            && self.port.is_none()
    }

    /// The static location for a request to `host` that `m` matched and
    /// reached through listeners `via`, or why the location depends on the
    /// request.
    fn location(
        &self,
        host: &str,
        m: &RouteMatch,
        via: &[(bool, i32)],
    ) -> Result<Redirect, String> {
        let https = match (self.https, via) {
            (Some(h), _) => h,
            (None, [(h, _)]) => *h,
            (None, _) => {
                return Err("keeps the request's scheme, which its listeners do not fix".into());
            }
        };
        if host.starts_with("*.") && self.hostname.is_none() {
            return Err(format!(
                "keeps the request's host, which {host} does not fix"
            ));
        }
        let name = self.hostname.as_deref().unwrap_or(host);
        let path = match (&self.full_path, self.prefix, &m.path) {
            (Some(p), _, _) => p.clone(),
            (None, true, _) => {
                return Err("replaces the matched prefix of the request's path".into());
            }
            (None, false, PathMatch::Exact(p)) => p.clone(),
            (None, false, _) => {
                return Err("keeps the request's path, which its match does not fix".into());
            }
        };
        let port = match (self.port, self.https, via) {
            (Some(p), _, _) => Some(p),
            // A scheme given: its well-known port.
            (None, Some(_), _) => None,
            (None, None, [(_, p)]) => Some(*p),
            (None, None, _) => {
                return Err(
                    "keeps the listener's port, which differs between its listeners".into(),
                );
            }
        };
        let scheme = if https { "https" } else { "http" };
        let default_port = if https { 443 } else { 80 };
        let port = match port {
            Some(p) if p != default_port => format!(":{p}"),
            _ => String::new(),
        };
        Ok(Redirect {
            status: self.status,
            location: format!("{scheme}://{name}{port}{path}"),
        })
    }
}

pub fn render(
    ctx: &mut Ctx<'_>,
    route: &Obj<HttpRoute>,
    targets: &[Reached],
    pending: &mut Pending,
) {
    let origin = &route.origin;
    let Some(spec) = route.value.spec.as_ref() else {
        return;
    };
    let ann = annotations::read(
        route.value.metadata.annotations.as_ref(),
        origin,
        ctx.target(),
        &mut ctx.diags,
    );
    let hosts = route_hosts(ctx, origin, targets);
    let mut rendered = false;
    for (ri, rule) in spec.rules.iter().flatten().enumerate() {
        let rfield = FieldPath::of(&["spec", "rules"]).idx(ri);
        let mut settings = (*ann.settings).clone();
        let redirect = filters(ctx, origin, rule, &rfield, &mut settings);
        unsupported_fields(ctx, origin, rule, &rfield);
        let servers: Arc<[Server]> = backends(ctx, origin, rule, &rfield).into();
        let keys = match_keys(ctx, origin, rule, &rfield);
        let has_refs = rule.backend_refs.as_ref().is_some_and(|b| !b.is_empty());
        // cert-manager's gatewayHTTPRoute solver: host-independent.
        let (solver_keys, keys): (Vec<_>, Vec<_>) = keys.into_iter().partition(|(m, _, _)| {
            !matches!(m.path, PathMatch::Regex(_)) && acme::challenge_key(m.path.value()).is_some()
        });
        for (m, _, mfield) in solver_keys {
            if let Some(server) = servers.first() {
                let prov = Provenance {
                    origin: origin.clone(),
                    field: mfield,
                };
                let names = if ctx.target().solvers_on_hosts() {
                    hosts.iter().map(|(h, _)| h.clone()).collect()
                } else {
                    Vec::new()
                };
                let token = m.path.value().trim_end_matches('/').to_string();
                acme::claim_solver(ctx, &token, server.clone(), prov, names);
            }
        }
        let static_redirect = redirect
            .as_ref()
            .filter(|r| ctx.target().v2() && !r.https_only());
        if let Some(r) = redirect.as_ref().filter(|r| !r.https_only())
            && !ctx.target().v2()
        {
            ctx.push(diag_at(
                Code::UnsupportedFilter,
                format!("a RequestRedirect other than scheme: https has no equivalent in {}; the rule renders without it (target v2 can say a redirect whose location is fixed)", ctx.target().describe()),
                origin,
                &r.field,
            ));
        }
        let settings = Arc::new(settings);
        for (host, via) in &hosts {
            for (m, conditional, mfield) in &keys {
                let prov = Provenance {
                    origin: origin.clone(),
                    field: mfield.clone(),
                };
                if let Some(r) = static_redirect {
                    match r.location(host, m, via) {
                        Ok(to) => {
                            let mut st = (*settings).clone();
                            st.redirect = Some(Box::new(to));
                            let entry = PathEntry::new(
                                Arc::from([]),
                                Arc::new(st),
                                prov,
                                *conditional,
                            );
                            rendered |= ctx.claim_match(host, m.clone(), entry);
                            continue;
                        }
                        Err(why) => ctx.push(diag_at(
                            Code::UnsupportedFilter,
                            format!("the RequestRedirect of {host}{m} {why}; Synapse's redirects have a fixed location, so the rule renders without it"),
                            origin,
                            &r.field,
                        )),
                    }
                }
                if !servers.is_empty() {
                    let entry =
                        PathEntry::new(servers.clone(), settings.clone(), prov, *conditional);
                    rendered |= ctx.claim_match(host, m.clone(), entry);
                } else if redirect.as_ref().is_some_and(RedirectFilter::https_only) && !has_refs {
                    pending.redirects.push((host.clone(), m.clone(), prov));
                } else {
                    pending.fallthrough.push((host.clone(), m.clone(), prov));
                }
            }
        }
    }
    sticky(ctx, origin, rendered, ann.sticky);
}

/// Applies the rule's filters to `settings`, as the target can say them;
/// returns its RequestRedirect, if any.
fn filters(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    rule: &HttpRouteRules,
    rfield: &FieldPath,
    settings: &mut PathSettings,
) -> Option<RedirectFilter> {
    let mut redirect = None;
    let mut transforms = Transforms::default();
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
        match name.as_str() {
            "RequestHeaderModifier" => {
                if let Some(m) = &f.request_header_modifier {
                    let m = header_mod!(m);
                    apply_header_mod(ctx, origin, &ffield, m, true, settings, &mut transforms);
                }
            }
            "ResponseHeaderModifier" => {
                if let Some(m) = &f.response_header_modifier {
                    let m = header_mod!(m);
                    apply_header_mod(ctx, origin, &ffield, m, false, settings, &mut transforms);
                }
            }
            "RequestRedirect" => {
                if let Some(r) = &f.request_redirect {
                    let path = r.path.as_ref();
                    let prefix = path.is_some_and(|p| {
                        p.r#type == HttpRouteRulesFiltersRequestRedirectPathType::ReplacePrefixMatch
                    });
                    redirect = Some(RedirectFilter {
                        https: r
                            .scheme
                            .as_ref()
                            .map(|s| *s == HttpRouteRulesFiltersRequestRedirectScheme::Https),
                        hostname: r.hostname.clone().filter(|h| !h.is_empty()),
                        full_path: path
                            .filter(|_| !prefix)
                            .and_then(|p| p.replace_full_path.clone()),
                        prefix,
                        port: r.port,
                        status: r
                            .status_code
                            .and_then(|c| u16::try_from(c).ok())
                            .unwrap_or(302),
                        field: ffield.clone(),
                    });
                }
            }
            "UrlRewrite" => unsupported(ctx, "URLRewrite".to_string()),
            "Cors" => unsupported(ctx, "CORS".to_string()),
            other => unsupported(ctx, other.to_string()),
        }
    }
    if !transforms.is_empty() {
        settings.transforms = Some(Box::new(transforms));
    }
    redirect
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
    let refs: Vec<RefView<'_>> = rule
        .backend_refs
        .iter()
        .flatten()
        .map(|b| ref_view!(b))
        .collect();
    servers_of(ctx, origin, "HTTPRoute", &refs, rfield)
}

/// The rule's matches as (match, conditional, field), as the target can
/// say them.
fn match_keys(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    rule: &HttpRouteRules,
    rfield: &FieldPath,
) -> Vec<(RouteMatch, bool, FieldPath)> {
    let matches = rule.matches.as_deref().unwrap_or_default();
    if matches.is_empty() {
        return vec![(RouteMatch::prefix("/"), false, rfield.clone())];
    }
    let v2 = ctx.target().v2();
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
        let path = match kind.unwrap_or(HttpRouteRulesMatchesPathType::PathPrefix) {
            HttpRouteRulesMatchesPathType::RegularExpression if v2 => {
                // Anchored at the start; the group keeps a `|` inside.
                match regex::for_synapse(&format!("^(?:{value})")) {
                    Ok(re) => PathMatch::Regex(re),
                    Err(why) => {
                        ctx.push(diag_at(
                            Code::UnsupportedPathRegex,
                            format!("RegularExpression path {value:?} is not one Synapse's engine compiles ({why}); the match is not rendered"),
                            origin,
                            &pfield,
                        ));
                        continue;
                    }
                }
            }
            HttpRouteRulesMatchesPathType::RegularExpression => {
                ctx.push(diag_at(
                    Code::UnsupportedPathRegex,
                    format!("RegularExpression path {value:?} cannot be matched by {}; the match is not rendered (target v2 can)", ctx.target().describe()),
                    origin,
                    &pfield,
                ));
                continue;
            }
            HttpRouteRulesMatchesPathType::Exact => match prefix_key(&value) {
                Ok(_) if v2 => PathMatch::Exact(value.clone()),
                Ok(k) => {
                    ctx.push(diag_at(
                        Code::ExactPathApproximated,
                        format!("Exact path {k} is rendered as a prefix: it also answers requests below it"),
                        origin,
                        &pfield,
                    ));
                    PathMatch::Prefix(k)
                }
                Err(p) => {
                    report_path(ctx, p, &value, origin, &pfield);
                    continue;
                }
            },
            HttpRouteRulesMatchesPathType::PathPrefix => match prefix_key(&value) {
                Ok(k) => PathMatch::Prefix(k),
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
        let method = m.method.as_ref().map(|x| {
            serde_json::to_value(x)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{x:?}").to_ascii_uppercase())
        });
        let method = match method {
            Some(_) if !v2 => {
                dropped.push("method");
                None
            }
            other => other,
        };
        let m = RouteMatch { path, method };
        let conditional = dropped_conditions(ctx, origin, &mfield, &dropped, &m);
        keys.push((m, conditional, mfield));
    }
    keys
}

/// Merges https redirects and reports rules without backends, once every
/// route has claimed its entries.
pub fn finish(ctx: &mut Ctx<'_>, pending: Pending) {
    for (host, key, prov) in pending.redirects {
        let entry = ctx
            .table
            .host_mut(&host)
            .and_then(|h| match key.plain_key() {
                Some(k) => h.paths.get_mut(k),
                None => h.extra.as_mut().and_then(|x| x.routes.get_mut(&key)),
            });
        match entry {
            Some(entry) => Arc::make_mut(&mut entry.settings).https_proxy_enabled = Some(true),
            None => ctx.push(diag_at(
                Code::HttpsRedirectUnmerged,
                format!("the https redirect of {host}{key} has no route with backends to merge into; it is not rendered"),
                &prov.origin,
                &prov.field,
            )),
        }
    }
    let status = ctx.target().no_route_status();
    for (host, key, prov) in pending.fallthrough {
        // What a rule without backends should answer: a 500 (HTTPRoute),
        // UNIMPLEMENTED (GRPCRoute).
        let owed = if prov.origin.kind == crate::model::Kind::GrpcRoute {
            "the gRPC status UNIMPLEMENTED"
        } else {
            "a 500"
        };
        let probe = Probe::for_match(&key);
        let dest =
            lookup_request(&ctx.table, &host, &probe).map(|m| (m.key, m.entry.provenance.clone()));
        let d = match &dest {
            Some((k, to)) => diag_at(
                Code::BackendFallThrough,
                format!(
                    "the rule has no backend left, so requests for {host}{key} fall through to {k} ({}) instead of {owed}",
                    to.origin.describe()
                ),
                &prov.origin,
                &prov.field,
            )
            .related("the entry that answers them", &to.origin, &to.field),
            None => diag_at(
                Code::BackendFallThrough,
                format!("the rule has no backend left, so requests for {host}{key} get {status} instead of {owed}"),
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
    let refs = route
        .value
        .spec
        .iter()
        .flat_map(|s| s.rules.iter().flatten())
        .flat_map(|r| r.backend_refs.iter().flatten())
        .map(|b| ref_view!(b));
    resolved_refs_of(ctx, &route.origin, "HTTPRoute", refs)
}
