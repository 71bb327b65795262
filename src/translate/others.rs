//! Everything else that reaches a Synapse Gateway, said: objects of kinds
//! synroute does not render (`model::Attaching`) whose parentRefs name a
//! Gateway or ListenerSet of ours — TCPRoute, UDPRoute, a vendor's route —
//! and policies whose targetRefs name one of our Gateways, a route
//! attached to one, or a Service a rendered route uses. Synapse proxies
//! HTTP and TLS, and synroute applies no policy: each is reported at the
//! reference, with its object, once the routes are rendered.
//!
//! It reads the snapshot, the scope, the routes' status and the table;
//! it claims nothing.

use std::collections::{BTreeSet, HashSet};

use super::Ctx;
use super::listener::{GROUP, X_GROUP};
use super::scope::Scope;
use crate::diag::{Code, Diagnostic, Location, ObjectRef};
use crate::model::{Attaching, Key};

/// Reports every attaching object aimed at what this render serves.
pub fn report(ctx: &mut Ctx<'_>, scope: &Scope) {
    let snap = ctx.snap;
    if snap.attaching.is_empty() {
        return;
    }
    let served = Served::of(ctx, scope);
    let target = ctx.target();
    for a in &snap.attaching {
        for (p, line, column) in &a.parents {
            let group = p.group.as_deref().unwrap_or(GROUP);
            let kind = p.kind.as_deref().unwrap_or("Gateway");
            let ns = p.namespace.clone().unwrap_or_else(|| a.namespace.clone());
            let key = (ns, p.name.clone());
            let parent = match (group, kind) {
                (GROUP, "Gateway") if served.gateways.contains(&key) => "Gateway",
                (GROUP, "ListenerSet") | (X_GROUP, "XListenerSet")
                    if scope.admitted.contains(&key) =>
                {
                    "ListenerSet"
                }
                _ => continue,
            };
            let why = if target.gateway_api() {
                format!(
                    "Synapse proxies HTTP and TLS alone (HTTPRoute, GRPCRoute, TLSRoute): the {} is not rendered",
                    a.kind
                )
            } else {
                format!(
                    "{} reads Ingresses alone: the {} is not rendered",
                    target.describe(),
                    a.kind
                )
            };
            let message = format!("attaches to {parent} {}/{}; {why}", key.0, key.1);
            ctx.push(located(
                a,
                Code::RouteKindUnsupported,
                message,
                *line,
                *column,
            ));
        }
        for (t, line, column) in &a.targets {
            let ns = t.namespace.clone().unwrap_or_else(|| a.namespace.clone());
            let key = (ns, t.name.clone());
            let group = t.group.as_str();
            let what = match (group, t.kind.as_str()) {
                (GROUP, "Gateway") if served.gateways.contains(&key) => "a Gateway of ours",
                (GROUP, k @ ("HTTPRoute" | "GRPCRoute" | "TLSRoute"))
                    if served.routes.contains(&(k.to_string(), key.clone())) =>
                {
                    "a route attached to a Gateway of ours"
                }
                ("" | "core", "Service") if served.services.contains(&key) => {
                    "a Service a rendered route uses"
                }
                _ => continue,
            };
            let message = format!(
                "targets {} {}/{}, {what}; synroute applies no policy, so what the {} asks for (retries, timeouts, authentication, rate limits, …) is not in {}",
                t.kind,
                key.0,
                key.1,
                a.kind,
                target.file_name()
            );
            ctx.push(located(a, Code::PolicyNotApplied, message, *line, *column));
        }
    }
}

/// A diagnostic at a reference of `a`, naming `a`.
fn located(
    a: &Attaching,
    code: Code,
    message: String,
    line: u32,
    column: u32,
) -> crate::model::Anchored {
    let mut d = Diagnostic::new(code, message);
    d.location = Some(Location {
        file: a.file.to_string(),
        line,
        column: Some(column),
    });
    d.object = Some(ObjectRef {
        kind: a.kind.clone(),
        namespace: Some(a.namespace.clone()),
        name: a.name.clone(),
    });
    crate::model::Anchored::plain(d)
}

/// What this render serves, as policies name it.
struct Served {
    /// Our Gateways (and, for a target without the Gateway API, those of
    /// our classes it leaves out).
    gateways: BTreeSet<Key>,
    /// Routes accepted by a parent of ours: (kind, key).
    routes: HashSet<(String, Key)>,
    /// Services whose address a rendered route's servers hold.
    services: HashSet<Key>,
}

impl Served {
    fn of(ctx: &Ctx<'_>, scope: &Scope) -> Served {
        let mut gateways = scope.ours.clone();
        gateways.extend(scope.unrendered.iter().cloned());
        // Accepted by a parent of ours — or, for a target that renders no
        // Gateway API, attached to a Gateway of our class it leaves out.
        let left_out = Code::GatewayApiNotInTarget.title();
        let routes = ctx
            .route_status
            .iter()
            .filter(|st| {
                st.conditions
                    .iter()
                    .any(|c| c.kind == "Accepted" && (c.status || c.reason == left_out))
            })
            .map(|st| {
                (
                    st.route.kind.as_str().to_string(),
                    (st.route.namespace.clone(), st.route.name.clone()),
                )
            })
            .collect();
        // The hosts the table's servers dial, then each Service of the
        // input by the name its backends get (cluster DNS or external).
        let dialled: HashSet<&str> = ctx
            .table
            .hosts
            .values()
            .flat_map(|h| h.paths.values().chain(h.routes().map(|(_, e)| e)))
            .chain(ctx.table.internal_paths.values())
            .flat_map(|e| e.servers.iter())
            .filter_map(|s| s.address.rsplit_once(':').map(|(host, _)| host))
            .collect();
        let domain = &ctx.opts.cluster_domain;
        let services = ctx
            .snap
            .services
            .iter()
            .filter(|((ns, name), svc)| {
                let spec = svc.value.spec.as_ref();
                let external = spec
                    .filter(|s| s.type_.as_deref() == Some("ExternalName"))
                    .and_then(|s| s.external_name.as_deref());
                let name =
                    external.map_or_else(|| format!("{name}.{ns}.svc.{domain}"), str::to_string);
                dialled.contains(name.as_str())
            })
            .map(|(k, _)| k.clone())
            .collect();
        Served {
            gateways,
            routes,
            services,
        }
    }
}
