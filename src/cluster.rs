//! `--from-cluster` (feature `watch`): the kinds synroute reads, listed and
//! watched from the API server with kube-rs, kept as JSON and rendered by
//! the same `render()` as files.
//!
//! - `snapshot`: one list of every kind (`render --from-cluster`); any API
//!   error is an error, nothing is guessed.
//! - `run`: `watch --from-cluster` — a watcher per kind (list, then watch,
//!   re-list when the watch expires, back-off on API errors) feeding a
//!   `Store`, which feeds `watch::run`'s state machine. Gateway API kinds
//!   are watched only when their CRDs are served; discovery is repeated
//!   every `recheck`, so CRDs installed (or removed) later are followed.
//!
//! Each object becomes one source named `Kind/namespace/name.json`, so a
//! diagnostic points at the object it is about.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};

use crate::Source;
use crate::watch::{self, Event, Input, Settings};

/// Where a kind is served: group, version, plural, and the kind name the
/// API server uses (ListenerSet is `XListenerSet` in the experimental group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Served {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
}

/// A kind synroute reads.
#[derive(Debug)]
struct Kind {
    name: &'static str,
    /// Where to look, in order of preference.
    served: &'static [Served],
    namespaced: bool,
    /// Built in, or from a CRD (Gateway API) that may be missing.
    origin: KindOrigin,
}

#[derive(Debug, PartialEq)]
enum KindOrigin {
    Builtin,
    /// A CRD's kind: its absence is warned about (what it would carry is
    /// skipped).
    Crd,
    /// A CRD's kind listed only so that one attached to a Gateway of ours
    /// is said (synroute renders none): a cluster without the CRD has none,
    /// nothing is skipped, and its absence is not warned about.
    CrdSaidOnly,
}

const fn at(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
) -> Served {
    Served {
        group,
        version,
        plural,
        kind,
    }
}

const GW: &str = "gateway.networking.k8s.io";
const XGW: &str = "gateway.networking.x-k8s.io";
const NET: &str = "networking.k8s.io";

const KINDS: &[Kind] = &[
    Kind {
        name: "Ingress",
        served: &[at(NET, "v1", "ingresses", "Ingress")],
        namespaced: true,
        origin: KindOrigin::Builtin,
    },
    Kind {
        name: "IngressClass",
        served: &[at(NET, "v1", "ingressclasses", "IngressClass")],
        namespaced: false,
        origin: KindOrigin::Builtin,
    },
    Kind {
        name: "Service",
        served: &[at("", "v1", "services", "Service")],
        namespaced: true,
        origin: KindOrigin::Builtin,
    },
    Kind {
        name: "Secret",
        served: &[at("", "v1", "secrets", "Secret")],
        namespaced: true,
        origin: KindOrigin::Builtin,
    },
    Kind {
        name: "Namespace",
        served: &[at("", "v1", "namespaces", "Namespace")],
        namespaced: false,
        origin: KindOrigin::Builtin,
    },
    Kind {
        name: "GatewayClass",
        served: &[at(GW, "v1", "gatewayclasses", "GatewayClass")],
        namespaced: false,
        origin: KindOrigin::Crd,
    },
    Kind {
        name: "Gateway",
        served: &[at(GW, "v1", "gateways", "Gateway")],
        namespaced: true,
        origin: KindOrigin::Crd,
    },
    Kind {
        name: "HTTPRoute",
        served: &[at(GW, "v1", "httproutes", "HTTPRoute")],
        namespaced: true,
        origin: KindOrigin::Crd,
    },
    Kind {
        name: "GRPCRoute",
        served: &[
            at(GW, "v1", "grpcroutes", "GRPCRoute"),
            at(GW, "v1alpha2", "grpcroutes", "GRPCRoute"),
        ],
        namespaced: true,
        origin: KindOrigin::Crd,
    },
    Kind {
        name: "TLSRoute",
        served: &[
            at(GW, "v1", "tlsroutes", "TLSRoute"),
            at(GW, "v1alpha3", "tlsroutes", "TLSRoute"),
            at(GW, "v1alpha2", "tlsroutes", "TLSRoute"),
        ],
        namespaced: true,
        origin: KindOrigin::Crd,
    },
    // Not rendered: listed so that one attached to a Gateway of ours is
    // said (SR2020), as it is in files.
    Kind {
        name: "TCPRoute",
        served: &[at(GW, "v1alpha2", "tcproutes", "TCPRoute")],
        namespaced: true,
        origin: KindOrigin::CrdSaidOnly,
    },
    Kind {
        name: "UDPRoute",
        served: &[at(GW, "v1alpha2", "udproutes", "UDPRoute")],
        namespaced: true,
        origin: KindOrigin::CrdSaidOnly,
    },
    Kind {
        name: "BackendTLSPolicy",
        served: &[
            at(GW, "v1", "backendtlspolicies", "BackendTLSPolicy"),
            at(GW, "v1alpha3", "backendtlspolicies", "BackendTLSPolicy"),
        ],
        namespaced: true,
        origin: KindOrigin::Crd,
    },
    Kind {
        name: "ListenerSet",
        served: &[
            at(GW, "v1", "listenersets", "ListenerSet"),
            at(XGW, "v1alpha1", "xlistenersets", "XListenerSet"),
        ],
        namespaced: true,
        origin: KindOrigin::Crd,
    },
    Kind {
        name: "ReferenceGrant",
        served: &[
            at(GW, "v1", "referencegrants", "ReferenceGrant"),
            at(GW, "v1beta1", "referencegrants", "ReferenceGrant"),
        ],
        namespaced: true,
        origin: KindOrigin::Crd,
    },
];

/// Only TLS Secrets are read (the others are none of synroute's business,
/// and RBAC cannot narrow `list` to them, so the selector does).
const TLS_SECRETS: &str = "type=kubernetes.io/tls";

/// How the kinds are read: which API server, which namespace.
#[derive(Clone)]
pub struct Scope {
    client: kube::Client,
    namespace: Option<String>,
}

impl Scope {
    /// The API server of the in-cluster config or of `KUBECONFIG` /
    /// `~/.kube/config`; `namespace` narrows every namespaced kind.
    pub async fn connect(namespace: Option<String>) -> io::Result<Scope> {
        let config = kube::Config::infer()
            .await
            .map_err(|e| io::Error::other(format!("no Kubernetes API configuration: {e}")))?;
        let client = kube::Client::try_from(config)
            .map_err(|e| io::Error::other(format!("cannot build the Kubernetes client: {e}")))?;
        Ok(Scope { client, namespace })
    }

    fn api(&self, kind: &Kind, served: Served) -> (Api<DynamicObject>, watcher::Config) {
        let gvk = GroupVersionKind::gvk(served.group, served.version, served.kind);
        let ar = ApiResource::from_gvk_with_plural(&gvk, served.plural);
        let mut config = watcher::Config::default();
        if kind.name == "Secret" {
            config = config.fields(TLS_SECRETS);
        }
        let api = match (&self.namespace, kind.namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, &ar),
            (Some(ns), false) if kind.name == "Namespace" => {
                config = config.fields(&format!("metadata.name={ns}"));
                Api::all_with(self.client.clone(), &ar)
            }
            _ => Api::all_with(self.client.clone(), &ar),
        };
        (api, config)
    }

    /// Where each kind is served now; CRD kinds that are not served are
    /// left out. An unreachable API server is an error.
    async fn discover(&self) -> io::Result<Vec<(&'static Kind, Served)>> {
        let mut groups: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
        let mut found = Vec::new();
        for kind in KINDS {
            if kind.origin == KindOrigin::Builtin {
                found.push((kind, kind.served[0]));
                continue;
            }
            for &served in kind.served {
                let gv = format!("{}/{}", served.group, served.version);
                if !groups.contains_key(&gv) {
                    let plurals = match self.client.list_api_group_resources(&gv).await {
                        Ok(list) => Some(list.resources.into_iter().map(|r| r.name).collect()),
                        Err(kube::Error::Api(s)) if s.code == 404 => None,
                        Err(e) => {
                            return Err(io::Error::other(format!(
                                "cannot read the API's discovery of {gv}: {}",
                                describe(&e)
                            )));
                        }
                    };
                    groups.insert(gv.clone(), plurals);
                }
                let served_here = groups
                    .get(&gv)
                    .and_then(Option::as_ref)
                    .is_some_and(|p| p.iter().any(|n| n == served.plural));
                if served_here {
                    found.push((kind, served));
                    break;
                }
            }
        }
        Ok(found)
    }
}

/// A kube error in one line: the API's status (code, reason, message)
/// rather than its Debug form.
fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.reason.is_empty() => format!("HTTP {}: {}", s.code, s.message),
        kube::Error::Api(s) => format!("HTTP {} {}: {}", s.code, s.reason, s.message),
        other => other.to_string(),
    }
}

/// A watcher error in one line.
fn describe_watch(e: &watcher::Error) -> String {
    match e {
        watcher::Error::InitialListFailed(e) => format!("list failed: {}", describe(e)),
        watcher::Error::WatchStartFailed(e) => format!("watch failed to start: {}", describe(e)),
        watcher::Error::WatchFailed(e) => format!("watch failed: {}", describe(e)),
        watcher::Error::WatchError(s) => format!("watch error: HTTP {}: {}", s.code, s.message),
        other => other.to_string(),
    }
}

/// (namespace, name) of an object; the namespace is empty for
/// cluster-scoped kinds.
type Key = (String, String);

/// One object as synroute reads it: apiVersion and kind set (list items
/// lack them), managedFields dropped (large, and nothing renders from them).
fn entry(served: Served, obj: DynamicObject) -> Option<(Key, Vec<u8>)> {
    let key = (
        obj.metadata.namespace.clone().unwrap_or_default(),
        obj.metadata.name.clone().unwrap_or_default(),
    );
    let mut value = serde_json::to_value(obj).ok()?;
    let map = value.as_object_mut()?;
    if served.plural == "secrets"
        && map.get("type").and_then(|t| t.as_str()) != Some("kubernetes.io/tls")
    {
        return None;
    }
    let api_version = if served.group.is_empty() {
        served.version.to_string()
    } else {
        format!("{}/{}", served.group, served.version)
    };
    map.insert("apiVersion".into(), api_version.into());
    map.insert("kind".into(), served.kind.into());
    if let Some(meta) = map.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.remove("managedFields");
    }
    let json = serde_json::to_vec_pretty(&value).ok()?;
    Some((key, json))
}

/// What the watchers tell the loop.
#[derive(Debug)]
pub enum Update {
    /// A complete (re-)list of one kind.
    Replace(&'static str, Vec<(Key, Vec<u8>)>),
    Apply(&'static str, Key, Vec<u8>),
    Delete(&'static str, Key),
    /// A kind is no longer served (its CRD went away): its objects go.
    Gone(&'static str),
    /// Wait for this kind's initial list too (its watcher just started).
    Expect(&'static str),
    /// Discovery is done: every kind to wait for has been announced.
    Discovered,
    /// A log line from the watchers.
    Log(&'static str, serde_json::Value),
}

/// The objects of every watched kind, as the loop's input.
#[derive(Default)]
pub struct Store {
    kinds: BTreeMap<&'static str, BTreeMap<Key, Vec<u8>>>,
}

impl Store {
    /// Every object, one source each, in a stable order.
    pub fn sources(&self) -> Vec<Source> {
        let mut out = Vec::new();
        for (kind, objects) in &self.kinds {
            for ((ns, name), json) in objects {
                let path = if ns.is_empty() {
                    format!("{kind}/{name}.json")
                } else {
                    format!("{kind}/{ns}/{name}.json")
                };
                out.push(Source::new(path, json.clone()));
            }
        }
        out
    }
}

impl Input for Store {
    type Msg = Update;

    fn initial(&self) -> Vec<String> {
        vec!["discovery".into()]
    }

    fn feed(&mut self, msg: Update, log_out: &mut dyn Write) -> Vec<Event> {
        match msg {
            Update::Replace(kind, objects) => {
                let objects: BTreeMap<Key, Vec<u8>> = objects.into_iter().collect();
                watch::log(
                    log_out,
                    "listed",
                    serde_json::json!({"kind": kind, "objects": objects.len()}),
                );
                let same = self.kinds.get(kind) == Some(&objects);
                self.kinds.insert(kind, objects);
                // The change first: a list that completes the snapshot
                // renders it at once, not once more after the debounce.
                let mut events = Vec::new();
                if !same {
                    events.push(Event::Changed);
                }
                events.push(Event::Listed(kind.into()));
                events
            }
            Update::Apply(kind, key, json) => {
                let objects = self.kinds.entry(kind).or_default();
                if objects.get(&key) == Some(&json) {
                    return Vec::new();
                }
                objects.insert(key, json);
                vec![Event::Changed]
            }
            Update::Delete(kind, key) => {
                let removed = self.kinds.get_mut(kind).and_then(|o| o.remove(&key));
                if removed.is_some() {
                    vec![Event::Changed]
                } else {
                    Vec::new()
                }
            }
            Update::Gone(kind) => {
                // A watcher that never listed would otherwise be waited for.
                let mut events = Vec::new();
                if self.kinds.remove(kind).is_some_and(|o| !o.is_empty()) {
                    events.push(Event::Changed);
                }
                events.push(Event::Listed(kind.into()));
                events
            }
            Update::Expect(kind) => vec![Event::Expect(kind.into())],
            Update::Discovered => vec![Event::Listed("discovery".into())],
            Update::Log(event, fields) => {
                watch::log(log_out, event, fields);
                Vec::new()
            }
        }
    }

    fn sources(&mut self) -> io::Result<Vec<Source>> {
        Ok(Store::sources(self))
    }
}

/// The runtime the API client runs on: one thread is plenty for a
/// handful of watch streams.
fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The initial list of one kind, through the same watcher as `run` (so
/// paging and selectors are the same), stopping at the first error.
async fn list(
    scope: &Scope,
    kind: &'static Kind,
    served: Served,
) -> io::Result<Vec<(Key, Vec<u8>)>> {
    let (api, config) = scope.api(kind, served);
    let mut stream = std::pin::pin!(watcher::watcher(api, config));
    let mut objects = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(WatchEvent::InitApply(obj)) => objects.extend(entry(served, obj)),
            Ok(WatchEvent::InitDone) => return Ok(objects),
            Ok(_) => {}
            Err(e) => {
                return Err(io::Error::other(format!(
                    "cannot list {}: {}",
                    kind.name,
                    describe_watch(&e)
                )));
            }
        }
    }
    Err(io::Error::other(format!(
        "the list of {} ended early",
        kind.name
    )))
}

/// `render --from-cluster`: every kind listed once. Kinds whose CRDs are
/// not installed are reported on `warn` and skipped.
pub fn snapshot(namespace: Option<String>, warn: &mut dyn Write) -> io::Result<Vec<Source>> {
    runtime()?.block_on(async {
        let scope = Scope::connect(namespace).await?;
        let found = scope.discover().await?;
        for name in missing(&found) {
            writeln!(
                warn,
                "synroute: warning: {name} is not served by the API server (its CRD is not installed); skipped"
            )?;
        }
        let mut store = Store::default();
        for (kind, served) in found {
            let objects = list(&scope, kind, served).await?;
            store.kinds.insert(kind.name, objects.into_iter().collect());
        }
        Ok(store.sources())
    })
}

/// CRD kinds that discovery did not find (and that are worth a warning).
fn missing(found: &[(&'static Kind, Served)]) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.origin == KindOrigin::Crd)
        .filter(|k| !found.iter().any(|(f, _)| f.name == k.name))
        .map(|k| k.name)
        .collect()
}

/// Watches one kind for ever: list, watch, re-list, back off on errors.
async fn watch_kind(scope: Scope, kind: &'static Kind, served: Served, tx: mpsc::Sender<Update>) {
    let (api, config) = scope.api(kind, served);
    let mut stream = std::pin::pin!(watcher::watcher(api, config).default_backoff());
    let mut relist: Option<Vec<(Key, Vec<u8>)>> = None;
    while let Some(event) = stream.next().await {
        let update = match event {
            Ok(WatchEvent::Init) => {
                relist = Some(Vec::new());
                continue;
            }
            Ok(WatchEvent::InitApply(obj)) => {
                if let (Some(buf), Some(e)) = (relist.as_mut(), entry(served, obj)) {
                    buf.push(e);
                }
                continue;
            }
            Ok(WatchEvent::InitDone) => {
                Update::Replace(kind.name, relist.take().unwrap_or_default())
            }
            Ok(WatchEvent::Apply(obj)) => match entry(served, obj) {
                Some((key, json)) => Update::Apply(kind.name, key, json),
                None => continue,
            },
            Ok(WatchEvent::Delete(obj)) => Update::Delete(
                kind.name,
                (
                    obj.metadata.namespace.unwrap_or_default(),
                    obj.metadata.name.unwrap_or_default(),
                ),
            ),
            Err(e) => Update::Log(
                "error",
                serde_json::json!({"kind": kind.name, "message": format!("{}; backing off and retrying", describe_watch(&e))}),
            ),
        };
        if tx.send(update).is_err() {
            return;
        }
    }
}

/// Discovery, then a watcher per served kind; discovery again every
/// `recheck` to follow CRDs that come and go. Runs until the loop ends.
async fn feed(scope: Scope, recheck: Duration, tx: mpsc::Sender<Update>) {
    let mut running: BTreeMap<&'static str, (Served, tokio::task::JoinHandle<()>)> =
        BTreeMap::new();
    let mut announced = false;
    let mut warned: Vec<&'static str> = Vec::new();
    let mut retry = Duration::from_millis(500);
    loop {
        let wait = match scope.discover().await {
            Ok(found) => {
                retry = Duration::from_millis(500);
                let mut sent = Ok(());
                // Kinds that went away (or moved to another version).
                let stale: Vec<&'static str> = running
                    .iter()
                    .filter(|(name, (served, _))| {
                        !found.iter().any(|(k, s)| k.name == **name && s == served)
                    })
                    .map(|(name, _)| *name)
                    .collect();
                for name in stale {
                    if let Some((_, task)) = running.remove(name) {
                        task.abort();
                    }
                    sent = sent.and(tx.send(Update::Gone(name)));
                }
                for (kind, served) in found.iter().copied() {
                    if running.contains_key(kind.name) {
                        continue;
                    }
                    sent = sent.and(tx.send(Update::Expect(kind.name)));
                    let task = tokio::spawn(watch_kind(scope.clone(), kind, served, tx.clone()));
                    running.insert(kind.name, (served, task));
                    if kind.origin != KindOrigin::Builtin && announced {
                        sent = sent.and(tx.send(Update::Log(
                            "crd",
                            serde_json::json!({"kind": kind.name, "message": "now served; watching it"}),
                        )));
                    }
                }
                let now_missing = missing(&found);
                for name in &now_missing {
                    if !warned.contains(name) {
                        sent = sent.and(tx.send(Update::Log(
                            "warning",
                            serde_json::json!({
                                "kind": name,
                                "message": format!("{name} is not served (its CRD is not installed); skipped, re-checked every {}s", recheck.as_secs_f64()),
                            }),
                        )));
                    }
                }
                warned = now_missing;
                if !announced {
                    announced = true;
                    sent = sent.and(tx.send(Update::Discovered));
                }
                if sent.is_err() {
                    return;
                }
                recheck
            }
            Err(e) => {
                let line = Update::Log(
                    "error",
                    serde_json::json!({"message": format!("{e}; retrying in {}s", retry.as_secs_f64())}),
                );
                if tx.send(line).is_err() {
                    return;
                }
                let wait = retry;
                retry = (retry * 2).min(Duration::from_secs(30));
                wait
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// `watch --from-cluster`: the watchers on a thread of their own, the
/// loop on this one.
pub fn run(
    settings: Settings,
    namespace: Option<String>,
    recheck: Duration,
    log_out: &mut dyn Write,
) -> io::Result<watch::Outcome> {
    let rt = runtime()?;
    let scope = rt.block_on(Scope::connect(namespace))?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("synroute-watchers".into())
        .spawn(move || rt.block_on(feed(scope, recheck, tx)))?;
    watch::run(settings, Store::default(), rx, log_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ns: &str, name: &str) -> Key {
        (ns.into(), name.into())
    }

    fn feed(store: &mut Store, msg: Update) -> Vec<Event> {
        store.feed(msg, &mut Vec::new())
    }

    #[test]
    fn the_store_reports_only_real_changes() {
        let mut s = Store::default();
        let a = b"{\"a\":1}".to_vec();
        let events = feed(
            &mut s,
            Update::Replace("Ingress", vec![(key("x", "a"), a.clone())]),
        );
        assert_eq!(events, [Event::Changed, Event::Listed("Ingress".into())]);
        // The same object again (a re-list, a resync): nothing to render.
        assert!(feed(&mut s, Update::Apply("Ingress", key("x", "a"), a.clone())).is_empty());
        let events = feed(
            &mut s,
            Update::Replace("Ingress", vec![(key("x", "a"), a.clone())]),
        );
        assert_eq!(events, [Event::Listed("Ingress".into())]);
        assert!(feed(&mut s, Update::Delete("Ingress", key("x", "zz"))).is_empty());
        assert_eq!(
            feed(
                &mut s,
                Update::Apply("Ingress", key("x", "a"), b"{}".to_vec())
            ),
            [Event::Changed]
        );
        assert_eq!(
            feed(&mut s, Update::Delete("Ingress", key("x", "a"))),
            [Event::Changed]
        );
        assert!(s.sources().is_empty());
    }

    #[test]
    fn sources_are_named_after_their_objects_in_a_stable_order() {
        let mut s = Store::default();
        feed(
            &mut s,
            Update::Replace("Service", vec![(key("b", "web"), b"{}".to_vec())]),
        );
        feed(
            &mut s,
            Update::Replace("IngressClass", vec![(key("", "synapse"), b"{}".to_vec())]),
        );
        feed(
            &mut s,
            Update::Apply("Service", key("a", "web"), b"{}".to_vec()),
        );
        let names: Vec<String> = s.sources().into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "IngressClass/synapse.json",
                "Service/a/web.json",
                "Service/b/web.json"
            ]
        );
    }

    #[test]
    fn a_kind_that_goes_away_takes_its_objects_and_is_not_waited_for() {
        let mut s = Store::default();
        feed(
            &mut s,
            Update::Replace("HTTPRoute", vec![(key("a", "r"), b"{}".to_vec())]),
        );
        assert_eq!(
            feed(&mut s, Update::Gone("HTTPRoute")),
            [Event::Changed, Event::Listed("HTTPRoute".into())]
        );
        assert!(s.sources().is_empty());
    }

    #[test]
    fn list_items_get_their_kind_and_lose_managed_fields() {
        let obj: DynamicObject = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop",
                         "managedFields": [{"manager": "kubectl"}]},
            "spec": {"rules": []}
        }))
        .unwrap();
        let (k, json) = entry(KINDS[0].served[0], obj).unwrap();
        assert_eq!(k, key("shop", "web"));
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(v["kind"], "Ingress");
        assert!(v["metadata"].get("managedFields").is_none());
        assert_eq!(v["spec"], serde_json::json!({"rules": []}));
        // Secrets other than TLS are dropped even if a server ignores the selector.
        let opaque: DynamicObject = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "s", "namespace": "shop"}, "type": "Opaque"
        }))
        .unwrap();
        assert!(entry(KINDS[3].served[0], opaque).is_none());
    }

    /// The loop over the store, driven by synthetic watcher messages: no
    /// render before every announced kind is listed, one render for a
    /// burst (with its final state), none for an update that changes
    /// nothing.
    #[test]
    fn the_loop_renders_complete_snapshots_once_per_burst() {
        use std::sync::{Arc, Mutex};
        let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let record = Arc::clone(&seen);
        let settings = Settings {
            debounce: Duration::from_millis(50),
            reload: watch::Reload::Off,
            reload_repeat: Duration::from_secs(5),
            ready_file: None,
            max_renders: Some(3),
            render: Box::new(move |sources, _| {
                let text = sources
                    .iter()
                    .map(|s| format!("{}={}", s.name, String::from_utf8_lossy(&s.content)))
                    .collect();
                record
                    .lock()
                    .map_err(|_| io::Error::other("poisoned"))?
                    .push(text);
                Ok(Some(true))
            }),
        };
        let (tx, rx) = mpsc::channel();
        let sender = std::thread::spawn(move || {
            let pause = |ms| std::thread::sleep(Duration::from_millis(ms));
            let obj = |v: &str| format!("{{\"v\":\"{v}\"}}").into_bytes();
            let _ = tx.send(Update::Expect("Ingress"));
            let _ = tx.send(Update::Expect("Service"));
            let _ = tx.send(Update::Discovered);
            let _ = tx.send(Update::Replace(
                "Ingress",
                vec![(key("a", "web"), obj("0"))],
            ));
            let _ = tx.send(Update::Apply("Ingress", key("a", "web"), obj("1")));
            pause(200);
            // Only now is the snapshot complete.
            let _ = tx.send(Update::Replace(
                "Service",
                vec![(key("a", "web"), obj("s"))],
            ));
            pause(200);
            for v in 2..=6 {
                let _ = tx.send(Update::Apply(
                    "Ingress",
                    key("a", "web"),
                    obj(&v.to_string()),
                ));
                pause(5);
            }
            pause(200);
            // Changes nothing: no render.
            let _ = tx.send(Update::Apply("Ingress", key("a", "web"), obj("6")));
            pause(200);
            let _ = tx.send(Update::Apply("Service", key("a", "web"), obj("end")));
            pause(2000);
        });
        let mut log = Vec::new();
        watch::run(settings, Store::default(), rx, &mut log).unwrap();
        let _ = sender.join();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                vec![
                    r#"Ingress/a/web.json={"v":"1"}"#.to_string(),
                    r#"Service/a/web.json={"v":"s"}"#.to_string()
                ],
                vec![
                    r#"Ingress/a/web.json={"v":"6"}"#.to_string(),
                    r#"Service/a/web.json={"v":"s"}"#.to_string()
                ],
                vec![
                    r#"Ingress/a/web.json={"v":"6"}"#.to_string(),
                    r#"Service/a/web.json={"v":"end"}"#.to_string()
                ],
            ]
        );
    }

    /// deploy/base grants get/list/watch on exactly the resources read here.
    #[test]
    fn the_rbac_of_the_kustomize_base_grants_exactly_what_is_read() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/base/rbac.yaml"),
        )
        .unwrap();
        let mut granted = std::collections::BTreeSet::new();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = <serde_yaml::Value as serde::Deserialize>::deserialize(doc).unwrap();
            if v["kind"].as_str() != Some("ClusterRole") {
                continue;
            }
            for rule in v["rules"].as_sequence().unwrap() {
                let verbs: Vec<&str> = rule["verbs"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect();
                assert_eq!(verbs, ["get", "list", "watch"]);
                for g in rule["apiGroups"].as_sequence().unwrap() {
                    for r in rule["resources"].as_sequence().unwrap() {
                        granted.insert(format!("{}/{}", g.as_str().unwrap(), r.as_str().unwrap()));
                    }
                }
            }
        }
        let read: std::collections::BTreeSet<String> = KINDS
            .iter()
            .flat_map(|k| k.served.iter())
            .map(|s| format!("{}/{}", s.group, s.plural))
            .collect();
        assert_eq!(granted, read);
    }
}
