//! The typed input: every object synroute uses, with where it came from.
//!
//! `Snapshot` holds the objects in sorted maps keyed by namespace/name, each
//! wrapped in `Obj` with its `Origin`. Nothing here knows about YAML text or
//! about Synapse's file format: loading fills it, translation reads it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock};

// The experimental channel's types are a superset of the standard ones:
// a valid object that uses a newer field or filter type still loads, and is
// then reported as unsupported instead of refused as malformed.
use gateway_api::experimental::gatewayclasses::GatewayClassSpec;
use gateway_api::experimental::gateways::GatewaySpec;
use gateway_api::experimental::grpcroutes::GrpcRouteSpec;
use gateway_api::experimental::httproutes::HttpRouteSpec;
use gateway_api::experimental::listenersets::ListenerSetSpec;
use gateway_api::experimental::referencegrants::ReferenceGrantSpec;
use k8s_openapi::ByteString;
use k8s_openapi::api::networking::v1::{IngressClassSpec, IngressSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Deserialize;

use crate::diag::{Diagnostic, ObjectRef};
use crate::smallmap::SmallMap;

/// The kinds synroute reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Ingress,
    IngressClass,
    Service,
    Secret,
    Namespace,
    GatewayClass,
    Gateway,
    HttpRoute,
    ReferenceGrant,
    ListenerSet,
    BackendTlsPolicy,
    TlsRoute,
    GrpcRoute,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ingress => "Ingress",
            Kind::IngressClass => "IngressClass",
            Kind::Service => "Service",
            Kind::Secret => "Secret",
            Kind::Namespace => "Namespace",
            Kind::GatewayClass => "GatewayClass",
            Kind::Gateway => "Gateway",
            Kind::HttpRoute => "HTTPRoute",
            Kind::ReferenceGrant => "ReferenceGrant",
            Kind::ListenerSet => "ListenerSet",
            Kind::BackendTlsPolicy => "BackendTLSPolicy",
            Kind::TlsRoute => "TLSRoute",
            Kind::GrpcRoute => "GRPCRoute",
        }
    }

    /// Cluster-scoped kinds have no namespace and survive `--namespace`.
    pub fn cluster_scoped(self) -> bool {
        matches!(
            self,
            Kind::IngressClass | Kind::Namespace | Kind::GatewayClass
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The byte range of one document inside one source, for locating fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocSpan {
    pub source: usize,
    pub start: usize,
    pub end: usize,
    /// 1-based line of `start` in the source.
    pub first_line: u32,
    /// Set when the document is an item of a `kind: List`: the item index.
    pub list_item: Option<usize>,
}

/// Where an object came from: the file as given, the line its document
/// starts on, and its identity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u32,
    pub kind: Kind,
    /// Empty for cluster-scoped kinds.
    pub namespace: String,
    pub name: String,
    pub doc: DocSpan,
    /// The file this object was rendered from, when the input says so
    /// (helm's `# Source:` comment, kustomize's `config.kubernetes.io/origin`
    /// annotation), with the input line that is line 1 of that file.
    pub source: Option<(Arc<str>, u32)>,
    /// The object names no `metadata.namespace`: its namespace is
    /// `default` (or `--namespace`), as `kubectl apply` would place it —
    /// though a kustomization may set another when it is built.
    pub namespace_unset: bool,
}

impl Origin {
    /// An origin at line 1 of `t.yaml`, for tables built by hand (tests,
    /// examples): no document to locate fields in.
    #[doc(hidden)]
    pub fn stand_in(kind: Kind, namespace: &str, name: &str) -> Origin {
        Origin {
            file: "t.yaml".into(),
            line: 1,
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            doc: DocSpan {
                source: 0,
                start: 0,
                end: 0,
                first_line: 1,
                list_item: None,
            },
            source: None,
            namespace_unset: false,
        }
    }

    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.as_str().to_string(),
            namespace: if self.kind.cluster_scoped() {
                None
            } else {
                Some(self.namespace.clone())
            },
            name: self.name.clone(),
        }
    }

    /// `Kind ns/name`, for messages.
    pub fn describe(&self) -> String {
        self.object_ref().to_string()
    }
}

/// One step of a field path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A path to a field inside an object, printed as
/// `spec.rules[0].http.paths[1]` or `metadata.annotations["a/b"]`.
///
/// Every table entry and diagnostic carries one, so it is kept compact:
/// one allocation of the steps encoded back to back — a key as its UTF-8
/// bytes and `KEY_END`, an index as `INDEX` and a LEB128 number (neither
/// marker byte occurs in UTF-8). The root path allocates nothing.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Box<[u8]>);

const KEY_END: u8 = 0xFF;
const INDEX: u8 = 0xFE;

impl FieldPath {
    pub fn root() -> FieldPath {
        FieldPath::default()
    }

    fn with(&self, extra: usize, push: impl FnOnce(&mut Vec<u8>)) -> FieldPath {
        let mut v = Vec::with_capacity(self.0.len() + extra);
        v.extend_from_slice(&self.0);
        push(&mut v);
        FieldPath(v.into_boxed_slice())
    }

    pub fn key(&self, k: impl AsRef<str>) -> FieldPath {
        let k = k.as_ref();
        self.with(k.len() + 1, |v| push_key(v, k))
    }

    pub fn idx(&self, i: usize) -> FieldPath {
        // The marker and the LEB128 bytes, exactly: no shrinking copy.
        let len = 1 + (usize::BITS - (i | 1).leading_zeros()).div_ceil(7) as usize;
        self.with(len, |v| push_index(v, i))
    }

    /// Builds a path from dotted keys: `FieldPath::of(&["spec", "rules"])`.
    pub fn of(keys: &[&str]) -> FieldPath {
        let mut v = Vec::with_capacity(keys.iter().map(|k| k.len() + 1).sum());
        for k in keys {
            push_key(&mut v, k);
        }
        FieldPath(v.into_boxed_slice())
    }

    /// This path followed by `rest`.
    pub fn join(&self, rest: &FieldPath) -> FieldPath {
        self.with(rest.0.len(), |v| v.extend_from_slice(&rest.0))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The steps, from the object's root.
    pub fn segs(&self) -> Segs<'_> {
        Segs(&self.0)
    }
}

fn push_key(v: &mut Vec<u8>, k: &str) {
    v.extend_from_slice(k.as_bytes());
    v.push(KEY_END);
}

fn push_index(v: &mut Vec<u8>, mut i: usize) {
    v.push(INDEX);
    loop {
        let low = (i & 0x7F) as u8;
        i >>= 7;
        if i == 0 {
            v.push(low);
            return;
        }
        v.push(low | 0x80);
    }
}

/// The steps of a `FieldPath`.
pub struct Segs<'a>(&'a [u8]);

impl<'a> Iterator for Segs<'a> {
    type Item = Seg<'a>;

    fn next(&mut self) -> Option<Seg<'a>> {
        let (&first, rest) = self.0.split_first()?;
        if first == INDEX {
            let (mut n, mut shift, mut used) = (0usize, 0u32, 0);
            for &b in rest {
                used += 1;
                n |= usize::from(b & 0x7F).checked_shl(shift).unwrap_or(0);
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            self.0 = rest.get(used..).unwrap_or_default();
            return Some(Seg::Index(n));
        }
        let end = self
            .0
            .iter()
            .position(|&b| b == KEY_END)
            .unwrap_or(self.0.len());
        let (key, rest) = self.0.split_at(end);
        self.0 = rest.get(1..).unwrap_or_default();
        // Keys are written from `&str` and cut at a byte UTF-8 never holds.
        Some(Seg::Key(std::str::from_utf8(key).unwrap_or_default()))
    }
}

impl PartialOrd for FieldPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Step by step, as the paths read (not by their encoding).
impl Ord for FieldPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.segs().cmp(other.segs())
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({self})")
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in self.segs() {
            match seg {
                Seg::Index(i) => write!(f, "[{i}]")?,
                Seg::Key(k) => {
                    let plain = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if !plain {
                        write!(f, "[{k:?}]")?;
                    } else if first {
                        f.write_str(k)?;
                    } else {
                        write!(f, ".{k}")?;
                    }
                }
            }
            first = false;
        }
        Ok(())
    }
}

/// A typed object and where it came from.
#[derive(Clone, Debug)]
pub struct Obj<T> {
    /// Shared with every table entry and diagnostic that points at it.
    pub origin: Arc<Origin>,
    pub value: T,
}

/// What synroute keeps of an object's metadata: the fields the render
/// reads. Everything else (managedFields, ownerReferences, …) is skipped
/// by the parser without being built.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub annotations: Option<SmallMap<String, String>>,
    pub labels: Option<SmallMap<String, String>>,
    pub creation_timestamp: Option<Time>,
}

/// An object as synroute keeps it: its metadata and its spec, nothing of
/// its status. The Gateway API kinds are read through their spec types, so
/// that every served version (v1, v1beta1, the x-k8s.io ListenerSet) shares
/// one shape.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Resource<S> {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default = "Option::default")]
    pub spec: Option<S>,
}

/// The part of a Service's spec that routing reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub ports: Option<Vec<ServicePort>>,
    pub external_name: Option<String>,
}

/// The part of a Service port that routing reads: a backend names a port
/// by number or by name. (The other fields are skipped by the parser.)
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i32,
}

/// A Secret as synroute keeps it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub data: Option<SmallMap<String, SharedBytes>>,
    pub string_data: Option<SmallMap<String, SharedText>>,
}

/// A value of a Secret's `stringData`, kept as bytes shared like
/// `SharedBytes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedText(pub Arc<[u8]>);

impl<'de> Deserialize<'de> for SharedText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(SharedText(Arc::from(text.into_bytes())))
    }
}

/// Bytes of a Secret's `data` (base64 in the manifest), shared with the
/// certificate bundles and files made from them instead of copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedBytes(pub Arc<[u8]>);

impl<'de> Deserialize<'de> for SharedBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ByteString(bytes) = ByteString::deserialize(d)?;
        Ok(SharedBytes(Arc::from(bytes)))
    }
}

pub type Ingress = Resource<IngressSpec>;
pub type IngressClass = Resource<IngressClassSpec>;
pub type Service = Resource<ServiceSpec>;
pub type Namespace = Resource<serde::de::IgnoredAny>;

pub type GatewayClass = Resource<GatewayClassSpec>;
pub type Gateway = Resource<GatewaySpec>;
pub type HttpRoute = Resource<HttpRouteSpec>;
pub type ReferenceGrant = Resource<ReferenceGrantSpec>;
pub type ListenerSet = Resource<ListenerSetSpec>;
pub type BackendTlsPolicy = Resource<BackendTlsPolicySpec>;
pub type TlsRoute = Resource<TlsRouteSpec>;
/// GRPCRoute v1 and v1alpha2 alike (the same shape).
pub type GrpcRoute = Resource<GrpcRouteSpec>;

/// A TLSRoute as synroute reads it (v1, v1alpha3, v1alpha2 alike): every
/// field optional, so that the alpha versions, which do not require
/// hostnames, load.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsRouteSpec {
    #[serde(default)]
    pub hostnames: Vec<String>,
    #[serde(default)]
    pub parent_refs: Vec<ParentRef>,
    #[serde(default)]
    pub rules: Vec<TlsRouteRule>,
}

/// A route's parentRef, in one shape for every route kind.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: String,
    pub section_name: Option<String>,
    pub port: Option<i32>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsRouteRule {
    #[serde(default)]
    pub backend_refs: Vec<TlsBackendRef>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsBackendRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub name: String,
    pub namespace: Option<String>,
    pub port: Option<i32>,
    pub weight: Option<i32>,
}

/// What synroute reads of a BackendTLSPolicy: the Services it applies to
/// (it does not apply the policy, and says so where a route uses one).
/// The rest of the spec is not read, so that a policy the API server
/// would reject does not stop a render.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendTlsPolicySpec {
    #[serde(default)]
    pub target_refs: Vec<TargetRef>,
}

/// An object of a kind synroute does not read that names Gateway API
/// objects: a route of another kind (TCPRoute, UDPRoute, a vendor's) by
/// its parentRefs, a policy by its targetRefs (or targetRef). Read
/// generically — its kind, names, references and where they are — so that
/// one aimed at a Synapse Gateway, route or backend is said, never
/// dropped in silence.
#[derive(Clone, Debug, Default)]
pub struct Attaching {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub file: Arc<str>,
    /// The document's first line that holds content.
    pub line: u32,
    /// Each parentRef, with its line and column in the file.
    pub parents: Vec<(ParentRef, u32, u32)>,
    /// Each targetRef, with its line and column in the file.
    pub targets: Vec<(TargetRef, u32, u32)>,
}

/// A policy's target, in one shape for every policy kind.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    pub namespace: Option<String>,
    pub section_name: Option<String>,
}

/// Namespace and name; the key of every map in the snapshot.
pub type Key = (String, String);

/// A namespace/name pair as a map keyed by `Key` compares it, so that a
/// lookup can borrow the two strings instead of copying them into a `Key`
/// (`by_key`).
pub trait KeyRef {
    fn parts(&self) -> (&str, &str);
}

impl KeyRef for Key {
    fn parts(&self) -> (&str, &str) {
        (&self.0, &self.1)
    }
}

impl KeyRef for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn KeyRef + 'a> for Key {
    fn borrow(&self) -> &(dyn KeyRef + 'a) {
        self
    }
}

impl PartialEq for dyn KeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn KeyRef + '_ {}

impl PartialOrd for dyn KeyRef + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The order of `Key`: namespace, then name.
impl Ord for dyn KeyRef + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

/// The entry of `namespace/name` in a snapshot map, without building a
/// `Key` (two string copies) for the lookup.
pub fn by_key<'m, V>(map: &'m BTreeMap<Key, V>, namespace: &str, name: &str) -> Option<&'m V> {
    map.get(&(namespace, name) as &dyn KeyRef)
}

/// Hash indexes of a snapshot's Services and Secrets, built once per
/// render: every backend and every TLS entry looks one up, and a search of
/// the ordered maps misses the cache at nearly every step once they hold
/// tens of thousands of names. Answers as `by_key` on the maps does.
pub struct Lookup<'s> {
    services: HashMap<(&'s str, &'s str), &'s Obj<Service>>,
    secrets: HashMap<(&'s str, &'s str), &'s Obj<Secret>>,
}

impl<'s> Lookup<'s> {
    pub fn new(snap: &'s Snapshot) -> Lookup<'s> {
        fn index<V>(map: &BTreeMap<Key, V>) -> HashMap<(&str, &str), &V> {
            map.iter()
                .map(|((ns, name), v)| ((ns.as_str(), name.as_str()), v))
                .collect()
        }
        Lookup {
            services: index(&snap.services),
            secrets: index(&snap.secrets),
        }
    }

    pub fn service(&self, namespace: &str, name: &str) -> Option<&'s Obj<Service>> {
        // The map is covariant in its keys: looked up with shorter borrows.
        let map: &HashMap<(&str, &str), &'s Obj<Service>> = &self.services;
        map.get(&(namespace, name)).copied()
    }

    pub fn secret(&self, namespace: &str, name: &str) -> Option<&'s Obj<Secret>> {
        let map: &HashMap<(&str, &str), &'s Obj<Secret>> = &self.secrets;
        map.get(&(namespace, name)).copied()
    }
}

/// Objects by kind and name, across namespaces.
pub type ByKindAndName = HashMap<(Kind, String), Vec<Arc<Origin>>>;

/// Every object of the input that synroute uses, sorted by namespace/name.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Ingresses and HTTPRoutes are translated as they are read
    /// (`load::load_pending`); only their metadata stays.
    pub ingresses: BTreeMap<Key, Obj<Meta>>,
    pub ingress_classes: BTreeMap<Key, Obj<IngressClass>>,
    /// Services and Secrets keep of their metadata only the creationTimestamp
    /// and the ignore annotation (their name and namespace are in the origin).
    pub services: BTreeMap<Key, Obj<Service>>,
    pub secrets: BTreeMap<Key, Obj<Secret>>,
    pub namespaces: BTreeMap<Key, Obj<Namespace>>,
    pub gateway_classes: BTreeMap<Key, Obj<GatewayClass>>,
    pub gateways: BTreeMap<Key, Obj<Gateway>>,
    pub http_routes: BTreeMap<Key, Obj<Meta>>,
    pub reference_grants: BTreeMap<Key, Obj<ReferenceGrant>>,
    pub listener_sets: BTreeMap<Key, Obj<ListenerSet>>,
    pub backend_tls_policies: BTreeMap<Key, Obj<BackendTlsPolicy>>,
    pub tls_routes: BTreeMap<Key, Obj<TlsRoute>>,
    pub grpc_routes: BTreeMap<Key, Obj<GrpcRoute>>,
    /// Objects of other kinds that name Gateway API objects (`Attaching`),
    /// in input order.
    pub attaching: Vec<Attaching>,
    /// Gateways, ListenerSets, Services and Secrets by kind and name, in
    /// every namespace (`same_name`); built on first use.
    pub same_name: OnceLock<ByKindAndName>,
}

impl Snapshot {
    /// How many objects of each kind are in the snapshot.
    pub fn len(&self) -> usize {
        self.ingresses.len()
            + self.ingress_classes.len()
            + self.services.len()
            + self.secrets.len()
            + self.namespaces.len()
            + self.gateway_classes.len()
            + self.gateways.len()
            + self.http_routes.len()
            + self.reference_grants.len()
            + self.listener_sets.len()
            + self.backend_tls_policies.len()
            + self.tls_routes.len()
            + self.grpc_routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The objects of `kind` named `name` in any namespace, by namespace:
    /// for the hint on a reference into a namespace that does not hold
    /// it. The index is built on the first call, once per snapshot, so a
    /// tree of many dangling references costs one pass, not one each.
    pub fn same_name(&self, kind: Kind, name: &str) -> &[Arc<Origin>] {
        fn add<T>(m: &mut ByKindAndName, map: &BTreeMap<Key, Obj<T>>) {
            for o in map.values() {
                m.entry((o.origin.kind, o.origin.name.clone()))
                    .or_default()
                    .push(o.origin.clone());
            }
        }
        let index = self.same_name.get_or_init(|| {
            let mut m = HashMap::new();
            add(&mut m, &self.gateways);
            add(&mut m, &self.listener_sets);
            add(&mut m, &self.services);
            add(&mut m, &self.secrets);
            m
        });
        index
            .get(&(kind, name.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// Every object's origin and metadata, kind by kind.
    pub fn metas(&self) -> Vec<(&Arc<Origin>, &Meta)> {
        fn of<T>(
            map: &BTreeMap<Key, Obj<T>>,
            meta: impl Fn(&T) -> &Meta,
        ) -> impl Iterator<Item = (&Arc<Origin>, &Meta)> {
            map.values().map(move |o| (&o.origin, meta(&o.value)))
        }
        let mut v: Vec<(&Arc<Origin>, &Meta)> = Vec::new();
        v.extend(of(&self.ingresses, |m| m));
        v.extend(of(&self.ingress_classes, |o| &o.metadata));
        v.extend(of(&self.services, |o| &o.metadata));
        v.extend(of(&self.secrets, |o| &o.metadata));
        v.extend(of(&self.namespaces, |o| &o.metadata));
        v.extend(of(&self.gateway_classes, |o| &o.metadata));
        v.extend(of(&self.gateways, |o| &o.metadata));
        v.extend(of(&self.http_routes, |m| m));
        v.extend(of(&self.reference_grants, |o| &o.metadata));
        v.extend(of(&self.listener_sets, |o| &o.metadata));
        v.extend(of(&self.backend_tls_policies, |o| &o.metadata));
        v.extend(of(&self.tls_routes, |o| &o.metadata));
        v.extend(of(&self.grpc_routes, |o| &o.metadata));
        v
    }
}

/// Builds a diagnostic anchored at an object (its document's first line).
/// The line is refined to the field's own line after translation.
pub fn diag_at(
    code: crate::diag::Code,
    message: impl Into<String>,
    origin: &Arc<Origin>,
    field: &FieldPath,
) -> Anchored {
    Anchored {
        diag: Diagnostic {
            object: Some(origin.object_ref()),
            field: (!field.is_root()).then(|| field.to_string()),
            ..Diagnostic::new(code, message)
        },
        anchor: Some((origin.clone(), field.clone())),
        related_anchors: Vec::new(),
    }
}

/// A diagnostic still holding the object and field it is about, so that its
/// location can be resolved against the source text later.
#[derive(Clone, Debug)]
pub struct Anchored {
    pub diag: Diagnostic,
    pub anchor: Option<(Arc<Origin>, FieldPath)>,
    /// Anchors of `diag.related`, in the same order.
    pub related_anchors: Vec<Option<(Arc<Origin>, FieldPath)>>,
}

impl Anchored {
    /// A diagnostic whose location is already known (loading errors).
    pub fn plain(diag: Diagnostic) -> Anchored {
        Anchored {
            diag,
            anchor: None,
            related_anchors: Vec::new(),
        }
    }

    pub fn related(
        mut self,
        message: impl Into<String>,
        origin: &Arc<Origin>,
        field: &FieldPath,
    ) -> Anchored {
        self.diag.related.push(crate::diag::Related {
            message: message.into(),
            location: None,
            object: Some(origin.object_ref()),
            field: (!field.is_root()).then(|| field.to_string()),
        });
        self.related_anchors
            .push(Some((origin.clone(), field.clone())));
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Anchored {
        self.diag.hint = Some(hint.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The hash indexes find exactly what the ordered maps hold.
    #[test]
    fn lookup_answers_as_the_maps() {
        let yaml = "\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
---
apiVersion: v1
kind: Secret
metadata: {name: web, namespace: blog}
type: kubernetes.io/tls
stringData: {tls.crt: x, tls.key: y}
";
        let rendered = crate::render(
            &[crate::Source::new("a.yaml", yaml)],
            &crate::Options::default(),
        );
        let snap = &rendered.snapshot;
        let lookup = Lookup::new(snap);
        let names = ["web", "api", "db", ""];
        for ns in ["shop", "blog", "other", ""] {
            for name in names {
                let (svc, sec) = (lookup.service(ns, name), lookup.secret(ns, name));
                assert_eq!(
                    svc.map(|o| &o.origin),
                    by_key(&snap.services, ns, name).map(|o| &o.origin)
                );
                assert_eq!(
                    sec.map(|o| &o.origin),
                    by_key(&snap.secrets, ns, name).map(|o| &o.origin)
                );
            }
        }
        assert!(lookup.service("shop", "api").is_some());
        assert!(lookup.secret("blog", "web").is_some());
        assert!(lookup.secret("shop", "web").is_none());
    }

    /// A step as the old representation held it, to build paths from.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Step {
        Key(String),
        Index(usize),
    }

    fn build(steps: &[Step]) -> FieldPath {
        steps.iter().fold(FieldPath::root(), |p, s| match s {
            Step::Key(k) => p.key(k),
            Step::Index(i) => p.idx(*i),
        })
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            ".{0,12}".prop_map(Step::Key),
            any::<usize>().prop_map(Step::Index),
            (0usize..300).prop_map(Step::Index),
        ]
    }

    proptest! {
        /// A borrowed lookup finds exactly what the owned key finds, in a
        /// map whose keys share prefixes across the namespace/name split.
        #[test]
        fn by_key_finds_what_the_owned_key_finds(
            keys in proptest::collection::vec(("[ab]{0,3}", "[ab]{0,3}"), 0..40),
            probes in proptest::collection::vec(("[ab]{0,3}", "[ab]{0,3}"), 1..20),
        ) {
            let map: BTreeMap<Key, usize> =
                keys.into_iter().enumerate().map(|(i, k)| (k, i)).collect();
            for (ns, name) in probes {
                prop_assert_eq!(
                    by_key(&map, &ns, &name),
                    map.get(&(ns.clone(), name.clone()))
                );
            }
        }

        /// The encoding gives back every step it was built from (keys of
        /// any text, indexes of any size), and orders paths as their steps.
        #[test]
        fn steps_round_trip(a in prop::collection::vec(step(), 0..8), b in prop::collection::vec(step(), 0..8)) {
            let (pa, pb) = (build(&a), build(&b));
            let back: Vec<Step> = pa.segs().map(|s| match s {
                Seg::Key(k) => Step::Key(k.to_string()),
                Seg::Index(i) => Step::Index(i),
            }).collect();
            prop_assert_eq!(&back, &a);
            prop_assert_eq!(pa.cmp(&pb), a.cmp(&b));
            prop_assert_eq!(pa == pb, a == b);
            prop_assert_eq!(pa.join(&pb).segs().count(), a.len() + b.len());
        }
    }

    #[test]
    fn prints_as_written() {
        let p = FieldPath::of(&["spec", "rules"])
            .idx(0)
            .key("http")
            .key("paths")
            .idx(129);
        assert_eq!(p.to_string(), "spec.rules[0].http.paths[129]");
        let a = FieldPath::of(&["metadata", "annotations"]).key("a/b");
        assert_eq!(a.to_string(), "metadata.annotations[\"a/b\"]");
        assert!(FieldPath::root().is_root());
        assert_eq!(FieldPath::root().to_string(), "");
    }
}
