//! TLS: Secrets named by TLS entries → certificate bundles with stems, and
//! the `certificate:` of each host.
//!
//! A concrete host's bundle is stemmed by the host (Synapse matches the file
//! name exactly); a wildcard or host-less bundle by `<namespace>_<name>` of
//! its Secret. Stems are sanitised to `[a-z0-9._-]` with no leading dot, so
//! no stem can name a path outside the certs folder.
//!
//! It does not check certificates (certcheck.rs does) nor write them
//! (emit/certs.rs).

use crate::model::Secret;
use std::sync::Arc;

use super::{Ctx, HostName, classify_host};
use crate::diag::Code;
use crate::ir::{CertBundle, Provenance, RouteTable};
use crate::model::{FieldPath, Obj, Origin, diag_at};

/// Restricts a stem to `[a-z0-9._-]`, with no leading `.`.
pub fn sanitize_stem(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// The stem for a TLS host: the host itself when concrete, else the Secret's.
pub fn stem_for(host: Option<&str>, secret_ns: &str, secret_name: &str) -> String {
    match host.map(classify_host) {
        Some(HostName::Concrete(h)) => sanitize_stem(&h),
        _ => sanitize_stem(&format!("{secret_ns}_{secret_name}")),
    }
}

/// PEM bytes, shared between a Secret, its bundles and their files.
type Pem = Arc<[u8]>;

/// A Secret's certificate and key, or what is wrong with it.
pub(super) fn tls_pair(secret: &Secret) -> Result<(Pem, Pem), String> {
    let ty = secret.type_.as_deref().unwrap_or("Opaque");
    if ty != "kubernetes.io/tls" {
        return Err(format!("is of type {ty}, not kubernetes.io/tls"));
    }
    let get = |k: &str| -> Option<Pem> {
        if let Some(v) = secret.string_data.as_ref().and_then(|m| m.get(k)) {
            return Some(Arc::clone(&v.0));
        }
        secret
            .data
            .as_ref()
            .and_then(|m| m.get(k))
            .map(|b| Arc::clone(&b.0))
    };
    match (get("tls.crt"), get("tls.key")) {
        (Some(c), Some(k)) if !c.is_empty() && !k.is_empty() => Ok((c, k)),
        (c, _) if c.as_ref().is_none_or(|c| c.is_empty()) => Err("has no tls.crt".to_string()),
        _ => Err("has no tls.key".to_string()),
    }
}

/// A bundle a TLS entry asks for, its Secret already read: what
/// `insert_bundle` puts into the table. Built where the entry is translated
/// (on any core); only the insertion, where first-writer-wins by stem is
/// decided, waits for the replay in the SPEC's order.
#[derive(Debug)]
pub struct Wanted {
    stem: String,
    /// The host names the bundle is requested for (may be wildcards).
    hosts: Vec<String>,
    cert_pem: Pem,
    key_pem: Pem,
    secret: Provenance,
    requested_by: Provenance,
    in_cluster: bool,
}

/// The certificate and key of the Secret `secret_ns/secret_name` and where
/// it is, or None with a diagnostic on the TLS entry `requested_by`.
fn read_secret(
    ctx: &mut Ctx<'_>,
    secret_ns: &str,
    secret_name: &str,
    requested_by: &Provenance,
) -> Option<(Pem, Pem, Provenance)> {
    let Some(secret) = ctx.secret(secret_ns, secret_name) else {
        if ctx.opts.secrets_in_cluster {
            ctx.push(diag_at(
                Code::TlsSecretInCluster,
                format!(
                    "TLS Secret {secret_ns}/{secret_name} is not in the input: the workload reads it from the cluster, and its certificate is not checked here"
                ),
                &requested_by.origin,
                &requested_by.field,
            ));
            // The Secret stands where the entry names it.
            let mut origin = (*requested_by.origin).clone();
            origin.kind = crate::model::Kind::Secret;
            origin.namespace = secret_ns.to_string();
            origin.name = secret_name.to_string();
            let none: Pem = Arc::from(Vec::new());
            let at = Provenance {
                origin: Arc::new(origin),
                field: FieldPath::root(),
            };
            return Some((Arc::clone(&none), none, at));
        };
        let d = diag_at(
            Code::TlsSecretNotFound,
            format!(
                "TLS Secret {secret_ns}/{secret_name} is not in the input; no certificate is written"
            ),
            &requested_by.origin,
            &requested_by.field,
        );
        let missing = (crate::model::Kind::Secret, secret_ns, secret_name);
        ctx.push(super::elsewhere(d, ctx.snap, missing));
        return None;
    };
    match tls_pair(&secret.value) {
        Ok((cert, key)) => Some((cert, key, provenance(secret))),
        Err(why) => {
            ctx.push(
                diag_at(
                    Code::TlsSecretInvalid,
                    format!(
                        "TLS Secret {secret_ns}/{secret_name} {why}; no certificate is written"
                    ),
                    &requested_by.origin,
                    &requested_by.field,
                )
                .related("the Secret", &secret.origin, &FieldPath::root()),
            );
            None
        }
    }
}

/// Puts a wanted bundle into the table under its stem: the first bundle
/// of a stem wins; a later one from the same Secret adds its hosts, one
/// from another Secret is reported.
pub fn insert_bundle(ctx: &mut Ctx<'_>, w: Wanted) {
    let Wanted {
        stem,
        hosts,
        cert_pem,
        key_pem,
        secret,
        requested_by,
        in_cluster,
    } = w;
    if let Some(existing) = ctx.table.certs.get_mut(&stem) {
        if existing.secret.origin == secret.origin {
            for h in hosts {
                if !existing.hosts.contains(&h) {
                    existing.hosts.push(h);
                }
            }
        } else {
            let kept = existing.requested_by.clone();
            let kept_secret = format!(
                "{}/{}",
                existing.secret.origin.namespace, existing.secret.origin.name
            );
            ctx.push(
                diag_at(
                    Code::CertificateConflict,
                    format!(
                        "certificate {stem} already comes from Secret {kept_secret}; Secret {}/{} is not used for it",
                        secret.origin.namespace, secret.origin.name
                    ),
                    &requested_by.origin,
                    &requested_by.field,
                )
                .related("the TLS entry that is kept", &kept.origin, &kept.field),
            );
        }
        return;
    }
    ctx.table.certs.insert(
        stem.clone(),
        CertBundle {
            stem,
            cert_pem,
            key_pem,
            secret,
            requested_by,
            hosts,
            in_cluster,
            unusable: false,
        },
    );
}

fn provenance(secret: &Obj<Secret>) -> Provenance {
    Provenance {
        origin: secret.origin.clone(),
        field: FieldPath::root(),
    }
}

/// Reads one TLS entry that lists `hosts` (already defaulted) and names
/// `secret_name` in `namespace`. Invalid host names were reported with
/// the rules; here they are only skipped.
pub fn project_entry(
    ctx: &mut Ctx<'_>,
    namespace: &str,
    secret_name: &str,
    hosts: &[String],
    origin: &Arc<Origin>,
    field: &FieldPath,
) {
    // Concrete hosts are stemmed by themselves; wildcards (and an entry
    // without hosts) share the Secret's stem.
    let mut stems: Vec<(String, Vec<String>)> = Vec::new();
    let mut secret_stem_hosts = Vec::new();
    for h in hosts {
        match classify_host(h) {
            // Already classified: its stem is the host itself.
            HostName::Concrete(c) => stems.push((sanitize_stem(&c), vec![c])),
            HostName::Wildcard(w) => secret_stem_hosts.push(w),
            HostName::Invalid => {}
        }
    }
    if !secret_stem_hosts.is_empty() || hosts.is_empty() {
        stems.push((stem_for(None, namespace, secret_name), secret_stem_hosts));
    }
    if stems.is_empty() {
        return;
    }
    let requested_by = Provenance {
        origin: origin.clone(),
        field: field.clone(),
    };
    if let Some(ns) = ctx.opts.workload_namespace.as_deref()
        && ns != namespace
    {
        let hosts: Vec<&str> = stems
            .iter()
            .flat_map(|(_, h)| h.iter().map(String::as_str))
            .collect();
        let hosts = if hosts.is_empty() {
            String::new()
        } else {
            format!(" for {}", hosts.join(", "))
        };
        ctx.push(diag_at(
            Code::SecretNotProjectable,
            format!(
                "TLS Secret {namespace}/{secret_name} is in namespace {namespace}, the workload in {ns}: a projected volume reads Secrets of its pod's namespace, so the certificate{hosts} is left out"
            ),
            origin,
            field,
        ));
        return;
    }
    let Some((cert_pem, key_pem, secret)) = read_secret(ctx, namespace, secret_name, &requested_by)
    else {
        return;
    };
    let in_cluster = cert_pem.is_empty() && ctx.secret(namespace, secret_name).is_none();
    for (stem, hosts) in stems {
        let wanted = Wanted {
            stem,
            hosts,
            cert_pem: Arc::clone(&cert_pem),
            key_pem: Arc::clone(&key_pem),
            secret: secret.clone(),
            requested_by: requested_by.clone(),
            in_cluster,
        };
        match &mut ctx.ops {
            Some(ops) => ops.push(super::Op::Bundle(Box::new(wanted))),
            None => insert_bundle(ctx, wanted),
        }
    }
}

/// Whether a certificate requested for `pattern` covers `host`.
pub fn covers(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .and_then(|p| p.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        None => pattern == host,
    }
}

/// Drops the hosts left without paths (a claim that lost leaves none),
/// sets `certificate:` on each other host — its own bundle, else the first
/// (by stem) bundle requested for a pattern that covers it (a wildcard, or
/// the host itself through a listener without hostname) — and returns how
/// many paths the hosts hold. One walk over the hosts for the three: each
/// walk of a 117k-host table misses the cache on most entries (a walk to
/// prune and count cost 9-12 ms at 50k apps before this one).
pub fn assign_certificates(table: &mut RouteTable) -> usize {
    let RouteTable { hosts, certs, .. } = table;
    // Index the patterns once: exact hosts, and wildcards by their suffix;
    // the first bundle (by stem) wins for each pattern.
    let mut exact: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut wildcard: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for b in certs.values() {
        for p in &b.hosts {
            match p.strip_prefix("*.") {
                Some(suffix) => wildcard.entry(suffix).or_insert(&b.stem),
                None => exact.entry(p.as_str()).or_insert(&b.stem),
            };
        }
    }
    // Hosts and stems are both in byte order: whether a host has a bundle
    // of its own is found by walking the stems alongside the hosts, not by
    // a search from the root of the bundles per host.
    let mut stems = certs.keys().peekable();
    let mut paths = 0;
    hosts.retain(|host, entry| {
        if entry.is_empty() {
            return false;
        }
        paths += entry.route_count();
        while stems.next_if(|s| s.as_str() < host.as_str()).is_some() {}
        let own_stem = stems.peek().is_some_and(|s| s.as_str() == host.as_str());
        entry.certificate = if own_stem {
            Some(host.to_string())
        } else {
            let own = exact.get(host.as_str()).copied();
            let parent = host.split_once('.').map(|(_, rest)| rest);
            // Of an exact and a wildcard pattern, the first stem wins, as
            // when scanning the bundles in order.
            let wild = parent.and_then(|p| wildcard.get(p).copied());
            match (own, wild) {
                (Some(a), Some(b)) => Some(a.min(b).to_string()),
                (a, b) => a.or(b).map(str::to_string),
            }
        };
        true
    });
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe() {
        assert_eq!(sanitize_stem("App.Example.com"), "app.example.com");
        assert_eq!(sanitize_stem("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(sanitize_stem(".hidden"), "_hidden");
        assert_eq!(sanitize_stem(""), "_");
        assert_eq!(stem_for(Some("*.example.com"), "shop", "wild"), "shop_wild");
        assert_eq!(stem_for(None, "shop", "w/x"), "shop_w_x");
    }

    #[test]
    fn wildcard_covers_one_label() {
        assert!(covers("*.example.com", "a.example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(covers("a.example.com", "a.example.com"));
    }
}
