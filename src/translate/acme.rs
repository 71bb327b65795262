//! cert-manager HTTP-01 solver paths → `internal_paths`.
//!
//! A solver path is served before any host entry: the exact token path goes
//! to its own solver (several challenges can run at once), and the
//! `/.well-known/acme-challenge/*` key goes to the first solver in render
//! order, overriding Synapse's embedded ACME responder. Annotations never
//! apply, and the backend is plain HTTP.

use super::Ctx;
use crate::ir::{PathEntry, PathSettings, Provenance, Server};
use std::sync::Arc;

pub const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";
pub const CATCH_ALL_KEY: &str = "/.well-known/acme-challenge/*";

/// The token path, if `path` is an HTTP-01 challenge path.
pub fn challenge_key(path: &str) -> Option<&str> {
    let token = path.strip_prefix(CHALLENGE_PREFIX)?;
    let token = token.trim_end_matches('/');
    (!token.is_empty() && !token.contains('/')).then(|| path.trim_end_matches('/'))
}

/// Adds a solver's token path and, if no solver holds it yet, the
/// catch-all challenge key.
pub fn claim_solver(ctx: &mut Ctx<'_>, token_path: &str, address: String, provenance: Provenance) {
    if let Some(ops) = &mut ctx.ops {
        ops.push(super::Op::Solver {
            token_path: token_path.to_string(),
            address,
            provenance,
        });
        return;
    }
    let entry = PathEntry {
        servers: Arc::from([Server {
            address,
            weight: None,
        }]),
        settings: Arc::new(PathSettings::default()),
        provenance,
        conditional: false,
    };
    if ctx.claim_internal(token_path, entry.clone())
        && !ctx.table.internal_paths.contains_key(CATCH_ALL_KEY)
    {
        ctx.table
            .internal_paths
            .insert(CATCH_ALL_KEY.to_string(), entry);
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
