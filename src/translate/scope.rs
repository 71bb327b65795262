//! Which Gateways and ListenerSets are ours, decided once before any
//! route is read: GatewayClasses by controller, `--gateway` selection,
//! ListenerSets admitted by their Gateway's allowedListeners, and every
//! listener they bring, indexed by owner and hostname (`Owned`). Also the
//! namespace admission rules (`allowedRoutes`, `allowedListeners`) that
//! attachment asks again per route. It reads no route and renders nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::Ctx;
use super::listener::{CertRef, From, GROUP, Listener, Selector};
use super::owned::Owned;
use crate::Options;
use crate::diag::Code;
use crate::model::{
    Anchored, FieldPath, Gateway, Key, Kind, Obj, Origin, Snapshot, by_key, diag_at,
};
use crate::smallmap::SmallMap;

/// Reads a generated label selector (each Gateway API type has its own).
macro_rules! selector_of {
    ($s:expr) => {
        Selector {
            labels: $s.match_labels.clone().unwrap_or_default(),
            expressions: $s
                .match_expressions
                .iter()
                .flatten()
                .map(|e| {
                    (
                        e.key.clone(),
                        e.operator.clone(),
                        e.values.clone().unwrap_or_default(),
                    )
                })
                .collect(),
        }
    };
}

/// Reads a generated listener (Gateway's or ListenerSet's) into `Listener`.
macro_rules! listener_of {
    ($l:expr, $i:expr, $owner:expr, $gateway:expr) => {{
        let l = $l;
        let ar = l.allowed_routes.as_ref();
        let ns = ar.and_then(|a| a.namespaces.as_ref());
        let selector = ns
            .and_then(|n| n.selector.as_ref())
            .map(|s| selector_of!(s));
        let passthrough = l
            .tls
            .as_ref()
            .and_then(|t| t.mode.as_ref())
            .is_some_and(|m| enum_name(m) == "Passthrough");
        Listener {
            owner: $owner,
            gateway: $gateway,
            name: l.name.clone(),
            port: l.port,
            protocol: l.protocol.clone(),
            hostname: l.hostname.clone().filter(|h| !h.is_empty()),
            from: from_str(
                ns.and_then(|n| n.from.as_ref()).map(enum_name),
                selector,
                From::Same,
            ),
            kinds: ar.and_then(|a| a.kinds.as_ref()).map(|ks| {
                ks.iter()
                    .map(|k| {
                        (
                            k.group.clone().unwrap_or_else(|| GROUP.to_string()),
                            k.kind.clone(),
                        )
                    })
                    .collect()
            }),
            certs: if passthrough {
                Vec::new()
            } else {
                l.tls
                    .iter()
                    .flat_map(|t| t.certificate_refs.iter().flatten())
                    .map(|r| CertRef {
                        name: r.name.clone(),
                        namespace: r.namespace.clone(),
                        kind: r.kind.clone(),
                        group: r.group.clone(),
                    })
                    .collect()
            },
            field: FieldPath::of(&["spec", "listeners"]).idx($i),
            passthrough,
            group: 0,
        }
    }};
}

/// What every route attaches to, decided once before the routes are read:
/// the Gateways of ours, the ListenerSets they admit, every listener, and
/// the diagnostics of that selection.
pub struct Scope {
    pub(super) ours: BTreeSet<Key>,
    /// Gateways of our classes (selected) that the target does not render
    /// (Pingress reads no Gateway API): what attaches to them is said.
    pub(super) unrendered: BTreeSet<Key>,
    pub(super) admitted: BTreeSet<Key>,
    pub(super) listeners: Vec<Listener>,
    /// The hostnames of each group of listeners (`Listener::group`).
    pub(super) hostnames: Vec<HashSet<String>>,
    /// Each Gateway's and ListenerSet's own listeners, indexed: a route
    /// finds its parent's without a scan of every listener (thousands of
    /// ListenerSets on one Gateway), and among them those its hostnames
    /// reach (thousands of listeners on one Gateway).
    pub(super) by_owner: HashMap<(Kind, Key), Owned>,
    pub(super) diags: Vec<Anchored>,
    /// The hostnames HTTPRoutes reached on each listener, once they are
    /// all attached (for GRPCRoutes' cross serving).
    pub(super) http_hosts: super::crossserve::HttpHosts,
}

pub fn scope(snap: &Snapshot, opts: &Options) -> Scope {
    let mut own = Ctx::new(snap, opts);
    let ctx = &mut own;
    let classes: BTreeSet<&str> = snap
        .gateway_classes
        .values()
        .filter(|c| {
            c.value.spec.as_ref().map(|s| s.controller_name.as_str())
                == Some(ctx.opts.controller_name.as_str())
        })
        .map(|c| c.origin.name.as_str())
        .collect();
    let mut ours: BTreeMap<Key, &Obj<Gateway>> = BTreeMap::new();
    let mut unrendered: BTreeSet<Key> = BTreeSet::new();
    for (key, gw) in &snap.gateways {
        let class = gw
            .value
            .spec
            .as_ref()
            .map(|s| s.gateway_class_name.as_str())
            .unwrap_or("");
        let selected = ctx.opts.gateways.is_empty() || ctx.opts.gateways.contains(key);
        if classes.contains(class) && !ctx.target().gateway_api() {
            if selected {
                unrendered.insert(key.clone());
            }
            ctx.push(diag_at(
                Code::GatewayApiNotInTarget,
                format!(
                    "{} reads Ingresses alone; the Gateway and its routes are not rendered",
                    ctx.target().describe()
                ),
                &gw.origin,
                &FieldPath::of(&["spec", "gatewayClassName"]),
            ));
        } else if classes.contains(class) && selected {
            ours.insert(key.clone(), gw);
        } else if !classes.contains(class) {
            ctx.push(diag_at(
                Code::GatewayIgnored,
                format!("GatewayClass {class:?} is not one of ours (controller {}); the Gateway is not rendered", ctx.opts.controller_name),
                &gw.origin,
                &FieldPath::of(&["spec", "gatewayClassName"]),
            ));
        }
    }
    for (ns, name) in &ctx.opts.gateways {
        if !ours.contains_key(&(ns.clone(), name.clone())) {
            let mut d = crate::diag::Diagnostic::new(
                Code::SelectedGatewayMissing,
                format!("--gateway {ns}/{name}: no Gateway of ours by that name is in the input"),
            );
            d.object = Some(crate::diag::ObjectRef {
                kind: "Gateway".into(),
                namespace: Some(ns.clone()),
                name: name.clone(),
            });
            ctx.push(crate::model::Anchored::plain(d));
        }
    }
    let mut listeners: Vec<Listener> = Vec::new();
    for gw in ours.values() {
        listeners.extend(gateway_listeners(gw));
    }
    let admitted = admit_listener_sets(ctx, &ours, &mut listeners);
    // Synapse serves HTTP, HTTPS and TLS: a listener of any other protocol
    // (TCP, UDP, …) is said once, whatever attaches to it.
    for l in &listeners {
        if !matches!(l.protocol.as_str(), "HTTP" | "HTTPS" | "TLS") {
            ctx.push(diag_at(
                Code::ListenerProtocolUnsupported,
                format!(
                    "listener {} is {} on port {}: Synapse serves HTTP, HTTPS and TLS alone, so nothing attached to it is rendered",
                    l.name, l.protocol, l.port
                ),
                &l.owner,
                &l.field.key("protocol"),
            ));
        }
    }
    let mut groups: HashMap<(Key, i32), usize> = HashMap::new();
    let mut hostnames: Vec<HashSet<String>> = Vec::new();
    for l in &mut listeners {
        let next = groups.len();
        l.group = *groups.entry((l.gateway.clone(), l.port)).or_insert(next);
        if l.group == hostnames.len() {
            hostnames.push(HashSet::new());
        }
        if let (Some(h), Some(set)) = (&l.hostname, hostnames.get_mut(l.group)) {
            set.insert(h.clone());
        }
    }
    let mut indexes: HashMap<(Kind, Key), Vec<usize>> = HashMap::new();
    for (i, l) in listeners.iter().enumerate() {
        let key = (l.owner.namespace.clone(), l.owner.name.clone());
        indexes.entry((l.owner.kind, key)).or_default().push(i);
    }
    let by_owner = indexes
        .into_iter()
        .map(|(k, v)| (k, Owned::new(v, &listeners)))
        .collect();
    Scope {
        ours: ours.into_keys().collect(),
        unrendered,
        admitted,
        listeners,
        hostnames,
        by_owner,
        diags: own.diags,
        http_hosts: super::crossserve::HttpHosts::default(),
    }
}

fn from_str(from: Option<String>, selector: Option<Selector>, default: From) -> From {
    match from.as_deref() {
        Some("All") => From::All,
        Some("Same") => From::Same,
        Some("None") => From::None,
        Some("Selector") => From::Selector(selector.unwrap_or_default()),
        _ => default,
    }
}

/// Debug-formats a generated enum into its YAML spelling (`Same`, `All`…).
fn enum_name<T: std::fmt::Debug>(v: &T) -> String {
    format!("{v:?}")
}

fn gateway_listeners(gw: &Obj<Gateway>) -> Vec<Listener> {
    let Some(spec) = gw.value.spec.as_ref() else {
        return Vec::new();
    };
    let key = (gw.origin.namespace.clone(), gw.origin.name.clone());
    spec.listeners
        .iter()
        .enumerate()
        .map(|(i, l)| listener_of!(l, i, gw.origin.clone(), key.clone()))
        .collect()
}

/// Labels of a Namespace in the input, with the label Kubernetes sets on
/// every Namespace (`kubernetes.io/metadata.name`). None: not in the input.
fn namespace_labels(ctx: &Ctx<'_>, ns: &str) -> Option<SmallMap<String, String>> {
    let obj = by_key(&ctx.snap.namespaces, "", ns)?;
    let mut labels = obj.value.metadata.labels.clone().unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".to_string(), ns.to_string());
    Some(labels)
}

/// Whether `from` admits namespace `ns` for an owner in `owner_ns`.
/// Reports a selector that cannot be evaluated.
pub(super) fn admits(
    ctx: &mut Ctx<'_>,
    from: &From,
    owner_ns: &str,
    ns: &str,
    origin: &Arc<Origin>,
    field: &FieldPath,
) -> bool {
    admission(ctx, from, owner_ns, ns).unwrap_or_else(|| {
        ctx.push(diag_at(
            Code::NamespaceSelectorUnmatchable,
            format!("the namespace selector cannot be evaluated for namespace {ns:?}: its Namespace object is not in the input"),
            origin,
            field,
        ));
        false
    })
}

/// `admits` without a report: None when a selector cannot be evaluated
/// (the namespace's labels are not in the input).
pub(super) fn admission(ctx: &Ctx<'_>, from: &From, owner_ns: &str, ns: &str) -> Option<bool> {
    match from {
        From::All => Some(true),
        From::Same => Some(owner_ns == ns),
        From::None => Some(false),
        From::Selector(sel) => namespace_labels(ctx, ns).map(|labels| sel.matches(&labels)),
    }
}

/// ListenerSets whose parent Gateway is ours and admits them; their
/// listeners are appended. Returns the admitted ones by key.
fn admit_listener_sets(
    ctx: &mut Ctx<'_>,
    ours: &BTreeMap<Key, &Obj<Gateway>>,
    listeners: &mut Vec<Listener>,
) -> BTreeSet<Key> {
    let mut admitted = BTreeSet::new();
    let snap = ctx.snap;
    for (key, ls) in &snap.listener_sets {
        let Some(spec) = ls.value.spec.as_ref() else {
            continue;
        };
        let pr = &spec.parent_ref;
        let kind = pr.kind.as_deref().unwrap_or("Gateway");
        if kind != "Gateway" {
            continue;
        }
        let gw_key = (
            pr.namespace
                .clone()
                .unwrap_or_else(|| ls.origin.namespace.clone()),
            pr.name.clone(),
        );
        let Some(gw) = ours.get(&gw_key) else {
            continue;
        };
        let allowed = gw
            .value
            .spec
            .as_ref()
            .and_then(|s| s.allowed_listeners.as_ref())
            .and_then(|a| a.namespaces.as_ref());
        let selector = allowed
            .and_then(|n| n.selector.as_ref())
            .map(|s| selector_of!(s));
        let from = from_str(
            allowed.and_then(|n| n.from.as_ref()).map(enum_name),
            selector,
            From::None,
        );
        let field = FieldPath::of(&["spec", "allowedListeners"]);
        if !admits(
            ctx,
            &from,
            &gw.origin.namespace,
            &ls.origin.namespace,
            &gw.origin,
            &field,
        ) {
            ctx.push(
                diag_at(
                    Code::ListenerSetNotAllowed,
                    format!(
                        "{} does not admit ListenerSets from namespace {:?}; its listeners are not rendered",
                        gw.origin.describe(),
                        ls.origin.namespace
                    ),
                    &ls.origin,
                    &FieldPath::of(&["spec", "parentRef"]),
                )
                .related("the Gateway's allowedListeners", &gw.origin, &field),
            );
            continue;
        }
        admitted.insert(key.clone());
        for (i, l) in spec.listeners.iter().enumerate() {
            listeners.push(listener_of!(l, i, ls.origin.clone(), gw_key.clone()));
        }
    }
    admitted
}
