//! The route table: what Synapse will serve, as plain data with provenance.
//!
//! Hosts → paths → entries, internal (ACME) paths, and certificate bundles.
//! Every translator (Ingress, Gateway API) writes here through `claim`, the
//! one place where the first-writer-wins rule lives; every emitter and the
//! `explain` lookup read from here. It knows nothing of YAML or of the
//! Kubernetes types.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{FieldPath, Origin};
use crate::smallmap::SmallMap;

/// Where a piece of the table came from: an object and one of its fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub origin: Arc<Origin>,
    pub field: FieldPath,
}

/// One upstream server of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// `host:port`.
    pub address: String,
    /// Set only in weighted pools.
    pub weight: Option<u32>,
}

/// Per-path settings, from annotations or Gateway API filters.
/// `None` means "not set" and is not written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathSettings {
    /// Always written: Synapse reads a missing `ssl_enabled` as `true`.
    pub ssl_enabled: bool,
    pub http2_enabled: Option<bool>,
    pub https_proxy_enabled: Option<bool>,
    pub connect_timeout: Option<u64>,
    pub read_timeout: Option<u64>,
    pub write_timeout: Option<u64>,
    pub idle_timeout: Option<u64>,
    pub healthcheck: Option<bool>,
    pub disable_access_log: Option<bool>,
    pub request_headers: Vec<String>,
    pub response_headers: Vec<String>,
}

/// One (host, path) of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathEntry {
    /// Shared by the entries of one object that reach the same backends
    /// (the paths and hosts of one Ingress mostly do).
    pub servers: Arc<[Server]>,
    /// Shared by the entries of one object (its annotations, its filters).
    pub settings: Arc<PathSettings>,
    /// The object and field (the Ingress path, the HTTPRoute match) that
    /// claimed this entry.
    pub provenance: Provenance,
    /// The claim came from a match whose header/query/method conditions
    /// were dropped; an unconditional claim displaces it.
    pub conditional: bool,
}

impl PathEntry {
    /// True when any server carries a weight: the `{address, weight}` form.
    pub fn weighted(&self) -> bool {
        self.servers.iter().any(|s| s.weight.is_some())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostEntry {
    /// The cert file stem Synapse should serve for this host.
    pub certificate: Option<String>,
    pub paths: SmallMap<String, PathEntry>,
}

/// A certificate and key to be written as `<stem>.crt` / `<stem>.key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertBundle {
    pub stem: String,
    /// Shared with the Secret it was read from and the files written.
    pub cert_pem: Arc<[u8]>,
    pub key_pem: Arc<[u8]>,
    /// The Secret the bundle was read from.
    pub secret: Provenance,
    /// The TLS entry (Ingress `spec.tls[i]`, listener certificateRef) that
    /// asked for it.
    pub requested_by: Provenance,
    /// The host names this bundle was requested for (may be wildcards).
    pub hosts: Vec<String>,
}

/// The result of a claim on (host, path).
#[derive(Debug)]
pub enum Claim {
    /// The entry is now in the table.
    Inserted,
    /// Another entry holds the key and keeps it: a copy of it, and the
    /// entry that was not taken.
    Kept {
        existing: Box<PathEntry>,
        rejected: Box<PathEntry>,
        key: Conflict,
    },
    /// The new entry (whose provenance is `by`) displaced a conditional
    /// one, which is returned.
    Displaced {
        old: Box<PathEntry>,
        by: Provenance,
        key: Conflict,
    },
}

/// The host (empty for an internal path) and path two claims met on.
#[derive(Debug)]
pub struct Conflict {
    pub host: String,
    pub path: String,
}

/// A host name as a key of the route table: its first 16 bytes as a
/// number, then the whole name. Keys order exactly as their names do (a
/// number that differs decides as the bytes would; zero padding puts a
/// shorter name first), but a search through tens of thousands of hosts
/// compares numbers held in the tree's own nodes and follows a key to its
/// text only when the first 16 bytes agree: with `String` keys every
/// compare read a name from elsewhere in the heap, which misses the cache
/// once the table outgrows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostKey {
    prefix: u128,
    name: Box<str>,
}

impl HostKey {
    pub fn new(name: impl Into<Box<str>>) -> HostKey {
        let name = name.into();
        let mut bytes = [0u8; 16];
        for (b, n) in bytes.iter_mut().zip(name.bytes()) {
            *b = n;
        }
        HostKey {
            prefix: u128::from_be_bytes(bytes),
            name,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl Ord for HostKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.name.cmp(&other.name))
    }
}

impl PartialOrd for HostKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::ops::Deref for HostKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTable {
    pub hosts: BTreeMap<HostKey, HostEntry>,
    pub internal_paths: SmallMap<String, PathEntry>,
    /// Set when a rendered object asked for sticky sessions; the first one.
    pub sticky_sessions: Option<Provenance>,
    /// By stem.
    pub certs: BTreeMap<String, CertBundle>,
}

impl RouteTable {
    /// First writer wins, except that an unconditional entry displaces a
    /// conditional one (see SPEC "Order and conflicts").
    /// The keys are borrowed (`&str`, copied) or owned (a replayed
    /// claim's, moved in).
    pub fn claim<H, P>(&mut self, host: H, path: P, entry: PathEntry) -> Claim
    where
        H: Into<Box<str>>,
        P: AsRef<str> + Into<String>,
    {
        match self.hosts.entry(HostKey::new(host.into())) {
            std::collections::btree_map::Entry::Occupied(mut h) => {
                let mut claim = claim_in(&mut h.get_mut().paths, path, entry);
                if let Claim::Kept { key, .. } | Claim::Displaced { key, .. } = &mut claim {
                    key.host = h.key().as_str().to_string();
                }
                claim
            }
            // A new host: the claim is an insertion.
            std::collections::btree_map::Entry::Vacant(v) => {
                claim_in(&mut v.insert(HostEntry::default()).paths, path, entry)
            }
        }
    }

    /// The entry of `host`, if the table serves it.
    pub fn host(&self, host: &str) -> Option<&HostEntry> {
        self.hosts.get(&HostKey::new(host))
    }

    pub fn host_mut(&mut self, host: &str) -> Option<&mut HostEntry> {
        self.hosts.get_mut(&HostKey::new(host))
    }

    pub fn claim_internal(&mut self, path: &str, entry: PathEntry) -> Claim {
        claim_in(&mut self.internal_paths, path, entry)
    }
}

/// A claim on `path` among one host's paths; a conflict's key names no
/// host (the caller that knows it fills it in).
fn claim_in<P: AsRef<str> + Into<String>>(
    paths: &mut SmallMap<String, PathEntry>,
    path: P,
    entry: PathEntry,
) -> Claim {
    let key = |path: &str| Conflict {
        host: String::new(),
        path: path.to_string(),
    };
    match paths.get_mut(path.as_ref()) {
        None => {
            paths.insert(path.into(), entry);
            Claim::Inserted
        }
        Some(existing) if existing.conditional && !entry.conditional => {
            let by = entry.provenance.clone();
            let old = std::mem::replace(existing, entry);
            Claim::Displaced {
                old: Box::new(old),
                by,
                key: key(path.as_ref()),
            }
        }
        Some(existing) => Claim::Kept {
            existing: Box::new(existing.clone()),
            rejected: Box::new(entry),
            key: key(path.as_ref()),
        },
    }
}

/// A route condition as a Gateway API controller would set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// `Accepted` or `ResolvedRefs`.
    pub kind: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

/// The status of one route for one of its parentRefs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteStatus {
    pub route: Arc<crate::model::Origin>,
    /// The parentRef, as `Gateway ns/name` or `ListenerSet ns/name`, with
    /// `/sectionName` or `:port` when given.
    pub parent: String,
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Host keys order as their names: the table's hosts, and so
        /// upstreams.yaml, come out in the same order as with `String` keys.
        #[test]
        fn host_keys_order_as_their_names(
            a in "[a-c.\\-\u{0}é]{0,20}",
            b in "[a-c.\\-\u{0}é]{0,20}",
            shared in "[a-z.]{0,18}",
        ) {
            let (a, b) = (format!("{shared}{a}"), format!("{shared}{b}"));
            let (ka, kb) = (HostKey::new(a.as_str()), HostKey::new(b.as_str()));
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            prop_assert_eq!(ka == kb, a == b);
            prop_assert_eq!(ka.as_str(), a.as_str());
        }
    }
}
