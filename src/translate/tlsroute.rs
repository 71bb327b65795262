//! TLSRoute → passthrough hosts (v2): the TLS connections for a host are
//! handed, undecrypted, to one backend, chosen by SNI.
//!
//! Attachment is the Gateway API's (`attach.rs`): TLS listeners in
//! Passthrough mode, hostname intersection, allowedRoutes. v1 and 0.2
//! cannot pass TLS through: an attached route is reported there, once. A
//! v2 passthrough host has one upstream: the first usable backendRef of
//! the route's rules; the others are reported. Routes are taken in the
//! SPEC's order (creationTimestamp, then namespace/name): the first to
//! claim a host keeps it.

use std::sync::Arc;

use super::attach::{RouteHost, RouteView, attach};
use super::backends::{BackendRef, PortRef, reference_allowed, service_address};
use super::scope::Scope;
use super::{Ctx, routable_host};
use crate::diag::Code;
use crate::ir::{Passthrough, Provenance};
use crate::model::{FieldPath, Obj, TlsRoute, diag_at};

pub fn translate(ctx: &mut Ctx<'_>, scope: &Scope) {
    let snap = ctx.snap;
    let mut routes: Vec<&Obj<TlsRoute>> = snap.tls_routes.values().collect();
    // Those that carry a creationTimestamp first, oldest first; the map's
    // namespace/name order breaks ties (the sort is stable).
    routes.sort_by_key(|r| {
        let created = r.value.metadata.creation_timestamp.as_ref().map(|t| t.0);
        (created.is_none(), created)
    });
    for route in routes {
        translate_one(ctx, scope, route);
    }
}

fn translate_one(ctx: &mut Ctx<'_>, scope: &Scope, route: &Obj<TlsRoute>) {
    let Some(view) = RouteView::of_tls(route) else {
        return;
    };
    let mut listener_hosts = Vec::new();
    let Some(reached) = attach(ctx, &view, scope, &mut listener_hosts) else {
        return;
    };
    let origin = &route.origin;
    if reached.is_empty() {
        return;
    }
    if !ctx.target().v2() {
        ctx.push(diag_at(
            Code::NotInTarget,
            format!(
                "{} cannot pass TLS through to a backend; the TLSRoute is not rendered (target v2 can)",
                ctx.target().describe()
            ),
            origin,
            &FieldPath::of(&["spec", "rules"]),
        ));
        return;
    }
    let Some((upstream, field)) = upstream(ctx, route) else {
        return;
    };
    let hosts_field = FieldPath::of(&["spec", "hostnames"]);
    for r in reached {
        let host = match &r.host {
            RouteHost::Host(h) => routable_host(ctx, Some(h), origin, &hosts_field),
            RouteHost::CatchAll => routable_host(ctx, None, origin, &hosts_field),
        };
        if let Some(host) = host {
            ctx.claim_passthrough(
                &host,
                Passthrough {
                    upstream: upstream.clone(),
                    provenance: Provenance {
                        origin: Arc::clone(origin),
                        field: field.clone(),
                    },
                },
            );
        }
    }
}

/// The route's one upstream: its first usable backendRef; the others are
/// reported (a v2 passthrough host has one server).
fn upstream(ctx: &mut Ctx<'_>, route: &Obj<TlsRoute>) -> Option<(String, FieldPath)> {
    let origin = &route.origin;
    let spec = route.value.spec.as_ref()?;
    let mut chosen: Option<(String, FieldPath)> = None;
    for (ri, rule) in spec.rules.iter().enumerate() {
        for (bi, b) in rule.backend_refs.iter().enumerate() {
            let field = FieldPath::of(&["spec", "rules"])
                .idx(ri)
                .key("backendRefs")
                .idx(bi);
            let group = b.group.as_deref().unwrap_or("");
            let kind = b.kind.as_deref().unwrap_or("Service");
            if !(group.is_empty() || group == "core") || kind != "Service" {
                ctx.push(diag_at(
                    Code::UnsupportedBackend,
                    format!("backendRef of kind {kind:?} (group {group:?}) is not a Service; it is dropped"),
                    origin,
                    &field,
                ));
                continue;
            }
            if b.weight == Some(0) {
                continue;
            }
            let ns = b.namespace.as_deref().unwrap_or(&origin.namespace);
            if !reference_allowed(ctx, "TLSRoute", origin, (ns, &b.name), &field) {
                continue;
            }
            if let Some((kept, _)) = &chosen {
                ctx.push(diag_at(
                    Code::NotInTarget,
                    format!(
                        "a v2 passthrough host has one upstream, {kept}; backendRef {ns}/{} is left out",
                        b.name
                    ),
                    origin,
                    &field,
                ));
                continue;
            }
            let port = match b.port {
                Some(p) => PortRef::Number(p),
                None => PortRef::Missing,
            };
            if let Some(address) = service_address(
                ctx,
                BackendRef {
                    namespace: ns,
                    name: &b.name,
                    port,
                    origin,
                    field: &field,
                    missing: Code::BackendNotFound,
                },
            ) {
                chosen = Some((address, field));
            }
        }
    }
    chosen
}
