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
use crate::ir::{CertBundle, HostEntry, PathEntry, PathMatch, RouteTable};
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

/// Whether a rule of `kind` for `rule` matches a request for `path`, as
/// the proxy matches: `Exact` is equality, `Prefix` a plain starts-with
/// on the text (`/api` answers `/apiary`).
pub fn path_matches(kind: PathType, rule: &str, path: &str) -> bool {
    match kind {
        PathType::Exact => path == rule,
        PathType::Prefix => path.starts_with(rule),
    }
}

/// Whether the proxy answers a request for `name` with a rule of the
/// wildcard host `pattern`: the pattern as a regular expression with `*`
/// as `.+`, its dots any character, anchored at neither end (so
/// `*.apps.example.com` answers `xx-apps.example.com` and
/// `a.apps.example.com.evil.net`).
pub fn wildcard_matches(pattern: &str, name: &str) -> bool {
    regex::Regex::new(&pattern.replace('*', ".+")).is_ok_and(|re| re.is_match(name))
}

/// Whether a host key is a wildcard (it holds `*`): the proxy tries those
/// rules as patterns, in file order, after the exact host.
pub fn is_wildcard(host: &str) -> bool {
    host.contains('*')
}

/// The rules of a host the proxy serves, in file order: all of a
/// wildcard host's; of an exact host only the last (it keeps one rule per
/// exact host, the last in the file) — the shortest prefix of the layout,
/// which answers the most of its requests. The others are reported by
/// `build`.
pub fn served<'a>(host: &str, h: &'a HostEntry) -> Vec<Laid<'a>> {
    let mut rules: Vec<Laid<'a>> = layout(h)
        .into_iter()
        .filter(|r| backend(r.entry).is_ok())
        .collect();
    if !is_wildcard(host) && rules.len() > 1 {
        rules.drain(..rules.len() - 1);
    }
    rules
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

/// The certificate the proxy serves for `host`, if any: its Secret's
/// bundle, for an exact host (the proxy picks a certificate by exact SNI
/// alone, so a wildcard host's is never served) whose certificate parses
/// and matches its key (the proxy does not start otherwise). `build`
/// writes `tls` for these hosts alone and reports the others; the certs
/// folder holds their files alone.
pub fn served_bundle<'a>(
    table: &'a RouteTable,
    host: &str,
    h: &HostEntry,
) -> Option<&'a CertBundle> {
    let stem = h.certificate.as_ref()?;
    table
        .certs
        .get(stem)
        .filter(|b| !b.unusable && !is_wildcard(host))
}

/// How many PEM certificates `pem` holds (the proxy loads the first).
fn pem_certificates(pem: &[u8]) -> usize {
    let marker = b"-----BEGIN CERTIFICATE-----";
    pem.windows(marker.len()).filter(|w| *w == marker).count()
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

/// The file of `table`, with what Pingress could not say: rules it cannot
/// name a backend for, the rules of an exact host past the one it keeps,
/// and what its pattern matching and plain prefixes do that the Ingress
/// did not ask for.
pub fn build(table: &RouteTable, keys_dir: &str) -> (File, Vec<Anchored>) {
    let mut file = File::default();
    let mut diags = Vec::new();
    let at = |e: &PathEntry, code: Code, why: String| {
        diag_at(code, why, &e.provenance.origin, &e.provenance.field)
    };
    let target = crate::target::Target::Pingress.describe();
    // A diagnostic about the certificate of Secret `b`, at what asked for it.
    let about = |code: Code, message: String, b: &CertBundle| {
        let r = &b.requested_by;
        diag_at(code, message, &r.origin, &r.field).related(
            "the Secret",
            &b.secret.origin,
            &crate::model::FieldPath::root(),
        )
    };
    for (host, h) in &table.hosts {
        let bundle = h
            .certificate
            .as_ref()
            .and_then(|stem| table.certs.get(stem));
        // The proxy loads every rule's key and certificate at start and
        // does not start when one does not parse: such a host is served
        // without TLS rather than taking every host down.
        if let Some(b) = bundle.filter(|b| b.unusable) {
            diags.push(about(
                Code::PingressTlsLeftOut,
                format!(
                    "{host}: the certificate of Secret {}/{} does not parse or its key is not the certificate's, and Pingress would not start with it; {host} is written without tls (served over plain HTTP alone)",
                    b.secret.origin.namespace, b.secret.origin.name
                ),
                b,
            ));
        } else if let Some(b) = bundle.filter(|_| is_wildcard(host)) {
            diags.push(about(
                Code::PingressWildcardTls,
                format!(
                    "{host}: Pingress serves a certificate only to a TLS handshake whose SNI is a rule's host exactly, so it never serves the certificate of Secret {}/{} for a name of {host}: the handshake fails, and the host is written without tls (served over plain HTTP alone)",
                    b.secret.origin.namespace, b.secret.origin.name
                ),
                b,
            ));
        }
        let served_cert = served_bundle(table, host, h);
        if let Some(b) = served_cert {
            let certs = pem_certificates(&b.cert_pem);
            if certs > 1 {
                diags.push(about(
                    Code::PingressChainCut,
                    format!(
                        "{host}: tls.crt of Secret {}/{} holds {certs} certificates, and Pingress serves the first alone, without the chain after it: a client that does not already hold the intermediates cannot verify {host}",
                        b.secret.origin.namespace, b.secret.origin.name,
                    ),
                    b,
                ));
            }
        }
        let tls = served_cert.map(|_| tls_of(keys_dir, host));
        for (m, e) in h.routes() {
            if !matches!((&m.path, &m.method), (PathMatch::Exact(_), None)) {
                diags.push(at(e, Code::NotInTarget, format!("{host} {m}: {target} matches paths by prefix or exactly, and no method; the route is not rendered")));
            }
        }
        let served = served(host, h);
        for rule in layout(h) {
            let e = rule.entry;
            let Err(why) = backend(e) else {
                continue;
            };
            diags.push(at(
                e,
                Code::NotInTarget,
                format!("{host} {}: {why}; it is not rendered", rule.key()),
            ));
        }
        if let Some(kept) = served.last().filter(|_| !is_wildcard(host)) {
            for rule in layout(h).iter().filter(|r| backend(r.entry).is_ok()) {
                if rule.key() == kept.key() {
                    continue;
                }
                let p = &kept.entry.provenance;
                diags.push(
                    at(
                        rule.entry,
                        Code::PingressRuleLost,
                        format!(
                            "{host} {}: Pingress keeps one rule per host, the last of proxy.json; {host} is served by {} alone ({}), so this rule is not rendered and its requests go there or get 500",
                            rule.key(),
                            kept.key(),
                            p.origin.describe()
                        ),
                    )
                    .related("the rule that is kept", &p.origin, &p.field),
                );
            }
        }
        if is_wildcard(host)
            && let Some(first) = served.first()
        {
            let pattern = host.replace('*', ".+");
            diags.push(at(
                first.entry,
                Code::PingressWildcardLoose,
                format!(
                    "{host}: Pingress matches it as the unanchored pattern {pattern}, its dots any character, tried in file order after the exact hosts: it also answers names never named here (such as {} or {}.evil.net)",
                    host.replacen("*.", "xx-", 1),
                    host.replacen('*', "a", 1)
                ),
            ));
        }
        for rule in &served {
            if rule.kind == PathType::Prefix && rule.path != "/" {
                diags.push(at(
                    rule.entry,
                    Code::PingressPlainPrefix,
                    format!(
                        "{host} Prefix {}: Pingress matches it as plain text, so it also answers {}x, not only {} and what is below it",
                        rule.path, rule.path, rule.path
                    ),
                ));
            }
            if let Ok(backend) = backend(rule.entry) {
                file.rules.push(Rule {
                    host: host.to_string(),
                    path: RulePath {
                        kind: rule.kind,
                        path: rule.path.to_string(),
                    },
                    backend,
                    tls: tls.clone(),
                });
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

    /// As the proxy was seen matching (../shared/pingress/README.md).
    #[test]
    fn prefixes_are_plain_text_and_wildcards_unanchored_patterns() {
        assert!(path_matches(PathType::Prefix, "/api", "/api"));
        assert!(path_matches(PathType::Prefix, "/api", "/api/v1"));
        assert!(path_matches(PathType::Prefix, "/api", "/apiary"));
        assert!(path_matches(PathType::Prefix, "/", "/anything"));
        assert!(path_matches(PathType::Exact, "/api", "/api"));
        assert!(!path_matches(PathType::Exact, "/api", "/api/"));
        for name in [
            "t1.apps.example.com",
            "a.t1.apps.example.com",
            "xx-apps.example.com",
            "t1.apps.example.com.evil.net",
        ] {
            assert!(wildcard_matches("*.apps.example.com", name), "{name}");
        }
        assert!(!wildcard_matches("*.apps.example.com", "apps.example.com"));
        assert!(!wildcard_matches("*.apps.example.com", "example.com"));
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
