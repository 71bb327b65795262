//! What the rules of every Gateway API route kind share, whatever their
//! generated types: backendRefs read into a pool of servers (Services
//! only, weights, ReferenceGrants, BackendTLSPolicies said), header
//! modifiers into a path's headers as the target can say them, and the
//! ResolvedRefs condition. Used by `httproute.rs` and `grpcroute.rs`; it
//! claims nothing itself.

use std::sync::Arc;

use super::attach::grant_allows;
use super::attach::{Reached, RouteHost};
use super::backends::{BackendRef, PortRef, reference_allowed, service_address};
use super::listener::GROUP;
use super::{Ctx, catch_all_note, routable_host};
use crate::diag::{Code, Severity};
use crate::ir::{Condition, PathSettings, Provenance, RouteMatch, Server, Transforms};
use crate::model::{FieldPath, Origin, diag_at};

/// A RequestHeaderModifier or ResponseHeaderModifier, whatever the
/// route kind's generated type for it.
pub(super) struct HeaderMod {
    pub set: Vec<(String, String)>,
    pub add: Vec<(String, String)>,
    pub remove: Vec<String>,
}

/// Reads a generated header modifier (each route kind and each direction
/// has its own type of one shape) into a `HeaderMod`.
macro_rules! header_mod {
    ($m:expr) => {
        $crate::translate::rules::HeaderMod {
            set: $m
                .set
                .iter()
                .flatten()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
            add: $m
                .add
                .iter()
                .flatten()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
            remove: $m.remove.clone().unwrap_or_default(),
        }
    };
}
pub(super) use header_mod;

/// Applies a header modifier of the request (or the response) to a
/// rule's settings, as the target can say it: set becomes `Name:Value`
/// entries; add appends (v2) or is written like a set (reported); remove
/// removes (v2) or is lost (reported).
pub(super) fn apply_header_mod(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    ffield: &FieldPath,
    m: HeaderMod,
    request: bool,
    settings: &mut PathSettings,
    transforms: &mut Transforms,
) {
    let v2 = ctx.target().v2();
    let (list, add, remove, field, title) = if request {
        (
            &mut settings.request_headers,
            &mut transforms.request_add,
            &mut transforms.request_remove,
            "requestHeaderModifier",
            "RequestHeaderModifier",
        )
    } else {
        (
            &mut settings.response_headers,
            &mut transforms.response_add,
            &mut transforms.response_remove,
            "responseHeaderModifier",
            "ResponseHeaderModifier",
        )
    };
    for (name, value) in &m.set {
        list.push(format!("{name}:{value}"));
    }
    for (hi, (name, value)) in m.add.iter().enumerate() {
        if v2 {
            add.push(format!("{name}:{value}"));
        } else {
            list.push(format!("{name}:{value}"));
            add_approximated(ctx, origin, &ffield.key(field).key("add").idx(hi), name);
        }
    }
    if v2 {
        remove.extend(m.remove);
    } else if !m.remove.is_empty() {
        ctx.push(diag_at(
            Code::UnsupportedFilter,
            format!(
                "{title} remove cannot be said in {}; the rule renders without it (target v2 can)",
                ctx.target().describe()
            ),
            origin,
            ffield,
        ));
    }
}

fn add_approximated(ctx: &mut Ctx<'_>, origin: &Arc<Origin>, field: &FieldPath, name: &str) {
    ctx.push(diag_at(
        Code::HeaderAddApproximated,
        format!("header {name} is added like a set: a value already present is replaced, not appended to"),
        origin,
        field,
    ));
}

/// A backendRef as every route kind has it (each kind's generated type
/// has its own).
pub(super) struct RefView<'a> {
    pub group: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    pub port: Option<i32>,
    pub weight: Option<i32>,
    pub has_filters: bool,
}

/// Reads a generated backendRef into a `RefView`.
macro_rules! ref_view {
    ($b:expr) => {
        $crate::translate::rules::RefView {
            group: $b.group.as_deref(),
            kind: $b.kind.as_deref(),
            name: &$b.name,
            namespace: $b.namespace.as_deref(),
            port: $b.port,
            weight: $b.weight,
            has_filters: $b.filters.as_ref().is_some_and(|f| !f.is_empty()),
        }
    };
}
pub(super) use ref_view;

/// A rule's backendRefs as a pool of servers: Services only, weights
/// when any is given, ReferenceGrant-checked; what cannot be used is
/// reported at its backendRef.
pub(super) fn servers_of(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    route_kind: &str,
    refs: &[RefView<'_>],
    rfield: &FieldPath,
) -> Vec<Server> {
    let weighted = refs.iter().any(|b| b.weight.is_some());
    let mut servers = Vec::new();
    for (bi, b) in refs.iter().enumerate() {
        let bfield = rfield.key("backendRefs").idx(bi);
        let group = b.group.unwrap_or("");
        let kind = b.kind.unwrap_or("Service");
        if b.has_filters {
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
        let ns = b.namespace.unwrap_or(&origin.namespace).to_string();
        if !reference_allowed(ctx, route_kind, origin, (&ns, b.name), &bfield) {
            continue;
        }
        tls_policy(ctx, origin, &ns, b.name, &bfield);
        let port = match b.port {
            Some(p) => PortRef::Number(p),
            None => PortRef::Missing,
        };
        let Some(address) = service_address(
            ctx,
            BackendRef {
                namespace: &ns,
                name: b.name,
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
        servers.push(Server::at(address, weight));
    }
    servers
}

/// Reports a BackendTLSPolicy that targets the Service `ns/name`: synroute
/// does not apply it.
fn tls_policy(ctx: &mut Ctx<'_>, origin: &Arc<Origin>, ns: &str, name: &str, field: &FieldPath) {
    let policies = &ctx.snap.backend_tls_policies;
    let start = (ns.to_string(), String::new());
    let applying = policies
        .range(start..)
        .take_while(|((pns, _), _)| pns == ns)
        .find(|(_, p)| {
            p.value.spec.as_ref().is_some_and(|s| {
                s.target_refs.iter().any(|t| {
                    (t.group.is_empty() || t.group == "core")
                        && t.kind == "Service"
                        && t.name == name
                })
            })
        });
    if let Some((_, p)) = applying {
        ctx.push(
            diag_at(
                Code::BackendTlsPolicyIgnored,
                format!(
                    "Service {ns}/{name} is the target of BackendTLSPolicy {ns}/{}, which synroute does not apply: Synapse reaches it as ssl_enabled says, without the policy's CA and hostname check",
                    p.origin.name
                ),
                origin,
                field,
            )
            .related("the BackendTLSPolicy", &p.origin, &FieldPath::of(&["spec", "targetRefs"])),
        );
    }
}

/// `resolved_refs` for the backendRefs of a route of any kind.
pub(super) fn resolved_refs_of<'a>(
    ctx: &Ctx<'_>,
    origin: &Arc<Origin>,
    route_kind: &str,
    refs: impl Iterator<Item = RefView<'a>>,
) -> Condition {
    for b in refs {
        let group = b.group.unwrap_or("");
        let kind = b.kind.unwrap_or("Service");
        let ns = b.namespace.unwrap_or(&origin.namespace);
        let (reason, message) = if !(group.is_empty() || group == "core") || kind != "Service" {
            ("InvalidKind", format!("backendRef {} is a {kind}", b.name))
        } else if ns != origin.namespace
            && !grant_allows(
                ctx,
                (GROUP, route_kind, &origin.namespace),
                ("", "Service", ns, b.name),
            )
        {
            (
                "RefNotPermitted",
                format!("no ReferenceGrant allows Service {ns}/{}", b.name),
            )
        } else if ctx.service(ns, b.name).is_none() {
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

/// Reports the conditions of a match that the target cannot say (headers,
/// a method, …) when there are any; the match is rendered on `m` alone, a
/// conditional entry an unconditional one displaces. An error under
/// `--strict`. True when any condition was dropped.
pub(super) fn dropped_conditions(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    mfield: &FieldPath,
    dropped: &[&str],
    m: &RouteMatch,
) -> bool {
    if dropped.is_empty() {
        return false;
    }
    let mut d = diag_at(
        Code::UnsupportedMatch,
        format!(
            "the {} condition of this match cannot be expressed; it is rendered on path {m} alone",
            dropped.join(", ")
        ),
        origin,
        mfield,
    );
    if ctx.opts.strict {
        d.diag.severity = Severity::Error;
    }
    ctx.push(d);
    true
}

/// The hosts a route renders under, from what attachment reached, each
/// with the listeners it came through: wildcards and every-name reaches as
/// the target can say them (reported where it cannot; a catch-all name
/// said), each host once.
pub(super) fn route_hosts<'t>(
    ctx: &mut Ctx<'_>,
    origin: &Arc<Origin>,
    targets: &'t [Reached],
) -> Vec<(String, &'t [(bool, i32)])> {
    let hosts_field = FieldPath::of(&["spec", "hostnames"]);
    let mut hosts: Vec<(String, &[(bool, i32)])> = Vec::new();
    for t in targets {
        let h = match &t.host {
            RouteHost::Host(h) => routable_host(ctx, Some(h), origin, &hosts_field),
            RouteHost::CatchAll => {
                let h = routable_host(ctx, None, origin, &hosts_field);
                if h.is_some() {
                    catch_all_note(ctx, origin, &FieldPath::of(&["spec", "parentRefs"]));
                }
                h
            }
        };
        if let Some(h) = h
            && !hosts.iter().any(|(x, _)| x == &h)
        {
            hosts.push((h, &t.via));
        }
    }
    hosts
}

/// Sticky sessions for the render, when the route asked for them by
/// annotation and rendered an entry.
pub(super) fn sticky(ctx: &mut Ctx<'_>, origin: &Arc<Origin>, rendered: bool, asked: bool) {
    if rendered && asked {
        ctx.set_sticky(Provenance {
            origin: origin.clone(),
            field: FieldPath::of(&["metadata", "annotations"])
                .key("synapse.gen0sec.com/sticky-sessions"),
        });
    }
}
