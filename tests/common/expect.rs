//! The fixtures' expectation files, shared by the tests that check them:
//! tests/fixtures.rs on synroute's model of each proxy, tests/synapse.rs
//! on the real Synapse 0.2.4.

use std::fs;
use std::path::Path;

use synroute::route::file::Routing;
use synroute::route::{Probe, Request};
use synroute::target::Target;

/// Every folder under `fixtures/`, sorted.
pub fn cases() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir("fixtures")
        .expect("fixtures folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

/// The render flags of `case` (its `args` file, one per line).
pub fn args_of(case: &str) -> Vec<String> {
    fs::read_to_string(Path::new("fixtures").join(case).join("args"))
        .map(|s| {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A pool as an expectation line's right side writes it: `a b`, `a@9 b@1`.
pub fn pool_text(servers: &[synroute::ir::Server]) -> String {
    servers
        .iter()
        .map(|s| match s.weight {
            Some(w) => format!("{}@{w}", s.address),
            None => s.address.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The expectations file of `case` for `target`, if it has one.
pub fn expectations(case: &str, target: Target) -> Option<String> {
    let name = match target {
        Target::V1 => "expect.txt".to_string(),
        t => format!("expect.{t}.txt"),
    };
    fs::read_to_string(Path::new("fixtures").join(case).join(name)).ok()
}

/// A line's servers with their weights reduced by the weights' greatest
/// common divisor: `a@90 b@10` and `a@9 b@1` (0.2's repetitions) are one
/// pool.
pub fn shares(servers: &str) -> String {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let parts: Vec<(&str, Option<u64>)> = servers
        .split_whitespace()
        .map(|t| match t.rsplit_once('@') {
            Some((a, w)) if w.parse::<u64>().is_ok() => (a, w.parse().ok()),
            _ => (t, None),
        })
        .collect();
    let g = parts.iter().filter_map(|(_, w)| *w).fold(0, gcd).max(1);
    // Equal shares are plain round robin.
    let equal = parts.iter().all(|(_, w)| w.is_none_or(|w| w == g));
    parts
        .iter()
        .map(|(a, w)| match w {
            Some(w) if !equal => format!("{a}@{}", w / g),
            _ => a.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The requests (left sides) a file's routing lines name.
pub fn requests(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" -> ").map(|(u, _)| u.trim().to_string()))
        .collect()
}

/// The routing lines of a case for `target` that its file must answer:
/// its own file's, and — 0.2 routes as v1 does — v1's for the requests
/// its own file does not name. (request, expected answer).
pub fn routing_lines(case: &str, target: Target) -> Vec<(String, String)> {
    let own = expectations(case, target).unwrap_or_default();
    let mut text = own.clone();
    if target == Target::V02 {
        let named = requests(&own);
        for line in expectations(case, Target::V1).unwrap_or_default().lines() {
            if let Some((url, _)) = line.split_once(" -> ")
                && !named.iter().any(|n| n == url.trim())
            {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(" -> "))
        .map(|(u, w)| (u.trim().to_string(), w.trim().to_string()))
        .collect()
}

/// The answer of an `https://` line whose TLS handshake the proxy fails.
pub const HANDSHAKE_FAILS: &str = "handshake fails";

/// What the proxy answers for a request line's left side (`[METHOD] URL`,
/// or `tls://NAME` for a TLS connection by SNI: its passthrough server),
/// looked up in the file written, as that proxy looks it up.
pub fn answer(routing: &Routing, request: &str) -> Option<String> {
    if let Some(name) = request.trim().strip_prefix("tls://") {
        return Some(routing.sni(name).unwrap_or_else(|| "none".to_string()));
    }
    let (method, url) = match request.trim().split_once(' ') {
        Some((m, u)) => (m.to_string(), u.trim()),
        None => ("GET".to_string(), request.trim()),
    };
    let req = Request::parse(url)?;
    // Pingress completes a handshake only for its exact TLS hosts.
    if req.https && routing.tls(&req.host) == Some(false) {
        return Some(HANDSHAKE_FAILS.to_string());
    }
    let probe = Probe {
        path: req.path.clone(),
        method,
    };
    Some(match routing.lookup(&req.host, &probe) {
        Some(a) => match &a.redirect {
            Some(to) => format!("redirect {} {}", to.status, to.location),
            None => pool_text(&a.servers),
        },
        None => "none".to_string(),
    })
}
