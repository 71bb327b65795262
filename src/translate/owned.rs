//! The listeners of one Gateway or ListenerSet, indexed for attachment.
//!
//! A route's parentRef without a sectionName reaches every listener of its
//! parent, and Gateway API attachment keeps those whose hostname
//! intersects one of the route's. Checking every listener for every route
//! made one Gateway with n listeners and n routes cost n²; here each
//! route looks up only the listeners its hostnames can intersect (the
//! exact name, the wildcards over it, and for a wildcard route host the
//! names under it), so the work follows what attaches.
//!
//! An index only: which listeners are admitted and whether a route may
//! attach are decided in `scope.rs` and `attach.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::listener::Listener;

/// The listeners one Gateway or ListenerSet declares.
#[derive(Debug, Default)]
pub struct Owned {
    /// Each listener's index in the scope's list, ascending.
    pub all: Vec<usize>,
    /// Listeners by `name` (sectionName).
    by_name: HashMap<String, Vec<usize>>,
    ports: HashSet<i32>,
    /// Listeners without a hostname: they take every route host.
    any: Vec<usize>,
    /// Listeners by exact hostname.
    exact: HashMap<String, Vec<usize>>,
    /// Listeners with hostname `*.s`, by `s`.
    wild: HashMap<String, Vec<usize>>,
    /// Built on the first wildcard route host: exact hostnames and
    /// wildcards' `s`, by each of their proper suffixes.
    under: OnceLock<Under>,
    /// One listener for each distinct (port, protocol, TLS mode, kinds,
    /// namespaces): what decides whether any listener accepts a route's
    /// kind and namespace, whatever its hostnames.
    policies: Vec<usize>,
}

#[derive(Debug, Default)]
struct Under {
    exact: HashMap<String, Vec<usize>>,
    wild: HashMap<String, Vec<usize>>,
}

/// The suffixes of `h` after each of its dots: `a.b.c` → `b.c`, `c`.
fn suffixes(h: &str) -> impl Iterator<Item = &str> {
    h.match_indices('.').filter_map(|(i, _)| h.get(i + 1..))
}

impl Owned {
    /// Indexes the listeners at `indexes` (ascending) of `listeners`.
    pub fn new(indexes: Vec<usize>, listeners: &[Listener]) -> Owned {
        let mut o = Owned::default();
        let mut policies = HashSet::new();
        for &i in &indexes {
            let Some(l) = listeners.get(i) else { continue };
            o.by_name.entry(l.name.clone()).or_default().push(i);
            o.ports.insert(l.port);
            match l.hostname.as_deref() {
                None => o.any.push(i),
                Some(h) => match h.strip_prefix("*.") {
                    Some(s) => o.wild.entry(s.to_string()).or_default().push(i),
                    None => o.exact.entry(h.to_string()).or_default().push(i),
                },
            }
            let policy = (l.port, &l.protocol, l.passthrough, &l.kinds, &l.from);
            if policies.insert(policy) {
                o.policies.push(i);
            }
        }
        o.all = indexes;
        o
    }

    /// Whether any listener has `port` (any port when None).
    pub fn has_port(&self, port: Option<i32>) -> bool {
        match port {
            Some(p) => self.ports.contains(&p),
            None => !self.all.is_empty(),
        }
    }

    /// The listeners named `name`, ascending.
    pub fn named(&self, name: &str) -> &[usize] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// One listener of each distinct acceptance policy.
    pub fn policies(&self) -> &[usize] {
        &self.policies
    }

    /// The listeners whose hostname may intersect one of `hosts`, each
    /// with the indexes in `hosts` of the route hostnames it may
    /// intersect, ascending (a superset: `attach::intersect` decides).
    /// Every listener, with no hostnames, when `hosts` is empty.
    pub fn reached(&self, hosts: &[String], listeners: &[Listener]) -> Vec<(usize, Vec<usize>)> {
        if hosts.is_empty() {
            return self.all.iter().map(|&i| (i, Vec::new())).collect();
        }
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for &l in &self.any {
            hits.extend((0..hosts.len()).map(|h| (l, h)));
        }
        for (hi, h) in hosts.iter().enumerate() {
            let mut add = |ls: &[usize]| hits.extend(ls.iter().map(|&l| (l, hi)));
            match h.strip_prefix("*.") {
                None => {
                    add(get(&self.exact, h));
                    for s in suffixes(h) {
                        add(get(&self.wild, s));
                    }
                }
                Some(hs) => {
                    let under = self.under.get_or_init(|| self.under(listeners));
                    add(get(&self.wild, hs));
                    for s in suffixes(hs) {
                        add(get(&self.wild, s));
                    }
                    add(get(&under.exact, hs));
                    add(get(&under.wild, hs));
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
        for (l, h) in hits {
            match out.last_mut() {
                Some((last, hs)) if *last == l => hs.push(h),
                _ => out.push((l, vec![h])),
            }
        }
        out
    }

    fn under(&self, listeners: &[Listener]) -> Under {
        let mut under = Under::default();
        for &i in &self.all {
            let Some(h) = listeners.get(i).and_then(|l| l.hostname.as_deref()) else {
                continue;
            };
            let (map, name) = match h.strip_prefix("*.") {
                Some(s) => (&mut under.wild, s),
                None => (&mut under.exact, h),
            };
            for s in suffixes(name) {
                map.entry(s.to_string()).or_default().push(i);
            }
        }
        under
    }
}

/// The listeners at `k` in `m`.
fn get<'m>(m: &'m HashMap<String, Vec<usize>>, k: &str) -> &'m [usize] {
    m.get(k).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::super::listener::From;
    use super::*;
    use crate::model::FieldPath;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn listener(hostname: Option<&str>) -> Listener {
        Listener {
            owner: Arc::new(crate::model::Origin::stand_in(
                crate::model::Kind::Gateway,
                "ns",
                "gw",
            )),
            gateway: (String::new(), String::new()),
            name: String::new(),
            port: 80,
            protocol: "HTTP".into(),
            hostname: hostname.map(str::to_string),
            from: From::All,
            kinds: None,
            certs: Vec::new(),
            passthrough: false,
            field: FieldPath::root(),
            group: 0,
        }
    }

    fn host() -> impl Strategy<Value = String> {
        // Few labels from a small alphabet, so names often nest.
        "(\\*\\.)?([ab]{1,2}\\.){0,3}[ab]{1,2}\\.?"
    }

    proptest! {
        /// Every listener a route host intersects is among those the index
        /// gives for that host (and so none is missed for any route).
        #[test]
        fn the_index_finds_every_intersecting_listener(
            listener_hosts in proptest::collection::vec(proptest::option::of(host()), 0..10),
            route_hosts in proptest::collection::vec(host(), 0..5),
        ) {
            let listeners: Vec<Listener> =
                listener_hosts.iter().map(|h| listener(h.as_deref())).collect();
            let owned = Owned::new((0..listeners.len()).collect(), &listeners);
            let reached = owned.reached(&route_hosts, &listeners);
            for (i, l) in listeners.iter().enumerate() {
                for (hi, h) in route_hosts.iter().enumerate() {
                    let meets = !super::super::attach::intersect(
                        l.hostname.as_deref(),
                        std::slice::from_ref(h),
                    )
                    .is_empty();
                    let found = reached
                        .iter()
                        .any(|(j, hs)| *j == i && hs.contains(&hi));
                    prop_assert!(!meets || found, "listener {:?} route host {:?}", l.hostname, h);
                }
            }
            if route_hosts.is_empty() {
                prop_assert_eq!(reached.len(), listeners.len());
            }
            let order: Vec<usize> = reached.iter().map(|(i, _)| *i).collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(order, sorted);
        }
    }
}
