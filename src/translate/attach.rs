//! Gateway API attachment: which of the listeners in scope (`scope.rs`) a
//! route's parentRefs reach, and the hostnames it is rendered under — as
//! the Gateway API spec defines them (sectionName, port, protocol,
//! allowedRoutes, hostname intersection, ReferenceGrants). Shared by every kind
//! of route (`httproute.rs`, `grpcroute.rs`, `tlsroute.rs`); it renders
//! nothing itself. For a GRPCRoute also what the GRPCRoute spec adds: a
//! plain HTTP listener is refused (Synapse's plain listener speaks no
//! h2c), and a hostname an HTTPRoute holds on the listener is not shared
//! (cross serving; `HttpHosts`).

use std::collections::HashMap;
use std::sync::Arc;

use super::Ctx;
use super::listener::{GROUP, Listener, X_GROUP};
use super::owned::Owned;
use super::scope::{Scope, admission, admits};
use crate::diag::Code;
use crate::ir::{Condition, RouteStatus};
use crate::model::{Anchored, FieldPath, HttpRoute, Kind, Obj, Origin, ParentRef, diag_at};

/// A host a route is rendered under.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteHost {
    Host(String),
    /// Neither listener nor route names a host.
    CatchAll,
}

/// Which kind of route attaches: it decides the listeners that take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// HTTPRoute: HTTP and HTTPS listeners.
    Http,
    /// TLSRoute: TLS listeners in Passthrough mode.
    Tls,
    /// GRPCRoute: HTTPS listeners (HTTP ones are looked at, and refused:
    /// h2c).
    Grpc,
}

impl RouteKind {
    pub fn name(self) -> &'static str {
        match self {
            RouteKind::Http => "HTTPRoute",
            RouteKind::Tls => "TLSRoute",
            RouteKind::Grpc => "GRPCRoute",
        }
    }

    fn takes(self, l: &Listener) -> bool {
        match self {
            RouteKind::Http | RouteKind::Grpc => l.protocol == "HTTP" || l.protocol == "HTTPS",
            RouteKind::Tls => l.protocol == "TLS" && l.passthrough,
        }
    }
}

/// The parentRefs of a generated route type (each kind has its own) in
/// one shape.
macro_rules! parents_of {
    ($refs:expr) => {
        $refs
            .iter()
            .flatten()
            .map(|p| ParentRef {
                group: p.group.clone(),
                kind: p.kind.clone(),
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                section_name: p.section_name.clone(),
                port: p.port,
            })
            .collect()
    };
}

/// What attachment reads of a route, whatever its kind.
pub struct RouteView<'a> {
    pub origin: &'a Arc<Origin>,
    pub kind: RouteKind,
    pub hostnames: Vec<String>,
    pub parents: Vec<ParentRef>,
}

impl<'a> RouteView<'a> {
    pub fn of_http(route: &'a Obj<HttpRoute>) -> Option<RouteView<'a>> {
        let spec = route.value.spec.as_ref()?;
        Some(RouteView {
            origin: &route.origin,
            kind: RouteKind::Http,
            hostnames: spec.hostnames.clone().unwrap_or_default(),
            parents: parents_of!(spec.parent_refs),
        })
    }

    pub fn of_grpc(route: &'a Obj<crate::model::GrpcRoute>) -> Option<RouteView<'a>> {
        let spec = route.value.spec.as_ref()?;
        Some(RouteView {
            origin: &route.origin,
            kind: RouteKind::Grpc,
            hostnames: spec.hostnames.clone().unwrap_or_default(),
            parents: parents_of!(spec.parent_refs),
        })
    }

    pub fn of_tls(route: &'a Obj<crate::model::TlsRoute>) -> Option<RouteView<'a>> {
        let spec = route.value.spec.as_ref()?;
        Some(RouteView {
            origin: &route.origin,
            kind: RouteKind::Tls,
            hostnames: spec.hostnames.clone(),
            parents: spec.parent_refs.clone(),
        })
    }
}

/// A host a route reached, and the listeners it reached it through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reached {
    pub host: RouteHost,
    /// `(https, port)` of each listener: what a redirect that keeps the
    /// request's scheme or port writes (v2).
    pub via: Vec<(bool, i32)>,
}

/// The hostnames a route gets on a listener (Gateway API hostname
/// intersection). Empty: no intersection.
pub fn intersect(listener: Option<&str>, route: &[String]) -> Vec<RouteHost> {
    let target = |h: &str| RouteHost::Host(h.to_string());
    match (listener, route.is_empty()) {
        (None, true) => vec![RouteHost::CatchAll],
        (None, false) => route.iter().map(|h| target(h)).collect(),
        (Some(l), true) => vec![target(l)],
        (Some(l), false) => route
            .iter()
            .filter_map(|h| intersect_one(l, h).map(|h| target(&h)))
            .collect(),
    }
}

fn wildcard_matches(pattern_suffix: &str, host: &str) -> bool {
    host.strip_suffix(pattern_suffix)
        .and_then(|p| p.strip_suffix('.'))
        .is_some_and(|label| !label.is_empty())
}

fn intersect_one(l: &str, h: &str) -> Option<String> {
    if l == h {
        return Some(h.to_string());
    }
    match (l.strip_prefix("*."), h.strip_prefix("*.")) {
        (Some(ls), None) => wildcard_matches(ls, h).then(|| h.to_string()),
        (None, Some(hs)) => wildcard_matches(hs, l).then(|| l.to_string()),
        (Some(ls), Some(hs)) => {
            if wildcard_matches(ls, hs) {
                Some(h.to_string())
            } else if wildcard_matches(hs, ls) {
                Some(l.to_string())
            } else {
                None
            }
        }
        (None, None) => None,
    }
}

fn allows_kind(l: &Listener, kind: RouteKind) -> bool {
    match &l.kinds {
        None => true,
        Some(kinds) => kinds.iter().any(|(g, k)| g == GROUP && k == kind.name()),
    }
}

fn condition(
    kind: &'static str,
    status: bool,
    reason: &'static str,
    message: impl Into<String>,
) -> Condition {
    Condition {
        kind,
        status,
        reason,
        message: message.into(),
    }
}

/// Attaches a route to its parents. Returns the hosts it renders under
/// (empty vec: attached nowhere renderable), or None when no parentRef
/// names a parent of ours at all.
pub(super) fn attach(
    ctx: &mut Ctx<'_>,
    route: &RouteView<'_>,
    scope: &Scope,
    listener_hosts: &mut Vec<(usize, String)>,
) -> Option<Vec<Reached>> {
    let (ours, admitted) = (&scope.ours, &scope.admitted);
    let origin = route.origin;
    let hostnames = &route.hostnames;
    let mut targets = ReachedSet::default();
    let mut any_ours = false;
    for (pi, pr) in route.parents.iter().enumerate() {
        let field = FieldPath::of(&["spec", "parentRefs"]).idx(pi);
        let group = pr.group.as_deref().unwrap_or(GROUP);
        let kind = pr.kind.as_deref().unwrap_or("Gateway");
        let ns = pr
            .namespace
            .clone()
            .unwrap_or_else(|| origin.namespace.clone());
        let key = (ns.clone(), pr.name.clone());
        let mut parent = format!("{kind} {ns}/{}", pr.name);
        if let Some(s) = &pr.section_name {
            parent.push('/');
            parent.push_str(s);
        }
        if let Some(p) = pr.port {
            parent.push_str(&format!(":{p}"));
        }
        let owner_kind = match (group, kind) {
            (GROUP, "Gateway") => {
                if scope.unrendered.contains(&key) {
                    // A Gateway of ours the target leaves out (Pingress):
                    // its SR1608 says so; the route is its, unrendered.
                    any_ours = true;
                    ctx.route_status.push(RouteStatus {
                        route: origin.clone(),
                        parent,
                        conditions: vec![condition(
                            "Accepted",
                            false,
                            Code::GatewayApiNotInTarget.title(),
                            "the target reads no Gateway API",
                        )],
                    });
                    continue;
                }
                if !ours.contains(&key) {
                    if !ctx.snap.gateways.contains_key(&key) {
                        let missing = (Kind::Gateway, key.0.as_str(), key.1.as_str());
                        report_missing_parent(ctx, route, &field, &parent, missing);
                    }
                    continue;
                }
                Kind::Gateway
            }
            (GROUP, "ListenerSet") | (X_GROUP, "XListenerSet") => {
                let Some(ls) = ctx.snap.listener_sets.get(&key) else {
                    let missing = (Kind::ListenerSet, key.0.as_str(), key.1.as_str());
                    report_missing_parent(ctx, route, &field, &parent, missing);
                    continue;
                };
                let parent_gw = ls.value.spec.as_ref().map(|s| {
                    (
                        s.parent_ref
                            .namespace
                            .clone()
                            .unwrap_or_else(|| ls.origin.namespace.clone()),
                        s.parent_ref.name.clone(),
                    )
                });
                if !parent_gw.is_some_and(|g| ours.contains(&g)) {
                    continue;
                }
                if !admitted.contains(&key) {
                    any_ours = true;
                    report_parent(
                        ctx,
                        route,
                        &field,
                        &parent,
                        Code::NotAllowedByListeners,
                        "is not admitted by its Gateway",
                    );
                    continue;
                }
                Kind::ListenerSet
            }
            _ => continue,
        };
        any_ours = true;
        let no_listeners = Owned::default();
        let owned = scope
            .by_owner
            .get(&(owner_kind, key))
            .unwrap_or(&no_listeners);
        let on_port = |i: &usize| {
            scope
                .listeners
                .get(*i)
                .is_some_and(|l| pr.port.is_none_or(|p| l.port == p))
        };
        // The listeners the parentRef names, each with the route hostnames
        // it may intersect (None: all of them). Without a sectionName,
        // only the listeners the route's hostnames can reach are looked at.
        let (named, exists): (Vec<Named>, bool) = match &pr.section_name {
            Some(s) => {
                let named: Vec<_> = owned
                    .named(s)
                    .iter()
                    .filter(|i| on_port(i))
                    .map(|&i| (i, None))
                    .collect();
                let exists = !named.is_empty();
                (named, exists)
            }
            None => (
                owned
                    .reached(hostnames, &scope.listeners)
                    .into_iter()
                    .filter(|(i, _)| on_port(i))
                    .map(|(i, hs)| (i, Some(hs)))
                    .collect(),
                owned.has_port(pr.port),
            ),
        };
        if !exists {
            report_parent(
                ctx,
                route,
                &field,
                &parent,
                Code::NoMatchingParent,
                "has no listener of that sectionName/port",
            );
            continue;
        }
        let mut allowed: Vec<(usize, &Listener, Option<Vec<usize>>)> = Vec::new();
        for (i, hs) in named {
            let Some(l) = scope.listeners.get(i) else {
                continue;
            };
            if route.kind.takes(l)
                && allows_kind(l, route.kind)
                && admits(
                    ctx,
                    &l.from,
                    &l.owner.namespace,
                    &origin.namespace,
                    &l.owner,
                    &l.field.key("allowedRoutes"),
                )
            {
                allowed.push((i, l, hs));
            }
        }
        // Whether any listener of the parentRef's accepts the route's kind
        // and namespace at all: only the listeners looked at above when it
        // names a section, else one of each policy.
        let accepts_any = !allowed.is_empty()
            || (pr.section_name.is_none()
                && owned.policies().iter().filter(|i| on_port(i)).any(|&i| {
                    scope.listeners.get(i).is_some_and(|l| {
                        route.kind.takes(l)
                            && allows_kind(l, route.kind)
                            && admission(ctx, &l.from, &l.owner.namespace, &origin.namespace)
                                == Some(true)
                    })
                }));
        if !accepts_any {
            report_parent(
                ctx,
                route,
                &field,
                &parent,
                Code::NotAllowedByListeners,
                "has no listener that accepts this route (protocol, allowedRoutes kinds or namespaces)",
            );
            continue;
        }
        if route.kind == RouteKind::Grpc {
            // HTTP/2 without TLS (h2c) is what a GRPCRoute needs on a plain
            // listener; Synapse's plain listener speaks HTTP/1.1 alone.
            let (plain, tls): (Vec<_>, Vec<_>) = allowed
                .into_iter()
                .partition(|(_, l, _)| l.protocol == "HTTP");
            allowed = tls;
            let names: Vec<&str> = plain.iter().map(|(_, l, _)| l.name.as_str()).collect();
            if allowed.is_empty() && !plain.is_empty() {
                report_parent(
                    ctx,
                    route,
                    &field,
                    &parent,
                    Code::UnsupportedProtocol,
                    &format!(
                        "has only plain HTTP listeners ({}): a GRPCRoute there needs HTTP/2 without TLS (h2c), which Synapse's plain listener does not speak",
                        names.join(", ")
                    ),
                );
                continue;
            }
            if !plain.is_empty() {
                ctx.push(diag_at(
                    Code::UnsupportedProtocol,
                    format!(
                        "parentRef {parent}: the plain HTTP listeners {} would need HTTP/2 without TLS (h2c), which Synapse's plain listener does not speak; the route is attached to its HTTPS listeners alone",
                        names.join(", ")
                    ),
                    origin,
                    &field,
                ));
            }
            let met = allowed.iter().find_map(|(i, l, hs)| {
                let hosts: Vec<String> = match hs {
                    None => hostnames.clone(),
                    Some(hs) => hs
                        .iter()
                        .filter_map(|&h| hostnames.get(h).cloned())
                        .collect(),
                };
                intersect(l.hostname.as_deref(), &hosts)
                    .into_iter()
                    .find_map(|t| {
                        let name = match &t {
                            RouteHost::Host(h) => Some(h.as_str()),
                            RouteHost::CatchAll => None,
                        };
                        let held = scope.http_hosts.meets(*i, name);
                        held.map(|h| (l.name.clone(), t, h))
                    })
            });
            if let Some((listener, t, h)) = met {
                let name = match t {
                    RouteHost::Host(n) => n,
                    RouteHost::CatchAll => "every name".to_string(),
                };
                report_parent(
                    ctx,
                    route,
                    &field,
                    &parent,
                    Code::RouteKindConflict,
                    &format!(
                        "serves {name} on listener {listener}, where an HTTPRoute holds {h}: a hostname is served by HTTPRoutes or by GRPCRoutes on a listener, never both, and synroute takes HTTPRoutes as attached first"
                    ),
                );
                continue;
            }
        }
        let mut found = ReachedSet::default();
        let mut isolated: Vec<(RouteHost, &Listener, String)> = Vec::new();
        for (i, l, hs) in allowed {
            let via = (l.protocol == "HTTPS", l.port);
            let some: Vec<String>;
            let route_hosts = match hs {
                None => hostnames.as_slice(),
                Some(hs) => {
                    some = hs
                        .iter()
                        .filter_map(|&h| hostnames.get(h).cloned())
                        .collect();
                    some.as_slice()
                }
            };
            for t in intersect(l.hostname.as_deref(), route_hosts) {
                match &t {
                    RouteHost::Host(h) => {
                        if let Some(by) = more_specific(scope, l, h) {
                            isolated.push((t.clone(), l, by));
                            continue;
                        }
                        listener_hosts.push((i, h.clone()));
                    }
                    // Reached with no hostname: every name of the listener
                    // (an empty host marks it).
                    RouteHost::CatchAll => listener_hosts.push((i, String::new())),
                }
                found.add(t, via);
            }
        }
        let isolated_any = isolated.len();
        for (t, l, by) in isolated {
            if let RouteHost::Host(h) = t {
                ctx.push(diag_at(
                    Code::ListenerIsolated,
                    format!(
                        "host {h} reached through listener {} is taken by the more specific listener hostname {by} of the same Gateway and port; this route is not rendered there",
                        l.name
                    ),
                    origin,
                    &field,
                ));
            }
        }

        // A route whose hosts are all taken by more specific listeners is
        // still accepted: it is only never reached there.
        if found.list.is_empty() && isolated_any == 0 {
            report_parent(
                ctx,
                route,
                &field,
                &parent,
                Code::NoMatchingListenerHostname,
                "has no listener whose hostname intersects the route's hostnames",
            );
            continue;
        }
        ctx.route_status.push(RouteStatus {
            route: origin.clone(),
            parent,
            conditions: vec![condition("Accepted", true, "Accepted", "")],
        });
        for r in found.list {
            for via in r.via {
                targets.add(r.host.clone(), via);
            }
        }
    }
    if !any_ours {
        ctx.push(diag_at(
            Code::RouteNotAttached,
            format!(
                "no parentRef names a Gateway or ListenerSet of ours; the {} is not rendered",
                route.kind.name()
            ),
            origin,
            &FieldPath::of(&["spec", "parentRefs"]),
        ));
        return None;
    }
    Some(targets.list)
}

/// The hostname of a listener of `l`'s group (same Gateway, same port)
/// more specific than `l`'s own that covers all of `host`: requests for
/// `host` are matched against that listener's routes, never `l`'s
/// (listener isolation). Found by looking up the names that could cover
/// `host`, most specific first: the host itself, then `*.` and each of its
/// suffixes.
fn more_specific(scope: &Scope, l: &Listener, host: &str) -> Option<String> {
    let names = scope.hostnames.get(l.group)?;
    let own = l.hostname.as_deref();
    // The common case, one hostname (or none) on the port: nothing else
    // can take the host, and nothing is built to find that out.
    if names.len() <= usize::from(own.is_some_and(|o| names.contains(o))) {
        return None;
    }
    let mut candidates = vec![host.to_string()];
    // `a.b.c` (or `*.b.c`) → `*.b.c`, `*.c`.
    let mut rest = host.strip_prefix("*.").unwrap_or(host);
    if host.starts_with("*.") {
        rest = rest.split_once('.').map_or("", |(_, r)| r);
        if !rest.is_empty() {
            candidates.push(format!("*.{rest}"));
        }
    }
    while let Some((_, suffix)) = rest.split_once('.') {
        candidates.push(format!("*.{suffix}"));
        rest = suffix;
    }
    for c in candidates {
        if Some(c.as_str()) == own {
            return None;
        }
        if names.contains(&c) {
            return Some(c);
        }
    }
    None
}

/// A listener a parentRef names, by index, with the indexes of the route
/// hostnames it may intersect (None: all of them).
type Named = (usize, Option<Vec<usize>>);

/// The hosts a route reached, in the order first reached, each with the
/// listeners it was reached through (looked up by host: a route with
/// thousands of hostnames adds each once).
#[derive(Default)]
struct ReachedSet {
    list: Vec<Reached>,
    at: HashMap<RouteHost, usize>,
}

impl ReachedSet {
    /// Adds `host`, reached through a listener `via`.
    fn add(&mut self, host: RouteHost, via: (bool, i32)) {
        match self.at.get(&host).and_then(|&i| self.list.get_mut(i)) {
            Some(r) => {
                if !r.via.contains(&via) {
                    r.via.push(via);
                }
            }
            None => {
                self.at.insert(host.clone(), self.list.len());
                self.list.push(Reached {
                    host,
                    via: vec![via],
                });
            }
        }
    }
}

/// ` (hosts a, b)` of an HTTPRoute, for messages (see `explain`).
fn route_hosts_note(route: &RouteView<'_>) -> String {
    let hosts = &route.hostnames;
    if hosts.is_empty() {
        String::new()
    } else {
        format!(" (hosts {})", hosts.join(", "))
    }
}

/// A parentRef naming an object that is not in the input.
fn report_missing_parent(
    ctx: &mut Ctx<'_>,
    route: &RouteView<'_>,
    field: &FieldPath,
    parent: &str,
    missing: (Kind, &str, &str),
) {
    let why = "is not in the input";
    let d = parent_diag(route, field, parent, Code::NoMatchingParent, why);
    // Told where an object of that name is instead, if anywhere.
    ctx.push(super::elsewhere(d, ctx.snap, missing));
    record_parent(ctx, route, parent, Code::NoMatchingParent, why);
}

fn report_parent(
    ctx: &mut Ctx<'_>,
    route: &RouteView<'_>,
    field: &FieldPath,
    parent: &str,
    code: Code,
    why: &str,
) {
    ctx.push(parent_diag(route, field, parent, code, why));
    record_parent(ctx, route, parent, code, why);
}

fn parent_diag(
    route: &RouteView<'_>,
    field: &FieldPath,
    parent: &str,
    code: Code,
    why: &str,
) -> Anchored {
    diag_at(
        code,
        format!(
            "parentRef {parent} {why}; the route{} is not attached there",
            route_hosts_note(route)
        ),
        route.origin,
        field,
    )
}

/// The route's Accepted=False condition for `parent`.
fn record_parent(ctx: &mut Ctx<'_>, route: &RouteView<'_>, parent: &str, code: Code, why: &str) {
    // The three Accepted=False reasons are the titles of their codes.
    ctx.route_status.push(RouteStatus {
        route: route.origin.clone(),
        parent: parent.to_string(),
        conditions: vec![condition("Accepted", false, code.title(), why)],
    });
}

/// Checks a ReferenceGrant in `to_ns` allowing `from` to reach `to`.
pub fn grant_allows(ctx: &Ctx<'_>, from: (&str, &str, &str), to: (&str, &str, &str, &str)) -> bool {
    let (from_group, from_kind, from_ns) = from;
    let (to_group, to_kind, to_ns, to_name) = to;
    // The grants of `to_ns` only, found by the map's order (namespace,
    // then name): a scan of every grant per backendRef made a grant per
    // tenant quadratic.
    let start = (to_ns.to_string(), String::new());
    ctx.snap
        .reference_grants
        .range(start..)
        .take_while(|((ns, _), _)| ns == to_ns)
        .any(|(_, g)| {
            g.value.spec.as_ref().is_some_and(|s| {
                s.from
                    .iter()
                    .any(|f| f.group == from_group && f.kind == from_kind && f.namespace == from_ns)
                    && s.to.iter().any(|t| {
                        t.group == to_group
                            && t.kind == to_kind
                            && t.name.as_deref().is_none_or(|n| n == to_name)
                    })
            })
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::listener::Selector;
    use super::*;
    use crate::smallmap::SmallMap;

    fn hosts(v: Vec<RouteHost>) -> Vec<String> {
        v.into_iter()
            .map(|t| match t {
                RouteHost::Host(h) => h,
                RouteHost::CatchAll => "<all>".into(),
            })
            .collect()
    }

    #[test]
    fn hostname_intersection() {
        let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(hosts(intersect(None, &[])), vec!["<all>"]);
        assert_eq!(hosts(intersect(Some("a.com"), &[])), vec!["a.com"]);
        assert_eq!(
            hosts(intersect(
                Some("*.example.com"),
                &r(&["a.example.com", "x.org", "b.c.example.com"])
            )),
            vec!["a.example.com", "b.c.example.com"]
        );
        assert_eq!(
            hosts(intersect(Some("a.example.com"), &r(&["*.example.com"]))),
            vec!["a.example.com"]
        );
        assert_eq!(
            hosts(intersect(Some("*.example.com"), &r(&["*.a.example.com"]))),
            vec!["*.a.example.com"]
        );
        assert!(intersect(Some("a.example.com"), &r(&["b.example.com"])).is_empty());
        assert!(intersect(Some("*.example.com"), &r(&["example.com"])).is_empty());
    }

    #[test]
    fn selectors() {
        let mut labels = BTreeMap::new();
        labels.insert("env".to_string(), "prod".to_string());
        let s = Selector {
            labels: labels.clone(),
            expressions: vec![("team".into(), "DoesNotExist".into(), vec![])],
        };
        let object_labels: SmallMap<String, String> = labels.clone().into_iter().collect();
        assert!(s.matches(&object_labels));
        let s = Selector {
            labels: BTreeMap::new(),
            expressions: vec![("env".into(), "In".into(), vec!["dev".into()])],
        };
        assert!(!s.matches(&object_labels));
    }
}
