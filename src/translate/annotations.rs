//! Per-object annotations → per-path settings.
//!
//! Each annotation is read by a small parser of its own; a value that does
//! not parse is an InvalidAnnotation and leaves the field unset. A final
//! sweep reports `synapse.gen0sec.com/` names nobody knows (typos) and
//! ingress-nginx names with no Synapse equivalent, so nothing is dropped
//! silently.

use std::sync::Arc;

use crate::diag::{Code, SUBSTITUTION_HINT, has_unsubstituted_variable};
use crate::ir::PathSettings;
use crate::model::{Anchored, FieldPath, Origin, diag_at};
use crate::smallmap::SmallMap;
use crate::target::Target;

pub const SYNAPSE_PREFIX: &str = "synapse.gen0sec.com/";
pub const NGINX_PREFIX: &str = "nginx.ingress.kubernetes.io/";

/// Synapse annotation names (without prefix) synroute reads.
const SYNAPSE_KEYS: &[&str] = &[
    "backend-protocol",
    "http2",
    "force-https",
    "connect-timeout",
    "read-timeout",
    "write-timeout",
    "idle-timeout",
    "healthcheck",
    "disable-access-log",
    "request-headers",
    "response-headers",
    "sticky-sessions",
    "use-regex",
    "ssl-passthrough",
];

/// ingress-nginx names (without prefix) synroute reads as aliases.
const NGINX_KEYS: &[&str] = &[
    "backend-protocol",
    "ssl-redirect",
    "force-ssl-redirect",
    "proxy-connect-timeout",
    "proxy-read-timeout",
    "proxy-send-timeout",
    "use-regex",
    "ssl-passthrough",
];

/// What an object's annotations ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotated {
    pub settings: Arc<PathSettings>,
    pub sticky: bool,
    /// The paths are regular expressions (`use-regex`; v2 only).
    pub use_regex: bool,
    /// The hosts are passed through as TLS (`ssl-passthrough`; v2 only).
    pub passthrough: bool,
}

struct Reader<'a> {
    annotations: &'a SmallMap<String, String>,
    origin: &'a Arc<Origin>,
    diags: &'a mut Vec<Anchored>,
}

impl<'a> Reader<'a> {
    /// The key and value of the synapse name, else of the first nginx
    /// alias set (borrowed from the object: nothing is copied).
    fn get(&self, synapse: &str, nginx: &[&str]) -> Option<(&'a str, &'a str)> {
        let annotations = self.annotations;
        // A scan of the object's few annotations, where no key is built;
        // past a few, a lookup of the built key (a scan per name made an
        // object with n annotations cost n times the names synroute reads).
        let many = annotations.len() > 16;
        let named = |prefix: &str, name: &str| {
            if many {
                let key = format!("{prefix}{name}");
                return annotations
                    .get_key_value(key.as_str())
                    .map(|(k, v)| (k.as_str(), v.as_str()));
            }
            annotations.iter().find_map(|(k, v)| {
                (k.strip_prefix(prefix) == Some(name)).then_some((k.as_str(), v.as_str()))
            })
        };
        named(SYNAPSE_PREFIX, synapse).or_else(|| nginx.iter().find_map(|n| named(NGINX_PREFIX, n)))
    }

    fn invalid(&mut self, key: &str, value: &str, expected: &str) {
        let mut d = diag_at(
            Code::InvalidAnnotation,
            format!("annotation {key}: {value:?} is not {expected}; the setting is left unset"),
            self.origin,
            &field(key),
        );
        if has_unsubstituted_variable(value) {
            d = d.hint(SUBSTITUTION_HINT);
        }
        self.diags.push(d);
    }

    fn read<T>(
        &mut self,
        synapse: &str,
        nginx: &[&str],
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let (key, value) = self.get(synapse, nginx)?;
        match parse(value.trim()) {
            Some(v) => Some(v),
            None => {
                self.invalid(key, value, expected);
                None
            }
        }
    }
}

fn field(key: &str) -> FieldPath {
    FieldPath::of(&["metadata", "annotations"]).key(key)
}

pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Whole seconds: `60` or `60s`.
pub fn parse_seconds(s: &str) -> Option<u64> {
    let digits = s.strip_suffix('s').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `Name:Value,Name:Value` → `["Name:Value", …]`.
pub fn parse_headers(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, value) = part.split_once(':')?;
        let name = name.trim();
        if !is_header_name(name) {
            return None;
        }
        out.push(format!("{name}:{}", value.trim()));
    }
    (!out.is_empty()).then_some(out)
}

/// An HTTP header field name (RFC 9110 token).
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// (ssl_enabled, http2_enabled) for a backend protocol.
fn parse_protocol(s: &str) -> Option<(bool, Option<bool>)> {
    match s.to_ascii_uppercase().as_str() {
        "HTTP" => Some((false, None)),
        "HTTPS" => Some((true, None)),
        "GRPC" => Some((false, Some(true))),
        "GRPCS" => Some((true, Some(true))),
        _ => None,
    }
}

pub fn read(
    annotations: Option<&SmallMap<String, String>>,
    origin: &Arc<Origin>,
    target: Target,
    diags: &mut Vec<Anchored>,
) -> Annotated {
    let empty = SmallMap::new();
    let annotations = annotations.unwrap_or(&empty);
    let mut r = Reader {
        annotations,
        origin,
        diags,
    };
    let mut s = PathSettings::default();
    if let Some((ssl, h2)) = r.read(
        "backend-protocol",
        &["backend-protocol"],
        "one of HTTP, HTTPS, GRPC, GRPCS",
        parse_protocol,
    ) {
        s.ssl_enabled = ssl;
        s.http2_enabled = h2;
    }
    if let Some(h2) = r.read("http2", &[], "true or false", parse_bool) {
        s.http2_enabled = Some(h2);
    }
    s.https_proxy_enabled = r.read(
        "force-https",
        &["force-ssl-redirect", "ssl-redirect"],
        "true or false",
        parse_bool,
    );
    let secs = "whole seconds (`30` or `30s`)";
    s.connect_timeout = r.read(
        "connect-timeout",
        &["proxy-connect-timeout"],
        secs,
        parse_seconds,
    );
    s.read_timeout = r.read("read-timeout", &["proxy-read-timeout"], secs, parse_seconds);
    s.write_timeout = r.read(
        "write-timeout",
        &["proxy-send-timeout"],
        secs,
        parse_seconds,
    );
    s.idle_timeout = r.read("idle-timeout", &[], secs, parse_seconds);
    s.healthcheck = r.read("healthcheck", &[], "true or false", parse_bool);
    s.disable_access_log = r.read("disable-access-log", &[], "true or false", parse_bool);
    let headers = "a list `Name:Value,Name:Value`";
    s.request_headers = r
        .read("request-headers", &[], headers, parse_headers)
        .unwrap_or_default();
    s.response_headers = r
        .read("response-headers", &[], headers, parse_headers)
        .unwrap_or_default();
    let mut sticky = r
        .read("sticky-sessions", &[], "true or false", parse_bool)
        .unwrap_or(false);
    let use_regex = r.read("use-regex", &["use-regex"], "true or false", parse_bool);
    let passthrough = r.read(
        "ssl-passthrough",
        &["ssl-passthrough"],
        "true or false",
        parse_bool,
    );
    let mut limits = Limits {
        annotations,
        origin,
        target,
        diags: r.diags,
    };
    if target == Target::V02 {
        let timeouts = [
            (
                "connect-timeout",
                "proxy-connect-timeout",
                s.connect_timeout,
            ),
            ("read-timeout", "proxy-read-timeout", s.read_timeout),
            ("write-timeout", "proxy-send-timeout", s.write_timeout),
            ("idle-timeout", "", s.idle_timeout),
        ];
        for (name, nginx, value) in timeouts {
            if value.is_some() {
                limits.report(name, &[nginx], "timeouts", "v1 and v2");
            }
        }
        s.connect_timeout = None;
        s.read_timeout = None;
        s.write_timeout = None;
        s.idle_timeout = None;
    }
    if !target.annotations() {
        // Pingress reads none: each one synroute would read is left out,
        // by name (use-regex and ssl-passthrough are reported below).
        let skipped = ["use-regex", "ssl-passthrough"];
        let read_here = |key: &str| {
            let known = |prefix: &str, names: &[&str]| {
                key.strip_prefix(prefix)
                    .is_some_and(|n| names.contains(&n) && !skipped.contains(&n))
            };
            known(SYNAPSE_PREFIX, SYNAPSE_KEYS) || known(NGINX_PREFIX, NGINX_KEYS)
        };
        for key in annotations.keys().filter(|k| read_here(k)) {
            limits.diags.push(diag_at(
                Code::NotInTarget,
                format!(
                    "annotation {key}: {} reads no annotations; it is left out (a Synapse target can say it)",
                    target.describe()
                ),
                origin,
                &field(key),
            ));
        }
        s = PathSettings::default();
        sticky = false;
    }
    let use_regex = use_regex == Some(true) && {
        limits.report_unless_v2(
            "use-regex",
            "regular-expression paths; the paths are read as prefixes",
        )
    };
    let passthrough = passthrough == Some(true) && {
        limits.report_unless_v2(
            "ssl-passthrough",
            "TLS passthrough; the proxy terminates TLS for these hosts and proxies HTTP",
        )
    };
    sweep(annotations, origin, diags);
    Annotated {
        settings: Arc::new(s),
        sticky,
        use_regex,
        passthrough,
    }
}

/// Reports annotations the target's format has no key for.
struct Limits<'a, 'd> {
    annotations: &'a SmallMap<String, String>,
    origin: &'a Arc<Origin>,
    target: Target,
    diags: &'d mut Vec<Anchored>,
}

impl Limits<'_, '_> {
    /// Reports the annotation `synapse` (or its nginx alias) set on the
    /// object: `what` cannot be said in the target, `who` can say it.
    fn report(&mut self, synapse: &str, nginx: &[&str], what: &str, who: &str) {
        let key = format!("{SYNAPSE_PREFIX}{synapse}");
        let key = if self.annotations.contains_key(key.as_str()) {
            key
        } else {
            nginx
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| format!("{NGINX_PREFIX}{n}"))
                .find(|k| self.annotations.contains_key(k.as_str()))
                .unwrap_or(key)
        };
        self.diags.push(diag_at(
            Code::NotInTarget,
            format!(
                "annotation {key}: {} has no {what}; it is left out (target {who} can say it)",
                self.target.describe()
            ),
            self.origin,
            &field(&key),
        ));
    }

    /// True under v2; else reports that the target cannot say `what`.
    fn report_unless_v2(&mut self, name: &str, what: &str) -> bool {
        if self.target.v2() {
            return true;
        }
        let key = format!("{SYNAPSE_PREFIX}{name}");
        let key = if self.annotations.contains_key(key.as_str()) {
            key
        } else {
            format!("{NGINX_PREFIX}{name}")
        };
        self.diags.push(diag_at(
            Code::NotInTarget,
            format!(
                "annotation {key}: {} cannot express {what} (target v2 can)",
                self.target.describe()
            ),
            self.origin,
            &field(&key),
        ));
        false
    }
}

/// Reports annotations in our namespace that nobody reads, and ingress-nginx
/// annotations that have no Synapse equivalent.
fn sweep(annotations: &SmallMap<String, String>, origin: &Arc<Origin>, diags: &mut Vec<Anchored>) {
    for key in annotations.keys() {
        if let Some(name) = key.strip_prefix(SYNAPSE_PREFIX) {
            if SYNAPSE_KEYS.contains(&name) {
                continue;
            }
            let mut d = diag_at(
                Code::UnknownAnnotation,
                format!("annotation {key} is not one synroute knows; it has no effect"),
                origin,
                &field(key),
            );
            if let Some(best) = closest(name, SYNAPSE_KEYS) {
                d = d.hint(format!("did you mean {SYNAPSE_PREFIX}{best}?"));
            }
            diags.push(d);
        } else if let Some(name) = key.strip_prefix(NGINX_PREFIX) {
            if NGINX_KEYS.contains(&name) {
                continue;
            }
            diags.push(diag_at(
                Code::UnsupportedAnnotation,
                format!("annotation {key} has no Synapse equivalent and is ignored"),
                origin,
                &field(key),
            ));
        }
    }
}

/// The known name within edit distance 2 of `name`, if any.
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_headers() {
        assert_eq!(parse_seconds("60"), Some(60));
        assert_eq!(parse_seconds("60s"), Some(60));
        assert_eq!(parse_seconds("soon"), None);
        assert_eq!(parse_seconds("1.5"), None);
        assert_eq!(parse_seconds("s"), None);
        assert_eq!(
            parse_headers("X-Env: prod, X-A:b:c"),
            Some(vec!["X-Env:prod".to_string(), "X-A:b:c".to_string()])
        );
        assert_eq!(parse_headers("novalue"), None);
        assert_eq!(parse_headers("bad name:x"), None);
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(closest("read-timout", SYNAPSE_KEYS), Some("read-timeout"));
        assert_eq!(closest("zzzzzzzz", SYNAPSE_KEYS), None);
    }
}
