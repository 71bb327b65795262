//! RouteTable → the routing file of the public Synapse release 0.2.x.
//!
//! Its loader refuses the whole file over one value of the wrong type and
//! ignores keys it does not know, so the types below write only what 0.2
//! reads, with the types it reads them as; they also read a file back
//! strictly for `check --target 0.2` and the tests. What 0.2 cannot say is
//! reported here: weights (servers repeated instead, capped), the split of
//! request and response headers (one list), IPv6 servers (its loader drops
//! them). Timeouts never reach this table (the translator reports them).

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::Code;
use crate::ir::{PathEntry, RouteTable, Server};
use crate::model::{Anchored, diag_at};

/// The longest server list a weighted pool becomes: past it, the weights
/// are scaled down (and reported).
pub const MAX_REPEATED_SERVERS: u32 = 100;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Unsaid: `file` (0.2.4 takes a file without it). Always said.
    #[serde(default)]
    pub provider: Provider,
    /// Unsaid: false (0.2.4 takes a file without it). Always said.
    #[serde(default)]
    pub sticky_sessions: bool,
    /// Read, never written: a map (`global_headers`, …) or the file is
    /// refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub arxignis_paths: BTreeMap<String, Path>,
    #[serde(default)]
    pub upstreams: BTreeMap<String, Host>,
}

/// Where Synapse takes its routes from: this file, or (not modelled here)
/// Consul or the Kubernetes API. Any other value refuses the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    #[default]
    File,
    Consul,
    Kubernetes,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Read, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<i64>,
    /// Read, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<serde_json::Value>,
    pub paths: BTreeMap<String, Path>,
}

/// Field order here is the order in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Path {
    /// `host:port` strings only: a `{address, weight}` entry is a type
    /// error that refuses the whole file.
    pub servers: Vec<String>,
    /// Unsaid: true. Always said.
    #[serde(default = "unsaid_ssl")]
    pub ssl_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2_enabled: Option<bool>,
    #[serde(
        default,
        alias = "force_https",
        skip_serializing_if = "Option::is_none"
    )]
    pub https_proxy_enabled: Option<bool>,
    /// Requests a second past which Synapse answers 429. Read, never
    /// written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_access_log: Option<bool>,
    /// Applied to the request sent upstream and to the response.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
}

/// What 0.2 reads when a path does not say `ssl_enabled`.
fn unsaid_ssl() -> bool {
    true
}

/// Whether 0.2 can dial `server`: `host:port` split on the first `:`, the
/// port a number up to 65535. An IPv6 address, a name without a port and a
/// port past 65535 are dropped by Synapse without a word (seen with
/// 0.2.4).
pub fn dialable(server: &str) -> bool {
    match server.split_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok()
        }
        None => false,
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A weighted pool as a list round-robin reproduces: each server as many
/// times as its weight, reduced by the weights' gcd, interleaved (smooth
/// weighted round-robin, so that no server takes a long run). Returns the
/// list, and true when the cap made the shares approximate.
pub fn repeat_by_weight(servers: &[Server]) -> (Vec<&str>, bool) {
    let weights: Vec<u32> = servers.iter().map(|s| s.weight.unwrap_or(1)).collect();
    let g = weights.iter().copied().fold(0, gcd).max(1);
    let mut counts: Vec<u64> = weights.iter().map(|w| u64::from(w / g)).collect();
    let total: u64 = counts.iter().sum();
    let cap = u64::from(MAX_REPEATED_SERVERS);
    let capped = total > cap;
    if capped {
        // Scaled to the cap, each live server at least once.
        counts = counts
            .iter()
            .map(|&c| ((c * cap + total / 2) / total).max(u64::from(c > 0)))
            .collect();
    }
    let total: u64 = counts.iter().sum();
    let mut current: Vec<i64> = vec![0; counts.len()];
    let mut out = Vec::new();
    for _ in 0..total {
        for (cur, &c) in current.iter_mut().zip(&counts) {
            *cur += c as i64;
        }
        let Some(best) = (0..counts.len()).max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
        else {
            break;
        };
        current[best] -= total as i64;
        if let Some(s) = servers.get(best) {
            out.push(s.address.as_str());
        }
    }
    (out, capped)
}

/// Builds 0.2's path entry; `diags` gets what it cannot say.
fn path_out(
    e: &PathEntry,
    where_: &str,
    merged: &mut std::collections::BTreeSet<usize>,
    diags: &mut Vec<Anchored>,
) -> Option<Path> {
    let p = &e.provenance;
    let report = |diags: &mut Vec<Anchored>, code: Code, msg: String| {
        diags.push(diag_at(code, msg, &p.origin, &p.field));
    };
    let (listed, capped) = if e.weighted() {
        repeat_by_weight(&e.servers)
    } else {
        (
            e.servers.iter().map(|s| s.address.as_str()).collect(),
            false,
        )
    };
    if capped {
        report(
            diags,
            Code::WeightsApproximated,
            format!(
                "{where_}: target 0.2 has no weights; the servers are repeated by weight, and the list is capped at {MAX_REPEATED_SERVERS}, so the shares are approximate"
            ),
        );
    }
    let mut servers = Vec::with_capacity(listed.len());
    for s in listed {
        if s.starts_with('[') || s.matches(':').count() > 1 {
            report(
                diags,
                Code::Ipv6ServerUnsupported,
                format!(
                    "{where_}: server {s} is an IPv6 address, which target 0.2 cannot read; it is left out"
                ),
            );
        } else {
            servers.push(s.to_string());
        }
    }
    if servers.is_empty() && !e.servers.is_empty() {
        return None;
    }
    let st = &e.settings;
    let mut headers: Vec<String> = st.request_headers.clone();
    for h in &st.response_headers {
        if !headers.contains(h) {
            headers.push(h.clone());
        }
    }
    // The paths of one object share its settings: its headers are said
    // once, at its first path.
    if !headers.is_empty() && merged.insert(Arc::as_ptr(&e.settings) as usize) {
        report(
            diags,
            Code::HeadersMerged,
            format!(
                "{where_}: target 0.2 has one header list for request and response; {} is sent both ways (on every path of these settings)",
                headers.join(", ")
            ),
        );
    }
    Some(Path {
        servers,
        ssl_enabled: st.ssl_enabled,
        http2_enabled: st.http2_enabled,
        https_proxy_enabled: st.https_proxy_enabled,
        healthcheck: st.healthcheck,
        rate_limit: None,
        disable_access_log: st.disable_access_log,
        headers,
    })
}

/// The 0.2 file of `table`, and what it could not say.
pub fn build(table: &RouteTable) -> (File, Vec<Anchored>) {
    let mut diags = Vec::new();
    let mut merged = std::collections::BTreeSet::new();
    let mut file = File {
        provider: Provider::File,
        sticky_sessions: table.sticky_sessions.is_some(),
        config: None,
        arxignis_paths: BTreeMap::new(),
        upstreams: BTreeMap::new(),
    };
    for (key, e) in &table.internal_paths {
        if let Some(p) = path_out(e, &format!("arxignis path {key}"), &mut merged, &mut diags) {
            file.arxignis_paths.insert(key.clone(), p);
        }
    }
    for (name, h) in &table.hosts {
        let mut paths = BTreeMap::new();
        for (key, e) in &h.paths {
            if let Some(p) = path_out(e, &format!("{name}{key}"), &mut merged, &mut diags) {
                paths.insert(key.clone(), p);
            }
        }
        if !paths.is_empty() {
            file.upstreams.insert(
                name.to_string(),
                Host {
                    certificate: h.certificate.clone(),
                    rate_limit: None,
                    acme: None,
                    paths,
                },
            );
        }
    }
    (file, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(weights: &[u32]) -> Vec<Server> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| Server::at(format!("s{i}:80"), Some(*w)))
            .collect()
    }

    fn shares(list: &[&str], n: usize) -> Vec<usize> {
        (0..n)
            .map(|i| list.iter().filter(|s| **s == format!("s{i}:80")).count())
            .collect()
    }

    #[test]
    fn weights_reduce_by_their_gcd() {
        let p = pool(&[90, 10]);
        let (list, capped) = repeat_by_weight(&p);
        assert!(!capped);
        assert_eq!(shares(&list, 2), vec![9, 1]);
        let p = pool(&[3, 1]);
        let (list, _) = repeat_by_weight(&p);
        // Interleaved: the lighter server is not left to the end.
        assert_eq!(list, vec!["s0:80", "s0:80", "s1:80", "s0:80"]);
    }

    #[test]
    fn a_large_sum_is_capped_and_said() {
        let p = pool(&[999, 1]);
        let (list, capped) = repeat_by_weight(&p);
        assert!(capped);
        assert_eq!(list.len(), MAX_REPEATED_SERVERS as usize + 1);
        assert_eq!(shares(&list, 2), vec![100, 1]);
    }
}
