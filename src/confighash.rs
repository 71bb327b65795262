//! The config hash of the Go operator's config-sync mode, offline (seed
//! 001; the algorithm is the appendix of SYNAPSE-FORMATS.md): per
//! namespace, a SHA-256 over the ConfigMaps and Secrets that match a label
//! selector, less ignored keys; and the workloads (Deployment, DaemonSet,
//! StatefulSet) of that namespace matching the same selector, with the
//! pod-template annotation set to it. A pure function of the sources.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use sha2::{Digest, Sha256};

use crate::Source;
use crate::diag::{Code, Diagnostic, ObjectRef};
use crate::load::{RawDoc, RawMeta as Meta, documents_and_refusals};
use crate::model::FieldPath;

/// What `synroute hash` is asked, named as the operator names its flags.
#[derive(Clone, Debug)]
pub struct HashOptions {
    pub selector: Selector,
    pub ignore_configmap_keys: Vec<String>,
    pub ignore_secret_keys: Vec<String>,
    pub annotation: String,
    /// Only this namespace (also the namespace of objects that name none).
    pub namespace: Option<String>,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            selector: Selector::parse("app.kubernetes.io/name=synapse").unwrap_or_default(),
            ignore_configmap_keys: vec!["upstreams.yaml".to_string()],
            ignore_secret_keys: Vec::new(),
            annotation: "synapse.gen0sec.com/config-hash".to_string(),
            namespace: None,
        }
    }
}

/// A label selector as kubectl reads one: `k=v`, `k==v`, `k!=v`, `k`,
/// `!k`, `k in (a,b)`, `k notin (a,b)`, joined by commas.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        // Commas inside parentheses belong to a set.
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0usize, 0usize);
        for (i, c) in text.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    parts.push(&text[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&text[start..]);
        for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            reqs.push(requirement(part).ok_or_else(|| {
                format!("{part:?} in the label selector {text:?} is not a requirement")
            })?);
        }
        Ok(Selector(reqs))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => labels.get(k) == Some(v),
            Requirement::NotEq(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
            Requirement::In(k, set) => labels.get(k).is_some_and(|v| set.contains(v)),
            Requirement::NotIn(k, set) => labels.get(k).is_none_or(|v| !set.contains(v)),
        })
    }
}

fn requirement(part: &str) -> Option<Requirement> {
    let key_ok = |k: &str| !k.is_empty() && !k.contains(char::is_whitespace);
    let set = |rest: &str| -> Option<BTreeSet<String>> {
        let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
        Some(inner.split(',').map(|v| v.trim().to_string()).collect())
    };
    if let Some(k) = part.strip_prefix('!') {
        return key_ok(k.trim()).then(|| Requirement::NotExists(k.trim().to_string()));
    }
    if let Some((k, v)) = part.split_once("!=") {
        return key_ok(k.trim()).then(|| Requirement::NotEq(k.trim().into(), v.trim().into()));
    }
    if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return key_ok(k.trim()).then(|| Requirement::Eq(k.trim().into(), v.trim().into()));
    }
    if let Some((k, rest)) = part.split_once(" notin ") {
        return Some(Requirement::NotIn(k.trim().into(), set(rest)?));
    }
    if let Some((k, rest)) = part.split_once(" in ") {
        return Some(Requirement::In(k.trim().into(), set(rest)?));
    }
    key_ok(part).then(|| Requirement::Exists(part.to_string()))
}

/// One namespace's hash, what went into it, and its workloads patched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceHash {
    pub namespace: String,
    pub digest: String,
    /// `configmap/<name>` and `secret/<name>` with their digests, sorted.
    pub entries: Vec<(String, String)>,
    /// The matching workloads with the annotation set, as YAML documents.
    pub workloads: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub struct Hashed {
    pub namespaces: Vec<NamespaceHash>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigMap {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    data: BTreeMap<String, String>,
    #[serde(default)]
    binary_data: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Secret {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    data: BTreeMap<String, String>,
    #[serde(default)]
    string_data: BTreeMap<String, String>,
}

/// A namespace's selected workloads by (kind, name): the object and the
/// index of its document.
type Workloads = BTreeMap<(String, String), (Value, usize)>;

const KINDS: [&str; 5] = [
    "ConfigMap",
    "Secret",
    "Deployment",
    "DaemonSet",
    "StatefulSet",
];

fn diag_at(
    doc: &RawDoc<'_>,
    object: Option<ObjectRef>,
    code: Code,
    message: String,
    field: &FieldPath,
) -> Diagnostic {
    let at = (&*doc.file, &*doc.text, doc.first_line);
    crate::load::diag_in(at, object, code, message, field)
}

fn b64(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    data_encoding::BASE64.decode(clean.as_bytes()).ok()
}

/// SHA-256 over (tag, key, NUL, value, NUL) of each entry, sorted by
/// `tag:key`; None without entries.
fn object_digest(entries: &[(u8, &str, Vec<u8>)]) -> Option<String> {
    if entries.is_empty() {
        return None;
    }
    let mut sorted: Vec<&(u8, &str, Vec<u8>)> = entries.iter().collect();
    sorted.sort_by(|a, b| (a.0, b':', a.1.as_bytes()).cmp(&(b.0, b':', b.1.as_bytes())));
    let mut h = Sha256::new();
    for (tag, key, value) in sorted {
        h.update([*tag]);
        h.update(key.as_bytes());
        h.update([0]);
        h.update(value);
        h.update([0]);
    }
    Some(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The combined digest of `entries` (name, digest), sorted by name.
pub fn combined(entries: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = entries.iter().collect();
    sorted.sort();
    let mut h = Sha256::new();
    for (name, digest) in sorted {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(digest.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize())
}

/// The hash of every namespace of `sources`, and the workloads patched.
pub fn config_hash(sources: &[Source], opts: &HashOptions) -> Hashed {
    let (docs, refused) = documents_and_refusals(sources, &KINDS);
    let mut out = Hashed::default();
    out.diagnostics.extend(refused);
    let mut entries: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut workloads: BTreeMap<String, Workloads> = BTreeMap::new();
    let ns_of = |m: &Meta| {
        m.namespace
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| opts.namespace.clone())
            .unwrap_or_else(|| "default".to_string())
    };
    for (i, doc) in docs.iter().enumerate() {
        let group = doc.api_version.split_once('/').map_or("", |(g, _)| g);
        let core = doc.api_version == "v1";
        let apps = group == "apps";
        let malformed = |e: crate::guard::Failure| doc.malformed(&e);
        let object = |m: &Meta| {
            Some(ObjectRef {
                kind: doc.kind.clone(),
                namespace: Some(ns_of(m)),
                name: m.name.clone().unwrap_or_default(),
            })
        };
        let in_scope = |m: &Meta| opts.namespace.as_ref().is_none_or(|ns| *ns == ns_of(m));
        // An object's digest under `kind/name` of its namespace, if it has
        // a key left to hash.
        let mut keep =
            |kind: &str, kv: &[(u8, &str, Vec<u8>)], m: &Meta, diags: &mut Vec<Diagnostic>| {
                let Some(digest) = object_digest(kv) else {
                    return;
                };
                let entry = format!("{kind}/{}", m.name.as_deref().unwrap_or_default());
                match entries.entry(ns_of(m)).or_default().entry(entry) {
                    std::collections::btree_map::Entry::Occupied(o) => diags.push(diag_at(
                        doc,
                        object(m),
                        Code::DuplicateObject,
                        format!(
                            "{} is already in the input; this one is not hashed",
                            o.key()
                        ),
                        &FieldPath::of(&["metadata", "name"]),
                    )),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(digest);
                    }
                }
            };
        match (doc.kind.as_str(), core, apps) {
            ("ConfigMap", true, _) => {
                match crate::guard::yaml_unique_keys::<ConfigMap>(&doc.text) {
                    Err(e) => out.diagnostics.push(malformed(e)),
                    Ok(cm)
                        if in_scope(&cm.metadata) && opts.selector.matches(&cm.metadata.labels) =>
                    {
                        let ignored = |k: &String| opts.ignore_configmap_keys.contains(k);
                        let mut kv: Vec<(u8, &str, Vec<u8>)> = Vec::new();
                        for (k, v) in cm.data.iter().filter(|(k, _)| !ignored(k)) {
                            kv.push((b's', k, v.as_bytes().to_vec()));
                        }
                        for (k, v) in cm.binary_data.iter().filter(|(k, _)| !ignored(k)) {
                            match b64(v) {
                                Some(bytes) => kv.push((b'b', k, bytes)),
                                None => out.diagnostics.push(diag_at(
                                    doc,
                                    object(&cm.metadata),
                                    Code::MalformedDocument,
                                    format!("binaryData {k:?} is not base64"),
                                    &FieldPath::of(&["binaryData", k]),
                                )),
                            }
                        }
                        keep("configmap", &kv, &cm.metadata, &mut out.diagnostics);
                    }
                    Ok(_) => {}
                }
            }
            ("Secret", true, _) => match crate::guard::yaml_unique_keys::<Secret>(&doc.text) {
                Err(e) => out.diagnostics.push(malformed(e)),
                Ok(s) if in_scope(&s.metadata) && opts.selector.matches(&s.metadata.labels) => {
                    let mut data: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
                    for (k, v) in &s.data {
                        match b64(v) {
                            Some(bytes) => {
                                data.insert(k, bytes);
                            }
                            None => out.diagnostics.push(diag_at(
                                doc,
                                object(&s.metadata),
                                Code::MalformedDocument,
                                format!("data {k:?} is not base64"),
                                &FieldPath::of(&["data", k]),
                            )),
                        }
                    }
                    // stringData is merged into data, and wins, as the API
                    // server does on write.
                    for (k, v) in &s.string_data {
                        data.insert(k, v.as_bytes().to_vec());
                    }
                    let kv: Vec<(u8, &str, Vec<u8>)> = data
                        .into_iter()
                        .filter(|(k, _)| !opts.ignore_secret_keys.iter().any(|i| i == k))
                        .map(|(k, v)| (b'd', k, v))
                        .collect();
                    keep("secret", &kv, &s.metadata, &mut out.diagnostics);
                }
                Ok(_) => {}
            },
            ("Deployment" | "DaemonSet" | "StatefulSet", _, true) => {
                match crate::guard::yaml::<Value>(&doc.text) {
                    Err(e) => out.diagnostics.push(malformed(e)),
                    Ok(v) => {
                        let meta: Meta =
                            serde_yaml::from_value(v["metadata"].clone()).unwrap_or_default();
                        if in_scope(&meta) && opts.selector.matches(&meta.labels) {
                            let key = (doc.kind.clone(), meta.name.clone().unwrap_or_default());
                            workloads
                                .entry(ns_of(&meta))
                                .or_default()
                                .entry(key)
                                .or_insert((v, i));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (ns, of_ns) in entries {
        let list: Vec<(String, String)> = of_ns.into_iter().collect();
        let digest = combined(&list);
        let mut patched = Vec::new();
        for ((kind, name), (value, i)) in workloads.remove(&ns).unwrap_or_default() {
            let meta: Meta = serde_yaml::from_value(value["metadata"].clone()).unwrap_or_default();
            match stamped(value, &opts.annotation, &digest) {
                Some(v) => patched.push((
                    format!("{kind}/{name}"),
                    serde_yaml::to_string(&v).unwrap_or_default(),
                )),
                None => {
                    if let Some(doc) = docs.get(i) {
                        out.diagnostics.push(diag_at(
                            doc,
                            Some(ObjectRef { kind: kind.clone(), namespace: Some(ns_of(&meta)), name: name.clone() }),
                            Code::WorkloadWithoutTemplate,
                            format!("{kind} {ns}/{name} has no spec.template to stamp the config hash on"),
                            &FieldPath::of(&["spec"]),
                        ));
                    }
                }
            }
        }
        out.namespaces.push(NamespaceHash {
            namespace: ns,
            digest,
            entries: list,
            workloads: patched,
        });
    }
    out
}

/// `workload` with `annotation: digest` on its pod template; None when it
/// has no `spec.template` mapping.
fn stamped(mut workload: Value, annotation: &str, digest: &str) -> Option<Value> {
    let template = workload
        .get_mut("spec")?
        .get_mut("template")?
        .as_mapping_mut()?;
    let meta = template
        .entry(Value::String("metadata".into()))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    let meta = meta.as_mapping_mut()?;
    let annotations = meta
        .entry(Value::String("annotations".into()))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if annotations.is_null() {
        *annotations = Value::Mapping(Mapping::new());
    }
    annotations.as_mapping_mut()?.insert(
        Value::String(annotation.into()),
        Value::String(digest.into()),
    );
    Some(workload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_read_as_kubectl_reads_them() {
        let labels: BTreeMap<String, String> = [
            ("app".to_string(), "synapse".to_string()),
            ("tier".to_string(), "edge".to_string()),
        ]
        .into();
        for (sel, want) in [
            ("app=synapse", true),
            ("app==synapse,tier=edge", true),
            ("app!=synapse", false),
            ("tier", true),
            ("!tier", false),
            ("tier in (edge, core)", true),
            ("tier notin (edge)", false),
            ("app=other", false),
            ("", true),
        ] {
            let s = Selector::parse(sel).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.matches(&labels), want, "{sel}");
        }
        assert!(Selector::parse("tier in edge").is_err());
    }

    #[test]
    fn no_entries_no_hash() {
        assert_eq!(object_digest(&[]), None);
    }
}
