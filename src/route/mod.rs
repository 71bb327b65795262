//! How Synapse picks an entry for a request, modelled on the route table,
//! for the format the table was translated for.
//!
//! v1 and 0.2: internal paths first (the exact key; then the longest key
//! that is a prefix of the request path on a `/` boundary, a key ending in
//! `/*` matching anything under it); then the exact Host, whose path keys
//! are tried by cutting the request path back at each `/`, then `/`.
//!
//! v2: the host is the exact name (not a passthrough host), else the
//! wildcard `*.suffix` with the longest suffix covering it — no fallback
//! from there; in the host, a plain key equal to the path, then the
//! expression routes in key order (`expr` evaluates them), then the
//! longest plain key that is a prefix at `/` boundaries. The routes are
//! laid out exactly as the v2 emitter writes them (`emit::v2::layout`).
//!
//! Pingress, as its proxy was seen to route: the exact host as sent, whose
//! one rule (the last of the file, `emit::pingress::served`) answers when
//! its path matches; else every wildcard rule, in file order, whose host
//! pattern (`*` as `.+`, unanchored) matches the name and whose path
//! matches (a Prefix as plain starts-with). No method matters. Over
//! HTTPS, the handshake succeeds only for an exact host with its own
//! certificate (`pingress_tls`).
//! Used by `explain` and by the tests that check every fixture's routing.
//!
//! It reads the table only; it never changes it nor reports diagnostics.

pub mod expr;
pub mod file;

use crate::ir::{HostEntry, PathEntry, RouteTable};
use crate::target::Target;

/// Which part of the file answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Table {
    Internal,
    Host(String),
}

/// The entry Synapse would use, and how it got there.
#[derive(Clone, Debug)]
pub struct Match<'a> {
    pub table: Table,
    pub key: String,
    pub entry: &'a PathEntry,
    /// The keys tried, in order, up to and including the one that matched.
    pub tried: Vec<String>,
    /// The expression that held, for a v2 expression route.
    pub expr: Option<String>,
}

/// A request as a route lookup needs it: its path and method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub path: String,
    pub method: String,
}

impl Probe {
    pub fn get(path: &str) -> Probe {
        Probe {
            path: path.to_string(),
            method: "GET".to_string(),
        }
    }

    /// A request that `m` matches, to see where it would go instead: its
    /// path (a regex's own text, which is only a guess) and method.
    pub fn for_match(m: &crate::ir::RouteMatch) -> Probe {
        Probe {
            path: m.path.value().to_string(),
            method: m.method.clone().unwrap_or_else(|| "GET".to_string()),
        }
    }
}

/// A request as Synapse sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub https: bool,
    /// Lowercase, without port.
    pub host: String,
    /// Without query or fragment; always starts with `/`.
    pub path: String,
}

impl Request {
    /// Parses `https://host[:port]/path?query`, `http://…`, or `host/path`.
    pub fn parse(url: &str) -> Option<Request> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if url.contains("://") {
            return None;
        } else {
            (true, url)
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let host = match authority.rfind(':') {
            Some(i)
                if !authority.ends_with(']')
                    && authority[i + 1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                &authority[..i]
            }
            _ => authority,
        };
        if host.is_empty() {
            return None;
        }
        let tail = &rest[end..];
        let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
        let mut path = tail[..path_end].to_string();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        Some(Request {
            https,
            host: host.to_ascii_lowercase(),
            path,
        })
    }
}

/// The entry Synapse would pick for a GET of `host` and `path`, if any.
pub fn lookup<'a>(table: &'a RouteTable, host: &str, path: &str) -> Option<Match<'a>> {
    lookup_request(table, host, &Probe::get(path))
}

/// The entry Synapse would pick for `probe` on `host`, if any.
pub fn lookup_request<'a>(table: &'a RouteTable, host: &str, probe: &Probe) -> Option<Match<'a>> {
    match table.target {
        Target::V2 => lookup_v2(table, host, probe),
        Target::Pingress => lookup_pingress(table, host, &probe.path),
        Target::V1 | Target::V02 => lookup_v1(table, host, &probe.path),
    }
}

/// The host Pingress tries first for `name` and the rules it serves:
/// the exact host as sent, else the first wildcard host, in file order,
/// whose pattern matches it.
pub fn pingress_host<'a>(table: &'a RouteTable, name: &str) -> Option<(&'a str, &'a HostEntry)> {
    let exact = host_named(table, name).filter(|(k, _)| !crate::emit::pingress::is_wildcard(k));
    exact.or_else(|| {
        table
            .hosts
            .iter()
            .find(|(k, _)| {
                crate::emit::pingress::is_wildcard(k)
                    && crate::emit::pingress::wildcard_matches(k, name)
            })
            .map(|(k, h)| (k.as_str(), h))
    })
}

/// Whether Pingress completes a TLS handshake whose SNI is `name`: only
/// where `name` is an exact host whose certificate it serves
/// (`emit::pingress::served_bundle`); it has no default certificate.
pub fn pingress_tls(table: &RouteTable, name: &str) -> bool {
    host_named(table, name)
        .is_some_and(|(k, h)| crate::emit::pingress::served_bundle(table, k, h).is_some())
}

/// v2's choice of host for `name`: `found` asked for the exact name
/// (lowercase, no trailing dot), then for each wildcard `*.suffix` covering
/// it, longest suffix first; the first it finds.
pub fn v2_search<T>(name: &str, mut found: impl FnMut(&str) -> Option<T>) -> Option<T> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(t) = found(&name) {
        return Some(t);
    }
    let mut rest = name.as_str();
    while let Some((_, suffix)) = rest.split_once('.') {
        if let Some(t) = found(&format!("*.{suffix}")) {
            return Some(t);
        }
        rest = suffix;
    }
    None
}

/// The table's host keyed `key`, with its key.
fn host_named<'a>(table: &'a RouteTable, key: &str) -> Option<(&'a str, &'a HostEntry)> {
    table
        .hosts
        .get_key_value(&crate::ir::HostKey::new(key))
        .map(|(k, h)| (k.as_str(), h))
}

fn lookup_pingress<'a>(table: &'a RouteTable, host: &str, path: &str) -> Option<Match<'a>> {
    use crate::emit::pingress::{is_wildcard, served, wildcard_matches};
    // The exact host's one rule, then every wildcard rule whose pattern
    // matches, in file order.
    let exact = host_named(table, host).filter(|(k, _)| !is_wildcard(k));
    let wild = table
        .hosts
        .iter()
        .filter(|(k, _)| is_wildcard(k) && wildcard_matches(k, host))
        .map(|(k, h)| (k.as_str(), h));
    let mut tried = Vec::new();
    for (name, h) in exact.into_iter().chain(wild) {
        for rule in served(name, h) {
            tried.push(format!("{name} {}", rule.key()));
            if rule.matches(path) {
                return Some(Match {
                    table: Table::Host(name.to_string()),
                    key: rule.key(),
                    entry: rule.entry,
                    tried,
                    expr: None,
                });
            }
        }
    }
    None
}

/// The host v2 serves `name` with: the exact name (case and a trailing dot
/// aside; a passthrough host serves no HTTP), else the wildcard with the
/// longest suffix covering it.
pub fn v2_host<'a>(table: &'a RouteTable, name: &str) -> Option<(&'a str, &'a HostEntry)> {
    v2_search(name, |key| {
        host_named(table, key).filter(|(_, h)| h.passthrough().is_none())
    })
}

/// The passthrough host v2 hands a TLS connection for `sni` to, if any.
/// The host is chosen as for a request (the exact name, else the wildcard
/// with the longest suffix covering it); a connection to a host that is
/// not passed through is terminated by Synapse: None.
pub fn sni<'a>(table: &'a RouteTable, sni: &str) -> Option<(&'a str, &'a crate::ir::Passthrough)> {
    if !table.target.v2() {
        return None;
    }
    let (key, h) = v2_search(sni, |key| host_named(table, key))?;
    h.passthrough().map(|p| (key, p))
}

fn lookup_v2<'a>(table: &'a RouteTable, host: &str, probe: &Probe) -> Option<Match<'a>> {
    let (name, h) = v2_host(table, host)?;
    let laid = crate::emit::v2::layout(h);
    let routes: Vec<(&str, Option<&str>)> = laid
        .iter()
        .map(|l| (l.key.as_str(), l.expr.as_deref()))
        .collect();
    let (i, tried) = v2_route(&routes, probe);
    let l = laid.get(i?)?;
    Some(Match {
        table: Table::Host(name.to_string()),
        key: l.key.clone(),
        entry: l.entry,
        tried,
        expr: l.expr.clone(),
    })
}

/// v2's choice of route among a host's `(key, match_expr)`: a plain key
/// equal to the path; else the expression routes in byte order of their
/// keys, the first that holds; else the longest plain key that is a prefix
/// at `/` boundaries. The index of the route, and the keys tried.
pub fn v2_route(routes: &[(&str, Option<&str>)], probe: &Probe) -> (Option<usize>, Vec<String>) {
    let plain = |key: &str| routes.iter().position(|(k, e)| e.is_none() && *k == key);
    let mut tried = vec![probe.path.clone()];
    if let Some(i) = plain(&probe.path) {
        return (Some(i), tried);
    }
    let mut exprs: Vec<(usize, &str, &str)> = routes
        .iter()
        .enumerate()
        .filter_map(|(i, (k, e))| e.map(|e| (i, *k, e)))
        .collect();
    exprs.sort_by(|a, b| a.1.cmp(b.1));
    let request = expr::Request {
        path: &probe.path,
        method: &probe.method,
    };
    for (i, key, e) in exprs {
        tried.push(key.to_string());
        if expr::parse(e).ok().is_some_and(|e| e.eval(&request)) {
            return (Some(i), tried);
        }
    }
    let (found, more) = cut_back_key(&probe.path, true, |key| plain(key).is_some());
    tried.extend(more);
    (found.and_then(|key| plain(&key)), tried)
}

/// The first of `cut_backs(path)` (less the path itself when
/// `skip_exact`) that `has` accepts, and the keys tried up to it.
pub fn cut_back_key(
    path: &str,
    skip_exact: bool,
    has: impl Fn(&str) -> bool,
) -> (Option<String>, Vec<String>) {
    let mut tried = Vec::new();
    for key in cut_backs(path).into_iter().skip(usize::from(skip_exact)) {
        tried.push(key.clone());
        if has(&key) {
            return (Some(key), tried);
        }
    }
    (None, tried)
}

/// v1 and 0.2: internal paths, then the host's keys cut back at `/`.
fn lookup_v1<'a>(table: &'a RouteTable, host: &str, path: &str) -> Option<Match<'a>> {
    if let Some(m) = lookup_internal(table, path) {
        return Some(m);
    }
    let host = host.to_ascii_lowercase();
    let entry = table.host(&host)?;
    // 0.2 skips a path none of whose servers it can dial for a shorter one.
    let serves =
        |e: &PathEntry| table.target != Target::V02 || !file::v02_servers(&e.servers).is_empty();
    let (key, tried) = cut_back_key(path, false, |key| entry.paths.get(key).is_some_and(serves));
    let key = key?;
    Some(Match {
        table: Table::Host(host),
        entry: entry.paths.get(&key)?,
        key,
        tried,
        expr: None,
    })
}

/// `/a/b/c` → `/a/b/c`, `/a/b`, `/a`, `/`.
pub fn cut_backs(path: &str) -> Vec<String> {
    let mut out = vec![path.to_string()];
    let mut cur = path;
    while let Some(i) = cur.rfind('/') {
        cur = &cur[..i];
        if cur.is_empty() {
            break;
        }
        out.push(cur.to_string());
    }
    if path != "/" {
        out.push("/".to_string());
    }
    out.dedup();
    out
}

fn lookup_internal<'a>(table: &'a RouteTable, path: &str) -> Option<Match<'a>> {
    let key = internal_key(table.internal_paths.keys().map(String::as_str), path)?;
    Some(Match {
        table: Table::Internal,
        key: key.to_string(),
        entry: table.internal_paths.get(key)?,
        tried: vec![key.to_string()],
        expr: None,
    })
}

/// The internal (v1) or arxignis (0.2) path key among `keys` that answers
/// `path`: the path itself, else the longest key covering it.
pub fn internal_key<'k>(keys: impl Iterator<Item = &'k str>, path: &str) -> Option<&'k str> {
    let mut best: Option<&str> = None;
    for k in keys {
        if k == path {
            return Some(k);
        }
        if internal_key_matches(k, path) && best.is_none_or(|b| k.len() >= b.len()) {
            best = Some(k);
        }
    }
    best
}

fn internal_key_matches(key: &str, path: &str) -> bool {
    if let Some(base) = key.strip_suffix("/*") {
        return path.len() > base.len() + 1
            && path.starts_with(base)
            && path.as_bytes().get(base.len()) == Some(&b'/');
    }
    path.strip_prefix(key)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || key.ends_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_back_order() {
        assert_eq!(cut_backs("/a/b/c"), vec!["/a/b/c", "/a/b", "/a", "/"]);
        assert_eq!(cut_backs("/"), vec!["/"]);
        assert_eq!(cut_backs("/a/"), vec!["/a/", "/a", "/"]);
    }

    #[test]
    fn parses_urls() {
        let r = Request::parse("https://App.Example.com:8443/api/x?q=1").unwrap();
        assert_eq!(
            (r.https, r.host.as_str(), r.path.as_str()),
            (true, "app.example.com", "/api/x")
        );
        let r = Request::parse("http://a.com").unwrap();
        assert_eq!((r.https, r.path.as_str()), (false, "/"));
        assert!(Request::parse("ftp://a.com/").is_none());
        assert!(Request::parse("https:///x").is_none());
    }

    #[test]
    fn internal_keys() {
        assert!(internal_key_matches(
            "/.well-known/acme-challenge/*",
            "/.well-known/acme-challenge/tok"
        ));
        assert!(!internal_key_matches(
            "/.well-known/acme-challenge/*",
            "/.well-known/acme-challenge/"
        ));
        assert!(internal_key_matches("/a/b", "/a/b/c"));
        assert!(!internal_key_matches("/a/b", "/a/bc"));
    }
}
