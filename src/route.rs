//! How Synapse picks an entry for a request, modelled on the route table.
//!
//! Internal paths first (the exact key; then the longest key that is a
//! prefix of the request path on a `/` boundary, a key ending in `/*`
//! matching anything under it); then the exact Host, whose path keys are
//! tried by cutting the request path back at each `/`, then `/`. Used by
//! `explain` and by the tests that check every fixture's routing.

use crate::ir::{PathEntry, RouteTable};

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

/// The entry Synapse would pick for `host` and `path`, if any.
pub fn lookup<'a>(table: &'a RouteTable, host: &str, path: &str) -> Option<Match<'a>> {
    if let Some(m) = lookup_internal(table, path) {
        return Some(m);
    }
    let host = host.to_ascii_lowercase();
    let entry = table.host(&host)?;
    let mut tried = Vec::new();
    for key in cut_backs(path) {
        tried.push(key.clone());
        if let Some(e) = entry.paths.get(&key) {
            return Some(Match {
                table: Table::Host(host),
                key,
                entry: e,
                tried,
            });
        }
    }
    None
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
    if let Some(e) = table.internal_paths.get(path) {
        return Some(Match {
            table: Table::Internal,
            key: path.to_string(),
            entry: e,
            tried: vec![path.to_string()],
        });
    }
    let best = table
        .internal_paths
        .iter()
        .filter(|(k, _)| internal_key_matches(k, path))
        .max_by_key(|(k, _)| k.len())?;
    Some(Match {
        table: Table::Internal,
        key: best.0.clone(),
        entry: best.1,
        tried: vec![best.0.clone()],
    })
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
