//! The snapshot's maps by kind, filled in input order: a second object of
//! the same kind, namespace and name is reported (SR1005) and the first
//! kept.
//!
//! It reads no text: objects come in parsed, with their origins.

#[allow(unused_imports)]
use super::*;

/// The first pass's objects by kind, in input order, as `load` gathers
/// them from the documents' outcomes.
#[derive(Default)]
pub(crate) struct Kinds {
    pub(super) ingresses: Vec<(Arc<Origin>, Meta, ())>,
    pub(super) ingress_classes: Vec<(Arc<Origin>, IngressClass, ())>,
    pub(super) services: Vec<(Arc<Origin>, Service, ())>,
    pub(super) secrets: Vec<(Arc<Origin>, Secret, ())>,
    pub(super) namespaces: Vec<(Arc<Origin>, Namespace, ())>,
    pub(super) gateway_classes: Vec<(Arc<Origin>, GatewayClass, ())>,
    pub(super) gateways: Vec<(Arc<Origin>, Gateway, ())>,
    pub(super) http_routes: Vec<(Arc<Origin>, Meta, ())>,
    pub(super) reference_grants: Vec<(Arc<Origin>, ReferenceGrant, ())>,
    pub(super) listener_sets: Vec<(Arc<Origin>, ListenerSet, ())>,
    pub(super) backend_tls_policies: Vec<(Arc<Origin>, BackendTlsPolicy, ())>,
    pub(super) tls_routes: Vec<(Arc<Origin>, TlsRoute, ())>,
    pub(super) grpc_routes: Vec<(Arc<Origin>, GrpcRoute, ())>,
}

impl Kinds {
    pub(super) fn extend(&mut self, objects: Vec<(Object, Arc<Origin>)>) {
        for (obj, origin) in objects {
            match obj {
                // Ingresses and HTTPRoutes never get here (see `load`).
                Object::Ingress(v) => self.ingresses.push((origin, v.metadata, ())),
                Object::IngressClass(v) => self.ingress_classes.push((origin, v, ())),
                // Their metadata was slimmed where they were read (`slim`).
                Object::Service(v) => self.services.push((origin, *v, ())),
                Object::Secret(v) => self.secrets.push((origin, *v, ())),
                Object::Namespace(v) => self.namespaces.push((origin, v, ())),
                Object::GatewayClass(v) => self.gateway_classes.push((origin, v, ())),
                Object::Gateway(v) => self.gateways.push((origin, *v, ())),
                Object::HttpRoute(v) => self.http_routes.push((origin, v.metadata, ())),
                Object::ReferenceGrant(v) => self.reference_grants.push((origin, v, ())),
                Object::ListenerSet(v) => self.listener_sets.push((origin, *v, ())),
                Object::BackendTlsPolicy(v) => self.backend_tls_policies.push((origin, v, ())),
                Object::TlsRoute(v) => self.tls_routes.push((origin, *v, ())),
                Object::GrpcRoute(v) => self.grpc_routes.push((origin, *v, ())),
            }
        }
    }

    /// Puts every kind into its map of the snapshot, each map built from
    /// its sorted identities (`fill`): put one by one, the 50k Services of
    /// a large input each entered a tree at a random place, shifting its
    /// entries over and missing the cache on the way. With more than one
    /// job the Services' map, most of this work in a large input, is built
    /// on a thread of its own meanwhile, and the main thread does `also`
    /// once it has built the others.
    pub(crate) fn insert(self, loaded: &mut Loaded, jobs: usize, also: impl FnOnce()) {
        let Kinds {
            ingresses,
            ingress_classes,
            services,
            secrets,
            namespaces,
            gateway_classes,
            gateways,
            http_routes,
            reference_grants,
            listener_sets,
            backend_tls_policies,
            tls_routes,
            grpc_routes,
        } = self;
        let (snap, diags) = (&mut loaded.snapshot, &mut loaded.diagnostics);
        let mut service_diags = Vec::new();
        let mut service_map = std::mem::take(&mut snap.services);
        let services = || fill(&mut service_map, &mut service_diags, services);
        let rest = || {
            fill(&mut snap.ingresses, diags, ingresses);
            fill(&mut snap.ingress_classes, diags, ingress_classes);
            fill(&mut snap.secrets, diags, secrets);
            fill(&mut snap.namespaces, diags, namespaces);
            fill(&mut snap.gateway_classes, diags, gateway_classes);
            fill(&mut snap.gateways, diags, gateways);
            fill(&mut snap.http_routes, diags, http_routes);
            fill(&mut snap.reference_grants, diags, reference_grants);
            fill(&mut snap.listener_sets, diags, listener_sets);
            fill(&mut snap.backend_tls_policies, diags, backend_tls_policies);
            fill(&mut snap.tls_routes, diags, tls_routes);
            fill(&mut snap.grpc_routes, diags, grpc_routes);
            also();
        };
        beside(jobs, services, rest);
        snap.services = service_map;
        diags.extend(service_diags);
    }
}

/// Puts streamed objects' metadata into their map of the snapshot the way
/// `Kinds::insert` puts every other kind (`fill`), and returns the result of
/// each one kept, in the SPEC's order; a duplicate's result is dropped
/// with it.
pub(super) fn insert_kept<R>(
    map: &mut BTreeMap<Key, Obj<Meta>>,
    diagnostics: &mut Vec<Anchored>,
    objects: Vec<(Arc<Origin>, Meta, R)>,
) -> Vec<R> {
    let objects = objects
        .into_iter()
        .map(|(origin, meta, r)| {
            let created = meta.creation_timestamp.as_ref().map(|t| t.0);
            (origin, meta, (created, r))
        })
        .collect();
    let mut kept = fill(map, diagnostics, objects);
    // The SPEC's order: by creationTimestamp (objects that carry one
    // first), then namespace/name (stable).
    kept.sort_by_key(|(created, _)| (created.is_none(), *created));
    kept.into_iter().map(|(_, r)| r).collect()
}

/// Puts objects into `map` by identity: of two with one identity the first
/// by file and line is kept, and an object already in the map before any;
/// each other is reported as a duplicate. Returns the `X` of each object
/// kept, in namespace/name order.
///
/// The identities are sorted once and the map is built from them in order
/// (leaf by leaf when the map was empty, as it is in practice), not filled
/// one by one: each insert of tens of thousands went to a random place of a
/// growing tree, shifting its entries over and missing the cache on the
/// way (the Ingresses' merge at 50k apps 64.6 -> 51.3 ms).
pub(super) fn fill<T, X>(
    map: &mut BTreeMap<Key, Obj<T>>,
    diagnostics: &mut Vec<Anchored>,
    objects: Vec<(Arc<Origin>, T, X)>,
) -> Vec<X> {
    if objects.is_empty() {
        return Vec::new();
    }
    // By identity, then file and line: the first of an identity is kept.
    let mut keyed: Vec<(Key, usize)> = objects
        .iter()
        .enumerate()
        .map(|(i, (o, _, _))| ((o.namespace.clone(), o.name.clone()), i))
        .collect();
    let place = |i: usize| objects.get(i).map(|(o, _, _)| (&o.file, o.line));
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| place(a.1).cmp(&place(b.1))));
    let mut slots: Vec<Option<(Arc<Origin>, T, X)>> = objects.into_iter().map(Some).collect();
    let before = std::mem::take(map);
    let mut entries: Vec<(Key, Obj<T>)> = Vec::with_capacity(keyed.len());
    let mut kept = Vec::with_capacity(keyed.len());
    for (key, i) in keyed {
        let Some((origin, value, x)) = slots.get_mut(i).and_then(Option::take) else {
            continue;
        };
        let first = match entries.last() {
            Some((last, first)) if *last == key => Some(first),
            _ => before.get(&key),
        };
        if let Some(first) = first {
            diagnostics.push(duplicate(&origin, &first.origin));
            continue;
        }
        kept.push(x);
        entries.push((key, Obj { origin, value }));
    }
    // No two entries share a key: a tree built leaf by leaf when `before`
    // is empty (the entries come in key order).
    *map = before.into_iter().chain(entries).collect();
    kept
}

/// The diagnostic for a second object of one identity.
pub(super) fn duplicate(dup: &Arc<Origin>, kept: &Arc<Origin>) -> Anchored {
    diag_at(
        Code::DuplicateObject,
        format!("{} is defined twice; this copy is ignored", dup.describe()),
        dup,
        &FieldPath::of(&["metadata", "name"]),
    )
    .related(
        "the copy that is kept",
        kept,
        &FieldPath::of(&["metadata", "name"]),
    )
}
