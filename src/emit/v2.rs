//! RouteTable → the v2 routing file (Synapse newer than 0.8.7).
//!
//! The file's types below are the schema: they write the file, and read a
//! file back strictly (`deny_unknown_fields`, as Synapse does: any unknown
//! key refuses the whole file), so what synroute writes and what `check
//! --target v2` accepts are one definition. `layout` decides, per host,
//! which routes are plain path keys and which are expression routes, in
//! Gateway API precedence; `route` evaluates the same layout for
//! `explain`. Nothing here touches the disk.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::Code;
use crate::ir::{HostEntry, PathEntry, PathMatch, RouteMatch, RouteTable};
use crate::model::{Anchored, diag_at};
use crate::translate::acme::{CHALLENGE_PREFIX, DIRECTORY_KEY};
use crate::translate::regex::{prefix_expr, regex_literal, string_literal};

/// The read timeout v1 has when a route sets none (v2's own is 60): said
/// once for the file so that a v1 user's backends keep their time.
pub const V1_READ_TIMEOUT: u64 = 120;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[schemars(range(min = 2, max = 2))]
    pub version: u8,
    #[serde(default, skip_serializing_if = "Timeouts::is_empty")]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub proxy: Proxy,
    #[serde(default)]
    pub hosts: BTreeMap<String, Host>,
}

/// Seconds; each unsaid one is Synapse's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<u64>,
}

impl Timeouts {
    pub fn is_empty(&self) -> bool {
        *self == Timeouts::default()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Proxy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprints: Option<Fingerprints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky_sessions: Option<Enabled>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fingerprints {
    /// Unsaid: true (client fingerprints are sent to backends).
    pub forward: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Enabled {
    pub enabled: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Required on every host.
    pub tls: Tls,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paths: BTreeMap<String, Route>,
    /// A passthrough host's one server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// `{}` when the host has no certificate of its own; a bare
    /// `terminate:` (null) is no block at all to Synapse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminate: Option<Terminate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passthrough: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Terminate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Upstream {
    Plain(String),
    Weighted { addr: String, weight: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(rename = "type")]
    pub kind: HealthCheckType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthCheckType {
    Tcp,
    None,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectOut {
    pub status: u16,
    pub location: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Headers {
    /// `Name: value`, set (replacing what the message carries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformsOut {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers: Vec<HeaderRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<HeaderRule>,
}

/// Remove first, then add.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub add: BTreeMap<String, Vec<String>>,
}

/// One route of a host. Field order here is the order in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstreams: Option<Vec<Upstream>>,
    /// Unsaid: TLS decided by the backend's port. Always said, except
    /// beside `health_check: {type: none}`, where Synapse refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_https: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_access_log: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<RedirectOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transforms: Option<TransformsOut>,
}

/// One route of a host as written: its key, its expression (None: a
/// plain path key) and the entry it comes from.
#[derive(Clone, Debug)]
pub struct Laid<'a> {
    pub key: String,
    pub expr: Option<String>,
    pub entry: &'a PathEntry,
}

/// The key that sorts the whole-directory ACME solver before every other
/// expression route of its host.
const ACME_KEY: &str = "acme:00000";

/// The expression of a match.
pub fn match_expr(m: &RouteMatch) -> String {
    let path = match &m.path {
        PathMatch::Prefix(p) => prefix_expr(p),
        PathMatch::Exact(p) => format!("http.request.path eq {}", string_literal(p)),
        PathMatch::Regex(re) => format!("http.request.path matches {}", regex_literal(re)),
    };
    match &m.method {
        Some(method) => format!(
            "{path} and http.request.method eq {}",
            string_literal(method)
        ),
        None => path,
    }
}

/// Gateway API precedence: Exact, then RegularExpression, then the longer
/// prefix; a method match before none; then the order of the claims
/// (creationTimestamp, namespace/name, rule and match order).
fn precedence(m: &RouteMatch, e: &PathEntry) -> (u8, Reverse<usize>, bool, u32) {
    let (rank, len) = match &m.path {
        PathMatch::Exact(_) => (0, 0),
        PathMatch::Regex(_) => (1, 0),
        PathMatch::Prefix(p) => (2, p.len()),
    };
    (rank, Reverse(len), m.method.is_none(), e.seq)
}

/// A host's routes as the file writes them. A host whose routes are all
/// plain prefixes keeps plain path keys. Any other host is routed by
/// expressions, tried in key order before any plain key that is only a
/// prefix: so every route of it is an expression, keyed in precedence
/// order, but for solver token paths (plain keys that only their exact
/// path reaches first) and the whole solver directory (keyed to sort
/// first).
pub fn layout(h: &HostEntry) -> Vec<Laid<'_>> {
    if h.routes().next().is_none() {
        return h
            .paths
            .iter()
            .map(|(k, e)| Laid {
                key: k.clone(),
                expr: None,
                entry: e,
            })
            .collect();
    }
    let mut out = Vec::new();
    let mut ordered: Vec<(RouteMatch, &PathEntry)> = Vec::new();
    for (k, e) in &h.paths {
        if k.starts_with(CHALLENGE_PREFIX) {
            out.push(Laid {
                key: k.clone(),
                expr: None,
                entry: e,
            });
        } else if k == DIRECTORY_KEY {
            out.push(Laid {
                key: ACME_KEY.to_string(),
                expr: Some(prefix_expr(k)),
                entry: e,
            });
        } else {
            ordered.push((RouteMatch::prefix(k.clone()), e));
        }
    }
    ordered.extend(h.routes().map(|(m, e)| (m.clone(), e)));
    ordered.sort_by_key(|(m, e)| precedence(m, e));
    let width = ordered.len().saturating_sub(1).to_string().len().max(5);
    for (i, (m, e)) in ordered.into_iter().enumerate() {
        out.push(Laid {
            key: format!("gateway:{i:0width$}"),
            expr: Some(match_expr(&m)),
            entry: e,
        });
    }
    out
}

/// `Name:Value` (synroute's form) as v2's `Name: value`.
fn header_line(h: &str) -> String {
    match h.split_once(':') {
        Some((name, value)) => format!("{name}: {value}"),
        None => h.to_string(),
    }
}

/// `Name:Value` entries grouped by name, values in order.
fn grouped(list: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for h in list {
        let (name, value) = h.split_once(':').unwrap_or((h, ""));
        out.entry(name.to_string())
            .or_default()
            .push(value.to_string());
    }
    out
}

fn header_rules(add: &[String], remove: &[String]) -> Vec<HeaderRule> {
    let rule = HeaderRule {
        remove: remove.to_vec(),
        add: grouped(add),
    };
    if rule == HeaderRule::default() {
        Vec::new()
    } else {
        vec![rule]
    }
}

/// The route an entry becomes; `diags` gets what it cannot carry.
fn route_out(laid: &Laid<'_>, diags: &mut Vec<Anchored>) -> Route {
    let e = laid.entry;
    let s = &e.settings;
    let mut r = Route {
        match_expr: laid.expr.clone(),
        ..Route::default()
    };
    match (&s.redirect, &e.servers[..]) {
        (Some(to), _) => {
            r.redirect = Some(RedirectOut {
                status: to.status,
                location: to.location.clone(),
            });
        }
        (None, [one]) => r.upstream = Some(one.address.clone()),
        (None, servers) => {
            let weighted = e.weighted();
            r.upstreams = Some(
                servers
                    .iter()
                    .map(|sv| {
                        if weighted {
                            Upstream::Weighted {
                                addr: sv.address.clone(),
                                weight: sv.weight.unwrap_or(1),
                            }
                        } else {
                            Upstream::Plain(sv.address.clone())
                        }
                    })
                    .collect(),
            );
        }
    }
    let unprobed = s.healthcheck == Some(false);
    if unprobed && laid.expr.is_some() {
        let p = &e.provenance;
        diags.push(diag_at(
            Code::NotInTarget,
            format!(
                "healthcheck: false cannot be said on the v2 expression route {} (Synapse refuses a health check there); its backends are probed",
                laid.key
            ),
            &p.origin,
            &p.field,
        ));
    }
    if unprobed && laid.expr.is_none() {
        r.health_check = Some(HealthCheck {
            kind: HealthCheckType::None,
        });
    } else if s.redirect.is_none() {
        r.ssl_enabled = Some(s.ssl_enabled);
    }
    r.http2_enabled = s.http2_enabled;
    r.force_https = s.https_proxy_enabled;
    r.disable_access_log = s.disable_access_log;
    let timeouts = Timeouts {
        connect: s.connect_timeout,
        read: s.read_timeout,
        write: s.write_timeout,
        idle: s.idle_timeout,
    };
    r.timeouts = (!timeouts.is_empty()).then_some(timeouts);
    let headers = Headers {
        request: s.request_headers.iter().map(|h| header_line(h)).collect(),
        response: s.response_headers.iter().map(|h| header_line(h)).collect(),
    };
    r.headers = (headers != Headers::default()).then_some(headers);
    if let Some(t) = &s.transforms {
        let out = TransformsOut {
            request_headers: header_rules(&t.request_add, &t.request_remove),
            response_headers: header_rules(&t.response_add, &t.response_remove),
        };
        r.transforms = (out != TransformsOut::default()).then_some(out);
    }
    r
}

/// The v2 file of `table`, and what it could not say.
pub fn build(table: &RouteTable) -> (File, Vec<Anchored>) {
    let mut diags = Vec::new();
    let mut file = File {
        version: 2,
        timeouts: Timeouts {
            read: Some(V1_READ_TIMEOUT),
            ..Timeouts::default()
        },
        proxy: Proxy {
            fingerprints: Some(Fingerprints { forward: false }),
            sticky_sessions: Some(Enabled {
                enabled: table.sticky_sessions.is_some(),
            }),
        },
        hosts: BTreeMap::new(),
    };
    for (name, h) in &table.hosts {
        let host = match h.passthrough() {
            Some(p) => Host {
                tls: Tls {
                    terminate: None,
                    passthrough: Some(true),
                },
                paths: BTreeMap::new(),
                upstream: Some(p.upstream.clone()),
            },
            None => Host {
                tls: Tls {
                    terminate: Some(Terminate {
                        cert: h.certificate.clone(),
                    }),
                    passthrough: None,
                },
                paths: layout(h)
                    .iter()
                    .map(|laid| (laid.key.clone(), route_out(laid, &mut diags)))
                    .collect(),
                upstream: None,
            },
        };
        file.hosts.insert(name.to_string(), host);
    }
    dedup(&mut diags);
    (file, diags)
}

/// Keeps one of each diagnostic (entries of one object share settings).
fn dedup(diags: &mut Vec<Anchored>) {
    let mut seen = std::collections::BTreeSet::new();
    diags.retain(|d| {
        let key = (
            d.diag.code,
            d.diag.message.clone(),
            d.anchor
                .as_ref()
                .map(|(o, f)| (Arc::as_ptr(o) as usize, f.clone())),
        );
        seen.insert(key)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{PathSettings, Provenance, Server};

    fn entry(seq: u32) -> PathEntry {
        let origin = Arc::new(crate::model::Origin::stand_in(
            crate::model::Kind::HttpRoute,
            "ns",
            "r",
        ));
        let mut e = PathEntry::new(
            Arc::from([Server::at(format!("s{seq}:80"), None)]),
            Arc::new(PathSettings::default()),
            Provenance {
                origin,
                field: crate::model::FieldPath::root(),
            },
            false,
        );
        e.seq = seq;
        e
    }

    #[test]
    fn a_host_of_plain_prefixes_keeps_plain_keys() {
        let mut h = HostEntry::default();
        h.paths.insert("/".into(), entry(0));
        h.paths.insert("/api".into(), entry(1));
        let keys: Vec<_> = layout(&h).into_iter().map(|l| (l.key, l.expr)).collect();
        assert_eq!(
            keys,
            vec![("/".to_string(), None), ("/api".to_string(), None)]
        );
    }

    #[test]
    fn expressions_follow_gateway_api_precedence() {
        let mut h = HostEntry::default();
        h.paths.insert("/".into(), entry(0));
        h.paths.insert("/a/b".into(), entry(1));
        h.paths
            .insert("/.well-known/acme-challenge/tok".into(), entry(2));
        h.paths.insert(DIRECTORY_KEY.into(), entry(3));
        let x = h.extra.get_or_insert_with(Box::default);
        x.routes.insert(
            RouteMatch {
                path: PathMatch::Prefix("/a".into()),
                method: Some("GET".into()),
            },
            entry(4),
        );
        x.routes.insert(
            RouteMatch {
                path: PathMatch::Exact("/a".into()),
                method: None,
            },
            entry(5),
        );
        x.routes.insert(
            RouteMatch {
                path: PathMatch::Regex("^(?:/r.*)".into()),
                method: None,
            },
            entry(6),
        );
        let laid: Vec<(String, u32)> = layout(&h)
            .into_iter()
            .map(|l| (l.key, l.entry.seq))
            .collect();
        assert_eq!(
            laid,
            vec![
                (ACME_KEY.to_string(), 3),
                ("/.well-known/acme-challenge/tok".to_string(), 2),
                ("gateway:00000".to_string(), 5),
                ("gateway:00001".to_string(), 6),
                ("gateway:00002".to_string(), 1),
                ("gateway:00003".to_string(), 4),
                ("gateway:00004".to_string(), 0),
            ]
        );
    }

    #[test]
    fn keys_sort_as_numbers_past_five_digits() {
        let mut h = HostEntry::default();
        let x = h.extra.get_or_insert_with(Box::default);
        for i in 0..100_001u32 {
            x.routes.insert(
                RouteMatch {
                    path: PathMatch::Exact(format!("/{i}")),
                    method: None,
                },
                entry(i),
            );
        }
        let keys: Vec<String> = layout(&h).into_iter().map(|l| l.key).collect();
        assert_eq!(keys.first().map(String::as_str), Some("gateway:000000"));
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }
}
