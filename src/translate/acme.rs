//! cert-manager HTTP-01 solver paths → `internal_paths` (v1, 0.2) or
//! routes of the hosts that serve their names (v2, Pingress).
//!
//! A solver path is served before any host entry: the exact token path goes
//! to its own solver (several challenges can run at once), and the
//! `/.well-known/acme-challenge/*` key goes to the first solver in render
//! order, overriding Synapse's embedded ACME responder. Annotations never
//! apply, and the backend is plain HTTP.
//!
//! v2 has no routed list of internal paths: once every route is claimed,
//! each token path becomes a plain route of the host Synapse would serve
//! its name with (exact name, else the longest wildcard covering it), a
//! host of its own when none does, and the whole challenge directory a
//! route of that host to its first solver. A name that is passed through
//! cannot be answered, and is reported.

use super::Ctx;
use crate::diag::Code;
use crate::ir::{PathEntry, PathSettings, Provenance, Server};
use crate::model::diag_at;
use std::sync::Arc;

pub const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";
pub const CATCH_ALL_KEY: &str = "/.well-known/acme-challenge/*";
/// v2's key for the whole challenge directory (a plain key never ends in
/// `/` nor holds a `*`).
pub const DIRECTORY_KEY: &str = "/.well-known/acme-challenge";

/// The token path, if `path` is an HTTP-01 challenge path.
pub fn challenge_key(path: &str) -> Option<&str> {
    let token = path.strip_prefix(CHALLENGE_PREFIX)?;
    let token = token.trim_end_matches('/');
    (!token.is_empty() && !token.contains('/')).then(|| path.trim_end_matches('/'))
}

/// Adds a solver's token path and, if no solver holds it yet, the
/// catch-all challenge key. `hosts` are the names it answers for (kept
/// for v2, which routes it on their hosts).
pub fn claim_solver(
    ctx: &mut Ctx<'_>,
    token_path: &str,
    server: Server,
    provenance: Provenance,
    hosts: Vec<String>,
) {
    if let Some(ops) = &mut ctx.ops {
        ops.push(super::Op::Solver {
            token_path: token_path.to_string(),
            server,
            provenance,
            hosts,
        });
        return;
    }
    let entry = PathEntry::new(
        Arc::from([Server {
            weight: None,
            ..server
        }]),
        Arc::new(PathSettings::default()),
        provenance,
        false,
    );
    if ctx.claim_internal(token_path, entry.clone()) {
        if ctx.target().solvers_on_hosts() {
            ctx.table.solver_hosts.insert(token_path.to_string(), hosts);
        }
        if !ctx.table.internal_paths.contains_key(CATCH_ALL_KEY) {
            ctx.table
                .internal_paths
                .insert(CATCH_ALL_KEY.to_string(), entry);
        }
    }
}

/// What serves a name in a v2 file.
enum Serving {
    /// This host of the table (the name, or a wildcard covering it).
    Host(String),
    /// A passthrough host: Synapse answers no HTTP request there.
    Passthrough(String),
    /// No host: the name gets one of its own.
    Nothing,
}

/// The host Synapse picks for `name` among the table's: the exact name,
/// else the wildcard with the longest suffix that covers it.
fn serving(table: &crate::ir::RouteTable, name: &str) -> Serving {
    let classify = |host: &str| match table.host(host) {
        Some(h) if h.passthrough().is_some() => Some(Serving::Passthrough(host.to_string())),
        Some(_) => Some(Serving::Host(host.to_string())),
        None => None,
    };
    if let Some(s) = classify(name) {
        return s;
    }
    // `*.b.c` then `*.c` for `a.b.c`: the longest suffix first.
    let mut rest = name;
    while let Some((_, suffix)) = rest.split_once('.') {
        if let Some(s) = classify(&format!("*.{suffix}")) {
            return s;
        }
        rest = suffix;
    }
    Serving::Nothing
}

/// v2: moves the solvers out of `internal_paths` onto the hosts that
/// serve their names.
pub fn place_on_hosts(ctx: &mut Ctx<'_>) {
    let internal = std::mem::take(&mut ctx.table.internal_paths);
    let mut names = std::mem::take(&mut ctx.table.solver_hosts);
    // The first solver (in render order) placed on each host answers the
    // whole directory there.
    let mut first: std::collections::BTreeMap<String, PathEntry> = Default::default();
    let mut solvers: Vec<(String, PathEntry)> = internal
        .iter()
        .filter(|(k, _)| k.as_str() != CATCH_ALL_KEY)
        .map(|(k, e)| (k.clone(), e.clone()))
        .collect();
    solvers.sort_by_key(|(_, e)| e.seq);
    for (path, entry) in solvers {
        for name in names.remove(&path).unwrap_or_default() {
            let host = match serving(&ctx.table, &name) {
                Serving::Passthrough(host) => {
                    ctx.push(diag_at(
                        Code::SolverUnreachable,
                        format!(
                            "the HTTP-01 solver {path} for {name} cannot be answered: {host} is passed through as TLS, and Synapse serves no path of it"
                        ),
                        &entry.provenance.origin,
                        &entry.provenance.field,
                    ));
                    continue;
                }
                Serving::Host(host) => host,
                Serving::Nothing => name,
            };
            ctx.claim(&host, &path, entry.clone());
            first.entry(host).or_insert_with(|| entry.clone());
        }
    }
    for (host, entry) in first {
        let taken = ctx
            .table
            .host(&host)
            .is_some_and(|h| h.paths.contains_key(DIRECTORY_KEY));
        if !taken {
            ctx.claim(&host, DIRECTORY_KEY, entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_token_paths() {
        assert_eq!(
            challenge_key("/.well-known/acme-challenge/abc"),
            Some("/.well-known/acme-challenge/abc")
        );
        assert_eq!(challenge_key("/.well-known/acme-challenge/"), None);
        assert_eq!(challenge_key("/.well-known/acme-challenge/a/b"), None);
        assert_eq!(challenge_key("/api"), None);
    }
}
