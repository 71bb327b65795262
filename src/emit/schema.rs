//! What each Synapse reads, as a check of a routing file: which format a
//! file is, and the first key or value that would make that Synapse refuse
//! it (or ignore it, where it ignores unknown keys).
//!
//! The 0.2 and v2 checks read the file with the emitters' own types
//! (`v02::File`, `v2::File`), strictly; v1 is read with the type below,
//! which holds every key the v1 file has (synroute writes a subset of
//! them). On top of the types, the rules a type cannot say: v2's `tls` on
//! every host, a passthrough host with one upstream and no path, a route
//! with one of `upstream`/`upstreams`/`redirect`, no health check on an
//! expression route nor `ssl_enabled` beside `type: none`, host keys with
//! at most one leading `*.`, and expressions that parse and compile.
//!
//! It writes nothing; emitting is the emitters' job.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::target::Target;

/// What Synapse does with the part of the file a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// It refuses the whole file (and keeps running without it).
    Refuses,
    /// It ignores the key and reads the rest.
    Ignores,
    /// It drops the value (a server it cannot dial) without a word.
    Drops,
}

/// One thing a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub effect: Effect,
    /// 1-based, when the YAML reader knows it.
    pub line: Option<u32>,
    pub message: String,
}

/// The format a routing file is written in, from its top-level keys; None
/// for anything else (Kubernetes manifests, say).
pub fn sniff(text: &str) -> Option<Target> {
    let top: BTreeMap<String, serde_yaml::Value> = crate::guard::yaml(text).ok()?;
    if top.contains_key("kind") || top.contains_key("apiVersion") {
        return None;
    }
    if top.len() == 1 && top.contains_key("rules") {
        return Some(Target::Pingress);
    }
    if top.contains_key("version") && top.contains_key("hosts") {
        return Some(Target::V2);
    }
    if top.contains_key("arxignis_paths") {
        return Some(Target::V02);
    }
    if top.contains_key("upstreams") || top.contains_key("internal_paths") {
        // 0.2 and v1 share the rest; a weighted server or a v1-only key
        // says v1, which is what synroute writes by default.
        return Some(Target::V1);
    }
    None
}

/// What makes `target`'s proxy refuse `text` whole, if anything: the first
/// refusal `validate` finds, as `line L: message`. The readers that stand
/// for the proxy (`route::file`, `diff`) read no file it would not take.
pub fn refusal(target: Target, text: &str) -> Option<String> {
    let f = validate(target, text).into_iter().find(Finding::refuses)?;
    Some(match f.line {
        Some(l) if !f.message.contains(" at line ") => format!("line {l}: {}", f.message),
        _ => f.message,
    })
}

impl Finding {
    /// True when Synapse refuses the whole file over it.
    pub fn refuses(&self) -> bool {
        self.effect == Effect::Refuses
    }
}

fn finding(effect: Effect, e: &crate::guard::Failure) -> Finding {
    Finding {
        effect,
        line: e.line,
        message: e.message.clone(),
    }
}

/// Checks `text` as `target`'s Synapse reads it. Empty: it loads.
pub fn validate(target: Target, text: &str) -> Vec<Finding> {
    match target {
        Target::V1 => lenient::<V1File>(text, "target v1 (Synapse 0.8)"),
        Target::V02 => {
            let mut found = lenient::<super::v02::File>(text, "target 0.2");
            if !found.iter().any(Finding::refuses) {
                found.extend(undialable_v02(text));
            }
            found
        }
        // Pingress reads JSON, not YAML.
        Target::Pingress => match crate::guard::json::<super::pingress::File>(text) {
            Ok(f) => pingress_unused(&f, text),
            Err(e) => vec![finding(Effect::Refuses, &e)],
        },
        Target::V2 => match crate::guard::yaml::<super::v2::File>(text) {
            Err(e) => vec![finding(Effect::Refuses, &e)],
            Ok(f) => v2_rules(&f)
                .into_iter()
                .map(|message| Finding {
                    effect: Effect::Refuses,
                    line: None,
                    message,
                })
                .collect(),
        },
    }
}

/// What the Pingress proxy reads from a file it takes and never uses: a
/// rule of an exact host before that host's last (it keeps one rule per
/// exact host), and a wildcard host's `tls` (a certificate goes to an
/// exact SNI alone). Each at the line of its rule's `"host"` key.
fn pingress_unused(f: &super::pingress::File, text: &str) -> Vec<Finding> {
    use super::pingress::is_wildcard;
    let mut lines = text
        .match_indices("\"host\"")
        .map(|(at, _)| text[..at].matches('\n').count() + 1);
    let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, r) in f.rules.iter().enumerate() {
        last.insert(r.host.as_str(), i);
    }
    let mut found = Vec::new();
    for (i, r) in f.rules.iter().enumerate() {
        let line = lines.next().and_then(|l| u32::try_from(l).ok());
        let host = &r.host;
        if !is_wildcard(host)
            && let Some(&kept) = last.get(host.as_str())
            && kept != i
        {
            found.push(Finding {
                effect: Effect::Ignores,
                line,
                message: format!(
                    "rule {} ({host} {}) is not the last of {host}, and the proxy keeps one rule per exact host, the last (rule {})",
                    i + 1,
                    r.path.path,
                    kept + 1
                ),
            });
        }
        if is_wildcard(host) && r.tls.is_some() {
            found.push(Finding {
                effect: Effect::Ignores,
                line,
                message: format!(
                    "the tls of rule {} ({host}): the proxy serves a certificate only to an exact SNI, never a wildcard host's (it still loads the files at start)",
                    i + 1
                ),
            });
        }
    }
    found
}

/// The servers of a 0.2 file that 0.2.4 drops without a word (an IPv6
/// address, no port, a port past 65535): each at the first line at or
/// after the previous one's that holds it.
fn undialable_v02(text: &str) -> Vec<Finding> {
    let Ok(doc) = crate::guard::yaml::<serde_yaml::Value>(text) else {
        return Vec::new();
    };
    let mut servers = Vec::new();
    let values = |v: Option<&serde_yaml::Value>| -> Vec<serde_yaml::Value> {
        v.and_then(serde_yaml::Value::as_mapping)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    };
    let mut paths = values(doc.get("arxignis_paths"));
    for host in values(doc.get("upstreams")) {
        paths.extend(values(host.get("paths")));
    }
    for p in &paths {
        if let Some(list) = p.get("servers").and_then(serde_yaml::Value::as_sequence) {
            servers.extend(list.iter().filter_map(|s| s.as_str().map(str::to_string)));
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    let mut out = Vec::new();
    for server in servers {
        if super::v02::dialable(&server) {
            continue;
        }
        if let Some(i) = lines.iter().skip(at).position(|l| l.contains(&server)) {
            at += i;
        }
        out.push(Finding {
            effect: Effect::Drops,
            line: u32::try_from(at + 1).ok(),
            message: format!(
                "server {server:?} is not host:port with a port up to 65535 (an IPv6 address does not parse either); Synapse leaves it out of the pool"
            ),
        });
    }
    out
}

/// v1 and 0.2 ignore keys they do not know and refuse values of the wrong
/// type: a strict read names the first unknown key (ignored), a lenient
/// one the first refused value.
fn lenient<T: serde::de::DeserializeOwned>(text: &str, who: &str) -> Vec<Finding> {
    match crate::guard::yaml::<T>(text) {
        Ok(_) => Vec::new(),
        Err(e) if e.message.contains("unknown field") => {
            let value: Result<serde_yaml::Value, _> = crate::guard::yaml(text);
            let stripped = value.map(strip_unknown::<T>);
            match stripped {
                Ok(Ok(_)) | Err(_) => {
                    let mut f = finding(Effect::Ignores, &e);
                    f.message = format!("{who} ignores this key: {}", f.message);
                    vec![f]
                }
                Ok(Err(refused)) => vec![finding(Effect::Refuses, &e), refused],
            }
        }
        Err(e) => vec![finding(Effect::Refuses, &e)],
    }
}

/// Reads `value` as `T` once its unknown keys are gone: those are only
/// ignored; what still fails is refused. Unknown keys are found by reading
/// and dropping them one at a time (a file has few).
fn strip_unknown<T: serde::de::DeserializeOwned>(
    mut value: serde_yaml::Value,
) -> Result<(), Finding> {
    for _ in 0..64 {
        match serde_yaml::from_value::<T>(value.clone()) {
            Ok(_) => return Ok(()),
            Err(e) => {
                let msg = e.to_string();
                let Some(key) = unknown_key(&msg) else {
                    return Err(Finding {
                        effect: Effect::Refuses,
                        line: None,
                        message: msg,
                    });
                };
                if !remove_key(&mut value, &key) {
                    return Err(Finding {
                        effect: Effect::Refuses,
                        line: None,
                        message: msg,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The key serde names in "unknown field `x`, expected …".
fn unknown_key(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

/// Removes every mapping key `key` in `value`; true when one was.
fn remove_key(value: &mut serde_yaml::Value, key: &str) -> bool {
    match value {
        serde_yaml::Value::Mapping(m) => {
            let mut removed = m
                .remove(serde_yaml::Value::String(key.to_string()))
                .is_some();
            for (_, v) in m.iter_mut() {
                removed |= remove_key(v, key);
            }
            removed
        }
        serde_yaml::Value::Sequence(s) => {
            // Every item, not only up to the first that had the key.
            let mut removed = false;
            for v in s.iter_mut() {
                removed |= remove_key(v, key);
            }
            removed
        }
        _ => false,
    }
}

/// A v2 host key: a DNS name, or one leading `*.` label and a DNS name;
/// never `*` alone.
pub fn v2_host_key(h: &str) -> bool {
    let name = h.strip_prefix("*.").unwrap_or(h);
    !name.is_empty()
        && !name.contains('*')
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The rules of a v2 file a type cannot say; each broken one refuses it.
fn v2_rules(f: &super::v2::File) -> Vec<String> {
    use super::v2::HealthCheckType;
    let mut out = Vec::new();
    if f.version != 2 {
        out.push(format!("version is {}, not 2", f.version));
    }
    for (name, h) in &f.hosts {
        let at = format!("hosts.{name}");
        if !v2_host_key(name) {
            out.push(format!(
                "{at}: not a host name (one leading `*.` label at most)"
            ));
        }
        match (&h.tls.terminate, h.tls.passthrough) {
            (Some(_), Some(true)) => out.push(format!(
                "{at}.tls: both terminate and passthrough"
            )),
            (None, Some(true)) => {
                if h.upstream.is_none() {
                    out.push(format!("{at}: a passthrough host needs its upstream"));
                }
                if !h.paths.is_empty() {
                    out.push(format!("{at}: a passthrough host has no paths"));
                }
            }
            (Some(_), _) => {
                if h.upstream.is_some() {
                    out.push(format!(
                        "{at}.upstream: only a passthrough host has one"
                    ));
                }
            }
            (None, _) => out.push(format!(
                "{at}.tls: neither terminate (`terminate: {{}}` without a certificate) nor passthrough"
            )),
        }
        for (key, r) in &h.paths {
            let at = format!("{at}.paths.{key}");
            let targets = usize::from(r.upstream.is_some())
                + usize::from(r.upstreams.is_some())
                + usize::from(r.redirect.is_some());
            if targets != 1 {
                out.push(format!(
                    "{at}: exactly one of upstream, upstreams and redirect"
                ));
            }
            if let Some(e) = &r.match_expr {
                if r.health_check.is_some() {
                    out.push(format!("{at}: an expression route has no health check"));
                }
                if let Err(why) = crate::route::expr::parse(e) {
                    out.push(format!("{at}.match_expr: {why}"));
                }
            } else if !key.starts_with('/') {
                out.push(format!(
                    "{at}: a route without match_expr is keyed by its path"
                ));
            }
            let unprobed = r
                .health_check
                .as_ref()
                .is_some_and(|h| h.kind == HealthCheckType::None);
            if unprobed && r.ssl_enabled.is_some() {
                out.push(format!("{at}: ssl_enabled beside health_check type none"));
            }
        }
    }
    out
}

/// v1 as Synapse 0.8 reads it: every key it has, strictly (a file's
/// unknown keys are found by this type and reported as ignored).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct V1File {
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub sticky_sessions: bool,
    #[serde(default)]
    pub internal_paths: BTreeMap<String, V1Path>,
    #[serde(default)]
    pub upstreams: BTreeMap<String, V1Host>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct V1Host {
    #[serde(default)]
    pub certificate: Option<String>,
    pub paths: BTreeMap<String, V1Path>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum V1Server {
    Plain(String),
    Weighted { address: String, weight: u32 },
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct V1Redirect {
    pub status: u16,
    pub location: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct V1Path {
    #[serde(default)]
    pub servers: Vec<V1Server>,
    #[serde(default)]
    pub ssl_enabled: Option<bool>,
    #[serde(default)]
    pub http2_enabled: Option<bool>,
    #[serde(default)]
    pub https_proxy_enabled: Option<bool>,
    #[serde(default)]
    pub healthcheck: Option<bool>,
    #[serde(default)]
    pub disable_access_log: Option<bool>,
    #[serde(default)]
    pub connection_timeout: Option<u64>,
    #[serde(default)]
    pub read_timeout: Option<u64>,
    #[serde(default)]
    pub write_timeout: Option<u64>,
    #[serde(default)]
    pub idle_timeout: Option<u64>,
    #[serde(default)]
    pub max_body_size: Option<u64>,
    #[serde(default)]
    pub redirect: Option<V1Redirect>,
    #[serde(default)]
    pub match_expr: Option<String>,
    #[serde(default)]
    pub request_headers: Option<Vec<String>>,
    #[serde(default)]
    pub response_headers: Option<Vec<String>>,
    #[serde(default)]
    pub headers: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_format() {
        assert_eq!(sniff("version: 2\nhosts: {}\n"), Some(Target::V2));
        assert_eq!(
            sniff("provider: file\narxignis_paths: {}\nupstreams: {}\n"),
            Some(Target::V02)
        );
        assert_eq!(sniff("provider: file\nupstreams: {}\n"), Some(Target::V1));
        assert_eq!(sniff("apiVersion: v1\nkind: Service\n"), None);
        assert_eq!(sniff("- a\n"), None);
    }

    #[test]
    fn v1_ignores_unknown_keys_and_refuses_wrong_types() {
        let ok = "upstreams:\n  a.com:\n    paths:\n      /:\n        servers: [a:80]\n";
        assert!(validate(Target::V1, ok).is_empty());
        let unknown = ok.replace("servers", "colour: red\n        servers");
        let f = validate(Target::V1, &unknown);
        assert!(f.len() == 1 && !f[0].refuses(), "{f:?}");
        assert!(f[0].message.contains("colour"));
        let wrong = ok.replace("[a:80]", "a:80");
        assert!(validate(Target::V1, &wrong).iter().any(|f| f.refuses()));
    }

    #[test]
    fn weighted_servers_refuse_a_0_2_file() {
        let f = "provider: file\nsticky_sessions: false\nupstreams:\n  a.com:\n    paths:\n      /:\n        servers:\n        - address: a:80\n          weight: 3\n        ssl_enabled: false\n";
        let found = validate(Target::V02, f);
        assert!(found.iter().any(|x| x.refuses()), "{found:?}");
    }

    #[test]
    fn v2_rules_refuse_what_synapse_refuses() {
        let base = "version: 2\nhosts:\n  a.com:\n    tls: {terminate: {}}\n    paths:\n      /: {upstream: 'a:80', ssl_enabled: false}\n";
        assert!(validate(Target::V2, base).is_empty());
        for (bad, why) in [
            (base.replace("tls: {terminate: {}}", "tls: {terminate: }"), "bare terminate"),
            (base.replace("    tls: {terminate: {}}\n", ""), "no tls"),
            (base.replace("ssl_enabled", "colour"), "unknown key"),
            (base.replace("a.com", "'*'"), "host *"),
            (base.replace("a.com", "'*.*.a.com'"), "two wildcards"),
            (
                base.replace("/: {", "gateway:0: {match_expr: 'http.request.path eq \"/\"', health_check: {type: tcp}, "),
                "health check on an expression",
            ),
            (
                base.replace("ssl_enabled: false", "ssl_enabled: false, health_check: {type: none}"),
                "ssl beside none",
            ),
            (base.replace("upstream: 'a:80', ", ""), "no upstream"),
        ] {
            assert!(
                validate(Target::V2, &bad).iter().any(|f| f.refuses()),
                "{why}: {bad}"
            );
        }
    }
}
