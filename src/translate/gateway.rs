//! The Gateway API stage: each HTTPRoute attached (`attach.rs`) and
//! rendered (`httproute.rs`) on its own, as soon as it is read; then the
//! routes applied in the SPEC's order, GRPCRoutes (`grpcroute.rs`),
//! TLSRoutes (`tlsroute.rs`), and the listeners' TLS certificateRefs
//! projected onto the hosts they serve.
//!
//! It owns the order of the stage only: attachment rules are `attach.rs`'s,
//! rule translation `httproute.rs`'s.

use std::collections::{BTreeMap, BTreeSet};

use super::attach::{RouteView, attach, grant_allows};
use super::listener::{GROUP, Listener, X_GROUP};
use super::scope::Scope;
use super::{Ctx, HostName, Op, classify_host, httproute, tls};
use crate::Options;
use crate::diag::Code;
use crate::ir::RouteStatus;
use crate::model::{Anchored, HttpRoute, Kind, Lookup, Obj, Snapshot, diag_at};

/// Listener (namespace, name, listener) → the hosts routes reached it with.
type ListenerHosts = BTreeMap<(String, String, String), BTreeSet<String>>;

/// What the translation of one HTTPRoute on its own yields, to be applied
/// in the SPEC's order by `translate`.
pub struct RouteAlone {
    diags: Vec<Anchored>,
    ops: Vec<Op>,
    status: Vec<RouteStatus>,
    /// (index in the scope's listeners, host): the hosts it reached them with.
    listener_hosts: Vec<(usize, String)>,
    pending: httproute::Pending,
}

/// Attaches and renders one HTTPRoute on its own, as soon as it is read
/// and on any core (see `load::load_pending`): table operations recorded.
pub fn translate_alone<'a>(
    snap: &'a Snapshot,
    lookup: &'a Lookup<'a>,
    scope: &Scope,
    opts: &'a Options,
    route: &Obj<HttpRoute>,
) -> RouteAlone {
    let mut ctx = Ctx::recording(snap, opts, lookup);
    let mut listener_hosts = Vec::new();
    let mut pending = httproute::Pending::default();
    let targets = RouteView::of_http(route)
        .and_then(|view| attach(&mut ctx, &view, scope, &mut listener_hosts));
    if targets.is_some() {
        // Every status so far is this route's.
        let resolved = httproute::resolved_refs(&ctx, route);
        for st in &mut ctx.route_status {
            st.conditions.push(resolved.clone());
        }
    }
    // A route accepted by no parent renders nothing and is not checked
    // further: its conditions already say why.
    if let Some(targets) = targets.filter(|t| !t.is_empty()) {
        httproute::render(&mut ctx, route, &targets, &mut pending);
    }
    let mut status = std::mem::take(&mut ctx.route_status);
    status.shrink_to_fit();
    listener_hosts.shrink_to_fit();
    let (diags, ops) = ctx.into_recorded();
    RouteAlone {
        diags,
        ops,
        status,
        listener_hosts,
        pending,
    }
}

/// Applies the routes' own translations in the SPEC's order (the first
/// writer wins), then merges https redirects and projects listener
/// certificates.
pub fn translate(ctx: &mut Ctx<'_>, mut scope: Scope, routes: Vec<RouteAlone>) {
    ctx.diags.extend(std::mem::take(&mut scope.diags));
    let mut pending = httproute::Pending::default();
    // Each listener's hosts gathered in a list, then sorted into its set
    // at once: inserted one by one, every route's host entered a set of
    // tens of thousands at a random place (50k apps: 15 ms of cache
    // misses), and its key's three names were copied each time.
    let mut by_listener: Vec<Vec<String>> = vec![Vec::new(); scope.listeners.len()];
    for alone in routes {
        ctx.diags.extend(alone.diags);
        ctx.route_status.extend(alone.status);
        for (i, host) in alone.listener_hosts {
            if let Some(hosts) = by_listener.get_mut(i) {
                hosts.push(host);
            }
        }
        pending.extend(alone.pending);
        ctx.replay(alone.ops);
    }
    // GRPCRoutes after every HTTPRoute: a hostname an HTTPRoute holds on a
    // listener is not theirs there (cross serving).
    scope.http_hosts = super::crossserve::HttpHosts::new(
        by_listener
            .iter()
            .enumerate()
            .flat_map(|(i, hosts)| hosts.iter().map(move |h| (i, h.clone()))),
    );
    super::grpcroute::translate(ctx, &scope, &mut pending, &mut by_listener);
    let mut listener_hosts = ListenerHosts::new();
    for (l, hosts) in scope.listeners.iter().zip(by_listener) {
        if hosts.is_empty() {
            continue;
        }
        let key = (
            l.owner.namespace.clone(),
            l.owner.name.clone(),
            l.name.clone(),
        );
        match listener_hosts.entry(key) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(hosts.into_iter().collect());
            }
            std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().extend(hosts),
        }
    }
    httproute::finish(ctx, pending);
    super::tlsroute::translate(ctx, &scope);
    super::others::report(ctx, &scope);
    project_listener_certs(ctx, &scope.listeners, &listener_hosts);
}

/// HTTPS listeners' `tls.certificateRefs` (mode Terminate) → cert bundles.
fn project_listener_certs(
    ctx: &mut Ctx<'_>,
    listeners: &[Listener],
    listener_hosts: &ListenerHosts,
) {
    for l in listeners.iter().filter(|l| l.protocol == "HTTPS") {
        for (ci, r) in l.certs.iter().enumerate() {
            let field = l.field.key("tls").key("certificateRefs").idx(ci);
            let kind = r.kind.as_deref().unwrap_or("Secret");
            let group = r.group.as_deref().unwrap_or("");
            if kind != "Secret" || !group.is_empty() {
                ctx.push(diag_at(
                    Code::TlsSecretInvalid,
                    format!("certificateRef of kind {kind:?} (group {group:?}) is not a Secret; no certificate is written"),
                    &l.owner,
                    &field,
                ));
                continue;
            }
            let secret_ns = r
                .namespace
                .clone()
                .unwrap_or_else(|| l.owner.namespace.clone());
            if secret_ns != l.owner.namespace && !cert_ref_granted(ctx, l, &secret_ns, &r.name) {
                ctx.push(diag_at(
                    Code::RefNotPermitted,
                    format!(
                        "certificateRef to Secret {secret_ns}/{} crosses namespaces and no ReferenceGrant in {secret_ns:?} allows it; no certificate is written",
                        r.name
                    ),
                    &l.owner,
                    &field,
                ));
                continue;
            }
            let hosts: Vec<String> = l.hostname.iter().cloned().collect();
            tls::project_entry(ctx, &secret_ns, &r.name, &hosts, &l.owner, &field);
            let concrete = matches!(
                l.hostname.as_deref().map(classify_host),
                Some(HostName::Concrete(_))
            );
            if concrete {
                continue;
            }
            // A listener without a concrete hostname serves its routes'
            // hosts with this certificate.
            let stem = tls::stem_for(None, &secret_ns, &r.name);
            let attached = listener_hosts.get(&(
                l.owner.namespace.clone(),
                l.owner.name.clone(),
                l.name.clone(),
            ));
            if let (Some(bundle), Some(attached)) = (ctx.table.certs.get_mut(&stem), attached) {
                // A set of the hosts already there: every route's host can
                // reach one such listener, and a scan of the list for each
                // made this quadratic.
                let known: BTreeSet<&str> = bundle.hosts.iter().map(String::as_str).collect();
                let added: Vec<String> = attached
                    .iter()
                    .filter(|h| {
                        !h.is_empty() && !h.starts_with("*.") && !known.contains(h.as_str())
                    })
                    .cloned()
                    .collect();
                bundle.hosts.extend(added);
            }
        }
    }
}

/// A ReferenceGrant lets the listener's owner reach a Secret elsewhere.
/// Grants do not flow between a Gateway and its ListenerSets.
fn cert_ref_granted(ctx: &Ctx<'_>, l: &Listener, secret_ns: &str, name: &str) -> bool {
    let to = ("", "Secret", secret_ns, name);
    match l.owner.kind {
        Kind::Gateway => grant_allows(ctx, (GROUP, "Gateway", &l.owner.namespace), to),
        _ => {
            grant_allows(ctx, (GROUP, "ListenerSet", &l.owner.namespace), to)
                || grant_allows(ctx, (X_GROUP, "XListenerSet", &l.owner.namespace), to)
        }
    }
}
