//! GRPCRoute cross serving: the hostnames HTTPRoutes reached on each
//! listener, so that a GRPCRoute does not take one of them (the Gateway
//! API serves a hostname on a listener with routes of one kind). Looked up
//! by name and by suffix: a check costs the same whatever the number of
//! hosts. It reads and renders nothing else.

use std::collections::BTreeSet;

/// The hostnames HTTPRoutes reached on each listener (by its index in the
/// scope), for a GRPCRoute's cross-serving check: a hostname is served by
/// routes of one kind on a listener. Looked up by name and by suffix, so
/// that a check costs the same whatever the number of hosts.
#[derive(Default)]
pub struct HttpHosts {
    /// Listeners an HTTPRoute reached with no hostname at all.
    catch_all: BTreeSet<usize>,
    /// (listener, host) as reached.
    hosts: BTreeSet<(usize, String)>,
    /// (listener, host reversed): a wildcard's suffix query is a range.
    reversed: BTreeSet<(usize, String)>,
}

impl HttpHosts {
    /// From the (listener, host) pairs HTTPRoutes reached; an empty host
    /// is a route reached with no hostname (`attach`'s marker).
    pub fn new(reached: impl IntoIterator<Item = (usize, String)>) -> HttpHosts {
        let mut out = HttpHosts::default();
        for (i, h) in reached {
            if h.is_empty() {
                out.catch_all.insert(i);
            } else {
                out.reversed.insert((i, h.chars().rev().collect()));
                out.hosts.insert((i, h));
            }
        }
        out
    }

    /// An HTTPRoute's hostname on listener `i` that meets `host` (None:
    /// every name), if any.
    pub(super) fn meets(&self, i: usize, host: Option<&str>) -> Option<String> {
        if self.catch_all.contains(&i) {
            return Some("every name (an HTTPRoute without hostnames)".to_string());
        }
        let has = |h: &str| self.hosts.contains(&(i, h.to_string()));
        let (name, wild) = match host {
            None => {
                // Every name: any HTTPRoute on the listener.
                let first = self.hosts.range((i, String::new())..).next();
                return first.filter(|(j, _)| *j == i).map(|(_, h)| h.clone());
            }
            Some(h) => match h.strip_prefix("*.") {
                Some(suffix) => (suffix, true),
                None => (h, false),
            },
        };
        if !wild && has(name) {
            return Some(name.to_string());
        }
        // A wildcard covering the name (or, for a wildcard, covering or
        // equal to it): `*.` and each suffix.
        let mut rest = name;
        if wild && has(&format!("*.{rest}")) {
            return Some(format!("*.{rest}"));
        }
        while let Some((_, suffix)) = rest.split_once('.') {
            if has(&format!("*.{suffix}")) {
                return Some(format!("*.{suffix}"));
            }
            rest = suffix;
        }
        if wild {
            // Names under the wildcard: those ending in `.suffix`.
            let key: String = format!(".{name}").chars().rev().collect();
            let found = self
                .reversed
                .range((i, key.clone())..)
                .next()
                .filter(|(j, r)| *j == i && r.starts_with(&key));
            return found.map(|(_, r)| r.chars().rev().collect());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_meets_names_wildcards_and_catch_alls_of_its_listener() {
        let held = HttpHosts::new([
            (0, "app.example.com".to_string()),
            (0, "*.shop.example.com".to_string()),
            (1, String::new()),
            (2, "a.b.example.org".to_string()),
        ]);
        let meets = |i, h: Option<&str>| held.meets(i, h);
        assert_eq!(
            meets(0, Some("app.example.com")).as_deref(),
            Some("app.example.com")
        );
        assert_eq!(
            meets(0, Some("x.shop.example.com")).as_deref(),
            Some("*.shop.example.com")
        );
        assert_eq!(
            meets(0, Some("*.x.shop.example.com")).as_deref(),
            Some("*.shop.example.com")
        );
        assert!(meets(0, Some("*.example.com")).is_some());
        assert_eq!(meets(0, Some("api.example.com")), None);
        assert_eq!(meets(0, Some("app.example.com.evil")), None);
        // Another listener's hosts are not this one's.
        assert_eq!(meets(3, Some("app.example.com")), None);
        // An HTTPRoute with no hostname holds every name of its listener.
        assert!(meets(1, Some("anything.example.net")).is_some());
        // A GRPCRoute with no hostname meets any HTTPRoute there.
        assert!(meets(2, None).is_some());
        assert_eq!(
            meets(2, Some("*.example.org")).as_deref(),
            Some("a.b.example.org")
        );
        assert_eq!(
            meets(2, Some("*.b.example.org")).as_deref(),
            Some("a.b.example.org")
        );
        assert_eq!(meets(2, Some("*.c.example.org")), None);
    }
}
