//! RouteTable → the Pingress proxy's `proxy.json` (seed 003), and the
//! names of the TLS files its rules point at.
//!
//! One rule per (host, path): the host as the table keys it (`*.suffix`
//! for a wildcard), the path as `Prefix` (the table's key, at `/`
//! boundaries) or `Exact`, one `Service` backend by name, namespace and
//! the port number its backend resolved to, and the key and certificate
//! files of the host when it has a certificate. Within a host, exact
//! paths come first, then prefixes longest first: a proxy that takes the
//! first rule that matches picks what one that takes the longest does.
//! What the table holds and Pingress cannot say (a pool of servers, a
//! server that names no Service, a port out of range) is reported at the
//! object that asked for it. The types below write the file and read it
//! back strictly (`check`, `diff`, the tests). No disk access here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::Code;
use crate::ir::{HostEntry, PathEntry, PathMatch, RouteTable};
use crate::model::{Anchored, diag_at};

/// Where the proxy reads the TLS files from when `--keys-dir` is not
/// given: the seed's.
pub const DEFAULT_KEYS_DIR: &str = "/etc/pingress/keys";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub rules: Vec<Rule>,
}

/// Field order here is the order in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A host name, or `*.suffix`.
    pub host: String,
    pub path: RulePath,
    pub backend: Backend,
    /// Absent for a host served without TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePath {
    #[serde(rename = "type")]
    pub kind: PathType,
    pub path: String,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum PathType {
    Exact,
    Prefix,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    #[serde(rename = "type")]
    pub kind: BackendType,
    pub name: String,
    pub namespace: String,
    pub port: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum BackendType {
    Service,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub key: String,
    pub cert: String,
}

/// One rule of a host as it is written, with the entry it comes from.
#[derive(Clone, Debug)]
pub struct Laid<'a> {
    pub kind: PathType,
    pub path: &'a str,
    pub entry: &'a PathEntry,
}

impl Laid<'_> {
    /// Whether the rule matches a request for `path`: the path itself
    /// (Exact), or the path or anything below it at a `/` (Prefix).
    pub fn matches(&self, path: &str) -> bool {
        path_matches(self.kind, self.path, path)
    }

    /// The rule as `explain` and `diff` name it: `/a`, `/a (exact)`.
    pub fn key(&self) -> String {
        match self.kind {
            PathType::Prefix => self.path.to_string(),
            PathType::Exact => format!("{} (exact)", self.path),
        }
    }
}

/// Whether a rule of `kind` for `rule` matches a request for `path`.
pub fn path_matches(kind: PathType, rule: &str, path: &str) -> bool {
    match kind {
        PathType::Exact => path == rule,
        PathType::Prefix => {
            rule == "/"
                || path.strip_prefix(rule).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with('/') || rule.ends_with('/')
                })
        }
    }
}

/// A host's rules in the order they are written: exact paths by path,
/// then prefixes longest first (by path among equals). Routes by a
/// regular expression or a method never reach a Pingress table (the
/// translator reports them); should one, it is left out here and
/// reported by `build`.
pub fn layout(h: &HostEntry) -> Vec<Laid<'_>> {
    let mut rules: Vec<Laid<'_>> = h
        .paths
        .iter()
        .map(|(path, entry)| Laid {
            kind: PathType::Prefix,
            path,
            entry,
        })
        .chain(
            h.routes()
                .filter_map(|(m, entry)| match (&m.path, &m.method) {
                    (PathMatch::Exact(path), None) => Some(Laid {
                        kind: PathType::Exact,
                        path,
                        entry,
                    }),
                    _ => None,
                }),
        )
        .collect();
    rules.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| match a.kind {
                PathType::Exact => std::cmp::Ordering::Equal,
                PathType::Prefix => b.path.len().cmp(&a.path.len()),
            })
            .then_with(|| a.path.cmp(b.path))
    });
    rules
}

/// The file name (without `.cert` / `.key`) of a host's TLS files: the
/// host with anything but `[a-z0-9._-]` as `_` (`*.example.com` →
/// `_.example.com`), so that the name is also a Secret key.
pub fn key_file_stem(host: &str) -> String {
    crate::translate::tls::sanitize_stem(host)
}

/// The TLS files of `host` in `keys_dir`, as a rule names them.
fn tls_of(keys_dir: &str, host: &str) -> Tls {
    let dir = keys_dir.trim_end_matches('/');
    let stem = key_file_stem(host);
    Tls {
        key: format!("{dir}/{stem}.key"),
        cert: format!("{dir}/{stem}.cert"),
    }
}

/// The file of `table`, with what Pingress could not say.
pub fn build(table: &RouteTable, keys_dir: &str) -> (File, Vec<Anchored>) {
    let mut file = File::default();
    let mut diags = Vec::new();
    let lost = |e: &PathEntry, why: String| {
        diag_at(
            Code::NotInTarget,
            why,
            &e.provenance.origin,
            &e.provenance.field,
        )
    };
    for (host, h) in &table.hosts {
        let tls = h
            .certificate
            .as_ref()
            .filter(|stem| table.certs.contains_key(*stem))
            .map(|_| tls_of(keys_dir, host));
        for (m, e) in h.routes() {
            if !matches!((&m.path, &m.method), (PathMatch::Exact(_), None)) {
                diags.push(lost(e, format!("{host} {m}: {} matches paths by prefix or exactly, and no method; the route is not rendered", crate::target::Target::Pingress.describe())));
            }
        }
        for rule in layout(h) {
            let e = rule.entry;
            match backend(e) {
                Ok(backend) => file.rules.push(Rule {
                    host: host.to_string(),
                    path: RulePath {
                        kind: rule.kind,
                        path: rule.path.to_string(),
                    },
                    backend,
                    tls: tls.clone(),
                }),
                Err(why) => diags.push(lost(
                    e,
                    format!("{host} {}: {why}; it is not rendered", rule.key()),
                )),
            }
        }
    }
    (file, diags)
}

/// The one Service backend of an entry, or why Pingress cannot name it.
pub fn backend(e: &PathEntry) -> Result<Backend, String> {
    match &e.servers[..] {
        [s] => match s.service.as_deref() {
            Some(svc) => match u16::try_from(svc.port) {
                Ok(port) if port > 0 => Ok(Backend {
                    kind: BackendType::Service,
                    name: svc.name.clone(),
                    namespace: svc.namespace.clone(),
                    port,
                }),
                _ => Err(format!(
                    "Service {}/{} port {} is not a port Pingress can name",
                    svc.namespace, svc.name, svc.port
                )),
            },
            None => Err(format!(
                "the server {} names no Service, and a Pingress backend is a Service",
                s.address
            )),
        },
        [] => Err("the route has no backend".to_string()),
        many => Err(format!(
            "the route splits traffic over {} servers, and a Pingress rule has one backend",
            many.len()
        )),
    }
}

/// The bytes of `proxy.json`: pretty JSON with a final newline (JSON has
/// no comments: no header).
pub fn serialized(file: &File) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(file).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_at_slash_boundaries_and_exact_paths_alone() {
        assert!(path_matches(PathType::Prefix, "/api", "/api"));
        assert!(path_matches(PathType::Prefix, "/api", "/api/v1"));
        assert!(!path_matches(PathType::Prefix, "/api", "/apiary"));
        assert!(path_matches(PathType::Prefix, "/", "/anything"));
        assert!(path_matches(PathType::Exact, "/api", "/api"));
        assert!(!path_matches(PathType::Exact, "/api", "/api/"));
    }

    #[test]
    fn key_files_are_secret_keys() {
        assert_eq!(key_file_stem("*.example.com"), "_.example.com");
        assert_eq!(key_file_stem("shop.example.com"), "shop.example.com");
        assert_eq!(
            tls_of("/etc/pingress/keys/", "a.com").cert,
            "/etc/pingress/keys/a.com.cert"
        );
    }
}
