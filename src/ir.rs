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
    /// The Service the address was resolved from, for a format that names
    /// Services instead of addresses (Pingress): set for its Ingress
    /// backends, None otherwise.
    pub service: Option<Arc<ServiceRef>>,
}

impl Server {
    /// A server known by its address alone.
    pub fn at(address: impl Into<String>, weight: Option<u32>) -> Server {
        Server {
            address: address.into(),
            weight,
            service: None,
        }
    }
}

/// A Service and the port number its backend resolved to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
    pub port: i32,
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
    /// A static redirect answered by Synapse itself (v2 only): the entry
    /// has no servers.
    pub redirect: Option<Box<Redirect>>,
    /// Headers added (appended) and removed (v2 only); `request_headers`
    /// and `response_headers` set (replace) them.
    pub transforms: Option<Box<Transforms>>,
}

/// A redirect whose location does not depend on the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub status: u16,
    pub location: String,
}

/// Header additions and removals, applied remove first, then add.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transforms {
    /// `Name:Value`, appended to what the request carries.
    pub request_add: Vec<String>,
    pub request_remove: Vec<String>,
    pub response_add: Vec<String>,
    pub response_remove: Vec<String>,
}

impl Transforms {
    pub fn is_empty(&self) -> bool {
        self.request_add.is_empty()
            && self.request_remove.is_empty()
            && self.response_add.is_empty()
            && self.response_remove.is_empty()
    }
}

/// How a route matches the request's path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathMatch {
    /// A path prefix at `/` boundaries, as a plain key (no trailing `/`).
    Prefix(String),
    /// The path itself, exactly.
    Exact(String),
    /// A regular expression as Synapse's engine reads it, anchored at the
    /// start of the path (`translate::regex`).
    Regex(String),
}

impl PathMatch {
    pub fn value(&self) -> &str {
        match self {
            PathMatch::Prefix(p) | PathMatch::Exact(p) | PathMatch::Regex(p) => p,
        }
    }
}

/// What a route matches: a path and, optionally, a method. Matches that
/// are not a plain prefix are expressed by v2's expression routes alone.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteMatch {
    pub path: PathMatch,
    pub method: Option<String>,
}

impl RouteMatch {
    pub fn prefix(key: impl Into<String>) -> RouteMatch {
        RouteMatch {
            path: PathMatch::Prefix(key.into()),
            method: None,
        }
    }

    /// The plain path key, when the match is a prefix and nothing else.
    pub fn plain_key(&self) -> Option<&str> {
        match (&self.path, &self.method) {
            (PathMatch::Prefix(p), None) => Some(p),
            _ => None,
        }
    }
}

/// `/a`, `/a (exact)`, `^/a (regex)`, with ` [GET]` for a method.
impl std::fmt::Display for RouteMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            PathMatch::Prefix(p) => f.write_str(p)?,
            PathMatch::Exact(p) => write!(f, "{p} (exact)")?,
            PathMatch::Regex(p) => write!(f, "{p} (regex)")?,
        }
        if let Some(m) = &self.method {
            write!(f, " [{m}]")?;
        }
        Ok(())
    }
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
    /// The order of the claim among all claims of the render (the SPEC's
    /// order of objects, then of their rules and matches): the last
    /// tie-breaker of v2's route precedence. Set by the table.
    pub seq: u32,
}

impl PathEntry {
    /// An entry whose order the table sets when it is claimed.
    pub fn new(
        servers: Arc<[Server]>,
        settings: Arc<PathSettings>,
        provenance: Provenance,
        conditional: bool,
    ) -> PathEntry {
        PathEntry {
            servers,
            settings,
            provenance,
            conditional,
            seq: 0,
        }
    }

    /// True when any server carries a weight: the `{address, weight}` form.
    pub fn weighted(&self) -> bool {
        self.servers.iter().any(|s| s.weight.is_some())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostEntry {
    /// The cert file stem Synapse should serve for this host.
    pub certificate: Option<String>,
    /// Routes by plain path prefix, the only kind v1 and 0.2 have.
    pub paths: SmallMap<String, PathEntry>,
    /// What only v2 says: routes by other matches, a passthrough. Boxed:
    /// most hosts have none, and a large table holds many hosts.
    pub extra: Option<Box<HostExtra>>,
}

/// The parts of a host that v2 alone can express.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostExtra {
    /// Routes a plain path key cannot say: exact and regex paths, method
    /// matches.
    pub routes: BTreeMap<RouteMatch, PathEntry>,
    /// The host is passed through as TLS (SNI-routed) to one server.
    pub passthrough: Option<Passthrough>,
}

/// A host whose TLS connections go to one server as they come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passthrough {
    /// `host:port`.
    pub upstream: String,
    pub provenance: Provenance,
}

impl HostEntry {
    /// The routes beyond plain prefixes (v2), if any.
    pub fn routes(&self) -> impl Iterator<Item = (&RouteMatch, &PathEntry)> {
        self.extra.iter().flat_map(|x| x.routes.iter())
    }

    pub fn passthrough(&self) -> Option<&Passthrough> {
        self.extra.as_ref().and_then(|x| x.passthrough.as_ref())
    }

    /// True when the host serves nothing: no route and no passthrough.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
            && self
                .extra
                .as_ref()
                .is_none_or(|x| x.routes.is_empty() && x.passthrough.is_none())
    }

    /// How many routes the host holds (plain paths and the others).
    pub fn route_count(&self) -> usize {
        self.paths.len() + self.extra.as_ref().map_or(0, |x| x.routes.len())
    }

    fn extra_mut(&mut self) -> &mut HostExtra {
        self.extra.get_or_insert_with(Box::default)
    }
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
    /// The Secret is not in the input but read from the cluster where the
    /// render is applied (`Options::secrets_in_cluster`): no PEM here, no
    /// file of its own, no check.
    pub in_cluster: bool,
    /// Set by the certificate checks: its certificate does not parse, or
    /// its key is none or not the certificate's. A proxy that loads every
    /// certificate at start (Pingress) would not start with it.
    pub unusable: bool,
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
    /// The hosts each internal (ACME solver) path was asked for, by path:
    /// v2 has no internal paths and routes a solver on its host.
    pub solver_hosts: BTreeMap<String, Vec<String>>,
    /// Set when a rendered object asked for sticky sessions; the first one.
    pub sticky_sessions: Option<Provenance>,
    /// By stem.
    pub certs: BTreeMap<String, CertBundle>,
    /// The `seq` of the next claim.
    pub next_seq: u32,
    /// The format the table was translated for: what its routes may hold,
    /// and how Synapse looks them up (`route`).
    pub target: crate::target::Target,
}

impl RouteTable {
    /// First writer wins, except that an unconditional entry displaces a
    /// conditional one (see SPEC "Order and conflicts").
    /// The keys are borrowed (`&str`, copied) or owned (a replayed
    /// claim's, moved in).
    pub fn claim<H, P>(&mut self, host: H, path: P, mut entry: PathEntry) -> Claim
    where
        H: Into<Box<str>>,
        P: AsRef<str> + Into<String>,
    {
        entry.seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
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

    pub fn claim_internal(&mut self, path: &str, mut entry: PathEntry) -> Claim {
        entry.seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        claim_in(&mut self.internal_paths, path, entry)
    }

    /// Claims a route by `m` on `host`: a plain prefix is a path key as
    /// `claim` makes it; any other match a route of its own (v2).
    pub fn claim_match(&mut self, host: &str, m: RouteMatch, mut entry: PathEntry) -> Claim {
        if let Some(key) = m.plain_key() {
            return self.claim(host, key, entry);
        }
        entry.seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        let key = |m: &RouteMatch| Conflict {
            host: host.to_string(),
            path: m.to_string(),
        };
        let h = self.hosts.entry(HostKey::new(host)).or_default();
        match h.extra_mut().routes.entry(m) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(entry);
                Claim::Inserted
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let k = key(o.key());
                decide(o.get_mut(), entry, k)
            }
        }
    }

    /// Makes `host` a passthrough host, unless it is one already (the
    /// first claim keeps it): returns the one that is kept otherwise.
    pub fn claim_passthrough(&mut self, host: &str, p: Passthrough) -> Result<(), Passthrough> {
        let h = self.hosts.entry(HostKey::new(host)).or_default();
        let slot = &mut h.extra_mut().passthrough;
        match slot {
            Some(existing) => Err(existing.clone()),
            None => {
                *slot = Some(p);
                Ok(())
            }
        }
    }
}

/// The outcome of a claim on a key that `existing` holds.
fn decide(existing: &mut PathEntry, entry: PathEntry, key: Conflict) -> Claim {
    if existing.conditional && !entry.conditional {
        let by = entry.provenance.clone();
        let old = std::mem::replace(existing, entry);
        Claim::Displaced {
            old: Box::new(old),
            by,
            key,
        }
    } else {
        Claim::Kept {
            existing: Box::new(existing.clone()),
            rejected: Box::new(entry),
            key,
        }
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
        Some(existing) => decide(existing, entry, key(path.as_ref())),
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
