//! A routing file read back as its proxy reads it, and a request looked
//! up in it as that proxy looks one up — the file itself, not the route
//! table it was written from. The fixtures' expectations are checked
//! through it (so a server a target cannot carry is seen to be missing),
//! and the empty-render guard counts the hosts a file routes with it.
//!
//! - v1 (Synapse 0.8): internal paths first; then the host (lowercase),
//!   else the host `*`; its path keys cut back at `/`.
//! - 0.2 (seen with 0.2.4): `arxignis_paths` first, for every host; then
//!   the exact host; its path keys cut back at `/`, a path none of whose
//!   servers it can dial skipped for a shorter one; a server repeated is a
//!   share of the round robin; an IPv6 server, one without a port or past
//!   port 65535 is dropped.
//! - v2: the host as `route::v2_search` chooses it, the route as
//!   `route::v2_route` does, over the file's own keys and expressions.
//! - Pingress (its proxy, seen running): the last rule of the exact host
//!   as sent, else the wildcard rules in file order whose pattern (`*` as
//!   `.+`, unanchored) matches; a Prefix as plain starts-with; the backend
//!   dialled as `name.namespace:port`.
//!
//! It reads text only; nothing here touches the disk.

use std::collections::BTreeMap;

use super::{Probe, cut_back_key, internal_key, v2_route, v2_search};
use crate::emit::{pingress, upstreams, v02, v2};
use crate::ir::{Redirect, Server};
use crate::target::Target;

/// What the proxy answers a request with: the key that matched, the
/// servers it round-robins over (weights as shares), or a redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub key: String,
    pub servers: Vec<Server>,
    pub redirect: Option<Redirect>,
}

/// A routing file of one target, as read.
#[derive(Debug)]
pub enum Routing {
    V1(upstreams::ParsedFile),
    V02(v02::File),
    V2(v2::File),
    Pingress(pingress::File),
}

/// A list in which repetition stands for weight (0.2's servers) as a pool:
/// each server once, in order of first appearance, weighted by its count
/// when any is repeated.
pub fn counted(list: &[String]) -> Vec<Server> {
    let mut out: Vec<Server> = Vec::new();
    let mut at: BTreeMap<&str, usize> = BTreeMap::new();
    for a in list {
        match at.get(a.as_str()) {
            Some(&i) => {
                if let Some(s) = out.get_mut(i) {
                    s.weight = Some(s.weight.unwrap_or(1).saturating_add(1));
                }
            }
            None => {
                at.insert(a, out.len());
                out.push(Server::at(a.clone(), None));
            }
        }
    }
    if out.iter().any(|s| s.weight.is_some()) {
        for s in &mut out {
            s.weight.get_or_insert(1);
        }
    }
    out
}

impl Routing {
    /// Reads `text` as `target`'s proxy does. An empty file is a file
    /// that routes nothing (0.2.4 takes it so).
    pub fn read(target: Target, text: &str) -> Result<Routing, String> {
        let placed = |e: crate::guard::Failure| e.placed();
        let blank = text.trim().is_empty();
        // What the proxy refuses routes nothing: it keeps what it had.
        if !blank && let Some(why) = crate::emit::schema::refusal(target, text) {
            return Err(format!("{} refuses the file: {why}", target.describe()));
        }
        Ok(match target {
            Target::V1 if blank => Routing::V1(upstreams::ParsedFile::default()),
            Target::V1 => Routing::V1(upstreams::parse(text)?),
            Target::V02 if blank => Routing::V02(v02::File::default()),
            Target::V02 => Routing::V02(crate::guard::yaml(text).map_err(placed)?),
            Target::V2 => Routing::V2(crate::guard::yaml(text).map_err(placed)?),
            Target::Pingress => Routing::Pingress(crate::guard::json(text).map_err(placed)?),
        })
    }

    /// How many hosts the file routes.
    pub fn hosts(&self) -> usize {
        match self {
            Routing::V1(f) => f.upstreams.len(),
            Routing::V02(f) => f.upstreams.len(),
            Routing::V2(f) => f.hosts.len(),
            Routing::Pingress(f) => {
                let mut names: Vec<&str> = f.rules.iter().map(|r| r.host.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                names.len()
            }
        }
    }

    /// What the proxy answers a request for `host` with `probe`, if
    /// anything.
    pub fn lookup(&self, host: &str, probe: &Probe) -> Option<Answer> {
        match self {
            Routing::V1(f) => lookup_v1(f, host, &probe.path),
            Routing::V02(f) => lookup_v02(f, host, &probe.path),
            Routing::V2(f) => lookup_v2(f, host, probe),
            Routing::Pingress(f) => lookup_pingress(f, host, &probe.path),
        }
    }

    /// Whether the proxy completes a TLS handshake whose SNI is `name`,
    /// where the file decides it: Pingress serves a certificate only to
    /// the exact host of a rule with `tls` (no default, none for a
    /// wildcard). None for Synapse, whose certificates are its folder's.
    pub fn tls(&self, name: &str) -> Option<bool> {
        let Routing::Pingress(f) = self else {
            return None;
        };
        Some(
            f.rules
                .iter()
                .any(|r| r.tls.is_some() && !pingress::is_wildcard(&r.host) && r.host == name),
        )
    }

    /// The server a TLS connection for `name` is passed through to (v2
    /// passthrough hosts), if any.
    pub fn sni(&self, name: &str) -> Option<String> {
        let Routing::V2(f) = self else { return None };
        let (_, h) = v2_search(name, |key| f.hosts.get_key_value(key))?;
        if h.tls.passthrough == Some(true) {
            h.upstream.clone()
        } else {
            None
        }
    }
}

fn v1_answer(key: &str, p: &upstreams::ParsedPath) -> Answer {
    Answer {
        key: key.to_string(),
        servers: p.servers(),
        redirect: p.redirect.as_ref().map(|r| Redirect {
            status: r.status,
            location: r.location.clone(),
        }),
    }
}

fn lookup_v1(f: &upstreams::ParsedFile, host: &str, path: &str) -> Option<Answer> {
    if let Some(key) = internal_key(f.internal_paths.keys().map(String::as_str), path) {
        return f.internal_paths.get(key).map(|p| v1_answer(key, p));
    }
    let host = host.to_ascii_lowercase();
    let h = f.upstreams.get(&host).or_else(|| f.upstreams.get("*"))?;
    let (key, _) = cut_back_key(path, false, |key| h.paths.contains_key(key));
    let key = key?;
    h.paths.get(&key).map(|p| v1_answer(&key, p))
}

/// The pool 0.2 serves for a table entry's `servers`: each repeated by
/// its weight as the 0.2 emitter writes them, those it cannot dial left
/// out (`v02::dialable`), repetitions read back as shares.
pub fn v02_servers(servers: &[Server]) -> Vec<Server> {
    let listed: Vec<String> = if servers.iter().any(|s| s.weight.is_some()) {
        v02::repeat_by_weight(servers)
            .0
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        servers.iter().map(|s| s.address.clone()).collect()
    };
    let usable: Vec<String> = listed.into_iter().filter(|s| v02::dialable(s)).collect();
    counted(&usable)
}

/// The servers of a 0.2 path that Synapse can dial, as a pool.
fn v02_pool(p: &v02::Path) -> Vec<Server> {
    let usable: Vec<String> = p
        .servers
        .iter()
        .filter(|s| v02::dialable(s))
        .cloned()
        .collect();
    counted(&usable)
}

fn lookup_v02(f: &v02::File, host: &str, path: &str) -> Option<Answer> {
    let answer = |key: &str, p: &v02::Path| Answer {
        key: key.to_string(),
        servers: v02_pool(p),
        redirect: None,
    };
    if let Some(key) = internal_key(f.arxignis_paths.keys().map(String::as_str), path) {
        return f.arxignis_paths.get(key).map(|p| answer(key, p));
    }
    // Exact and case-sensitive: the Host header as it comes, less a port.
    let h = f.upstreams.get(host)?;
    let usable = |key: &str| h.paths.get(key).is_some_and(|p| !v02_pool(p).is_empty());
    let (key, _) = cut_back_key(path, false, usable);
    let key = key?;
    h.paths.get(&key).map(|p| answer(&key, p))
}

fn lookup_v2(f: &v2::File, host: &str, probe: &Probe) -> Option<Answer> {
    let h = v2_search(host, |key| {
        f.hosts.get(key).filter(|h| h.tls.passthrough != Some(true))
    })?;
    let routes: Vec<(&str, Option<&str>)> = h
        .paths
        .iter()
        .map(|(k, r)| (k.as_str(), r.match_expr.as_deref()))
        .collect();
    let (i, _) = v2_route(&routes, probe);
    let (key, r) = h.paths.iter().nth(i?)?;
    let servers = match (&r.upstream, &r.upstreams) {
        (Some(u), _) => vec![Server::at(u.clone(), None)],
        (None, Some(list)) => list
            .iter()
            .map(|u| match u {
                v2::Upstream::Plain(a) => Server::at(a.clone(), None),
                v2::Upstream::Weighted { addr, weight } => Server::at(addr.clone(), Some(*weight)),
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    Some(Answer {
        key: key.clone(),
        servers,
        redirect: r.redirect.as_ref().map(|x| Redirect {
            status: x.status,
            location: x.location.clone(),
        }),
    })
}

fn lookup_pingress(f: &pingress::File, host: &str, path: &str) -> Option<Answer> {
    // The proxy keeps the last rule of each exact host, then tries the
    // wildcard rules in file order.
    let exact = f
        .rules
        .iter()
        .rev()
        .find(|r| !pingress::is_wildcard(&r.host) && r.host == host);
    let wild = f
        .rules
        .iter()
        .filter(|r| pingress::is_wildcard(&r.host) && pingress::wildcard_matches(&r.host, host));
    let rule = exact
        .into_iter()
        .chain(wild)
        .find(|r| pingress::path_matches(r.path.kind, &r.path.path, path))?;
    let key = match rule.path.kind {
        pingress::PathType::Prefix => rule.path.path.clone(),
        pingress::PathType::Exact => format!("{} (exact)", rule.path.path),
    };
    let b = &rule.backend;
    Some(Answer {
        key,
        servers: vec![Server::at(
            format!("{}.{}:{}", b.name, b.namespace, b.port),
            None,
        )],
        redirect: None,
    })
}

/// How many hosts a routing file of any target routes, read leniently
/// (unknown keys and all): the keys of `upstreams` (v1, 0.2) or `hosts`
/// (v2), the distinct hosts of `rules` (Pingress). None when the text is
/// not a routing file.
pub fn routed_hosts(text: &str) -> Option<usize> {
    if text.trim().is_empty() {
        return Some(0);
    }
    let doc: serde_yaml::Value = crate::guard::yaml(text).ok()?;
    let map = doc.as_mapping()?;
    let count = |key: &str| map.get(key).and_then(serde_yaml::Value::as_mapping);
    if let Some(hosts) = count("upstreams").or_else(|| count("hosts")) {
        return Some(hosts.len());
    }
    let rules = map.get("rules")?.as_sequence()?;
    let mut names: Vec<&str> = rules
        .iter()
        .filter_map(|r| r.get("host").and_then(serde_yaml::Value::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    Some(names.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(r: &Routing, host: &str, path: &str) -> Option<Vec<String>> {
        r.lookup(host, &Probe::get(path)).map(|a| {
            a.servers
                .iter()
                .map(|s| match s.weight {
                    Some(w) => format!("{}@{w}", s.address),
                    None => s.address.clone(),
                })
                .collect()
        })
    }

    #[test]
    fn v02_skips_a_path_it_cannot_dial_and_counts_repeats() {
        let text = "upstreams:\n  a.com:\n    paths:\n      /: {servers: ['w:80', 'w:80', 'c:80']}\n      /v6: {servers: ['[::1]:80', 'x:70000', 'y']}\n";
        let r = Routing::read(Target::V02, text).unwrap();
        assert_eq!(
            get(&r, "a.com", "/v6/x"),
            Some(vec!["w:80@2".into(), "c:80@1".into()])
        );
        // Exact and case-sensitive.
        assert_eq!(get(&r, "A.com", "/"), None);
        assert_eq!(r.hosts(), 1);
    }

    #[test]
    fn an_empty_file_routes_nothing() {
        for t in [Target::V1, Target::V02] {
            let r = Routing::read(t, "\n").unwrap();
            assert_eq!(r.hosts(), 0);
            assert_eq!(get(&r, "a.com", "/"), None);
        }
        assert_eq!(routed_hosts(""), Some(0));
        assert_eq!(routed_hosts("upstreams:\n  a: {}\n  b: {}\n"), Some(2));
        assert_eq!(routed_hosts("version: 2\nhosts: {a: {}}\n"), Some(1));
        assert_eq!(
            routed_hosts(r#"{"rules": [{"host": "a"}, {"host": "a"}, {"host": "b"}]}"#),
            Some(2)
        );
        assert_eq!(routed_hosts("- a\n"), None);
    }

    #[test]
    fn v1_falls_back_to_the_star_host() {
        let text = "upstreams:\n  '*':\n    paths:\n      /: {servers: ['d:80']}\n  a.com:\n    paths:\n      /x: {servers: ['x:80']}\n";
        let r = Routing::read(Target::V1, text).unwrap();
        assert_eq!(get(&r, "b.com", "/"), Some(vec!["d:80".into()]));
        // A host that is in the file has no fallback to `*` for a path.
        assert_eq!(get(&r, "a.com", "/y"), None);
    }
}
