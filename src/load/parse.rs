//! Documents → typed objects: the `apiVersion`/`kind` sniff, the dispatch
//! table of kinds and versions synroute reads, and the one typed parse of
//! each document. A document is parsed once, into its final type.
//!
//! No I/O and no routing: it turns text into typed objects or located
//! errors.

use serde::Deserialize;

use crate::model::{
    BackendTlsPolicy, Gateway, GatewayClass, GrpcRoute, HttpRoute, Ingress, IngressClass, Kind,
    ListenerSet, Meta, Namespace, ReferenceGrant, Secret, Service, TlsRoute,
};

/// A typed object of a kind synroute uses. Large variants are boxed.
#[derive(Clone, Debug)]
pub enum Object {
    Ingress(Box<Ingress>),
    IngressClass(IngressClass),
    Service(Box<Service>),
    Secret(Box<Secret>),
    Namespace(Namespace),
    GatewayClass(GatewayClass),
    Gateway(Box<Gateway>),
    HttpRoute(Box<HttpRoute>),
    ReferenceGrant(ReferenceGrant),
    ListenerSet(Box<ListenerSet>),
    BackendTlsPolicy(BackendTlsPolicy),
    TlsRoute(Box<TlsRoute>),
    GrpcRoute(Box<GrpcRoute>),
}

impl Object {
    pub fn metadata(&self) -> &Meta {
        match self {
            Object::Ingress(o) => &o.metadata,
            Object::IngressClass(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
            Object::Namespace(o) => &o.metadata,
            Object::GatewayClass(o) => &o.metadata,
            Object::Gateway(o) => &o.metadata,
            Object::HttpRoute(o) => &o.metadata,
            Object::ReferenceGrant(o) => &o.metadata,
            Object::ListenerSet(o) => &o.metadata,
            Object::BackendTlsPolicy(o) => &o.metadata,
            Object::TlsRoute(o) => &o.metadata,
            Object::GrpcRoute(o) => &o.metadata,
        }
    }
}

/// How a document's `apiVersion` and `kind` are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Use(Kind),
    /// A kind synroute uses, in a version it does not read.
    Unsupported(Kind),
    /// `kind: List` (or `IngressList`, …) with `items`.
    List,
    Foreign,
}

const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
const X_GATEWAY_GROUP: &str = "gateway.networking.x-k8s.io";

pub fn classify(api_version: &str, kind: &str) -> Class {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let versioned = |k: Kind, ok: &[&str]| {
        if ok.contains(&version) {
            Class::Use(k)
        } else {
            Class::Unsupported(k)
        }
    };
    match (group, kind) {
        ("networking.k8s.io" | "extensions", "Ingress") => versioned(Kind::Ingress, &["v1"]),
        ("networking.k8s.io", "IngressClass") => versioned(Kind::IngressClass, &["v1"]),
        ("", "Service") => versioned(Kind::Service, &["v1"]),
        ("", "Secret") => versioned(Kind::Secret, &["v1"]),
        ("", "Namespace") => versioned(Kind::Namespace, &["v1"]),
        (GATEWAY_GROUP, "GatewayClass") => versioned(Kind::GatewayClass, &["v1", "v1beta1"]),
        (GATEWAY_GROUP, "Gateway") => versioned(Kind::Gateway, &["v1", "v1beta1"]),
        (GATEWAY_GROUP, "HTTPRoute") => versioned(Kind::HttpRoute, &["v1", "v1beta1"]),
        (GATEWAY_GROUP, "ReferenceGrant") => versioned(Kind::ReferenceGrant, &["v1", "v1beta1"]),
        (GATEWAY_GROUP, "ListenerSet") => versioned(Kind::ListenerSet, &["v1"]),
        (X_GATEWAY_GROUP, "XListenerSet") => versioned(Kind::ListenerSet, &["v1alpha1"]),
        (GATEWAY_GROUP, "TLSRoute") => versioned(Kind::TlsRoute, &["v1", "v1alpha3", "v1alpha2"]),
        (GATEWAY_GROUP, "GRPCRoute") => versioned(Kind::GrpcRoute, &["v1", "v1alpha2"]),
        (GATEWAY_GROUP, "BackendTLSPolicy") => {
            versioned(Kind::BackendTlsPolicy, &["v1", "v1alpha3"])
        }
        (_, k) if k == "List" || (k.ends_with("List") && k.len() > 4) => Class::List,
        _ => Class::Foreign,
    }
}

pub fn supported_versions(kind: Kind) -> &'static str {
    match kind {
        Kind::Ingress | Kind::IngressClass => "networking.k8s.io/v1",
        Kind::Service | Kind::Secret | Kind::Namespace => "v1",
        Kind::GatewayClass | Kind::Gateway | Kind::HttpRoute => {
            "gateway.networking.k8s.io/v1 or v1beta1"
        }
        Kind::ReferenceGrant => "gateway.networking.k8s.io/v1beta1 or v1",
        Kind::ListenerSet => {
            "gateway.networking.k8s.io/v1 (XListenerSet: gateway.networking.x-k8s.io/v1alpha1)"
        }
        Kind::BackendTlsPolicy => "gateway.networking.k8s.io/v1 or v1alpha3",
        Kind::TlsRoute => "gateway.networking.k8s.io/v1, v1alpha3 or v1alpha2",
        Kind::GrpcRoute => "gateway.networking.k8s.io/v1 or v1alpha2",
    }
}

/// A parse failure, located relative to the document (1-based).
#[derive(Debug)]
pub struct ParseError {
    pub message: String,
    pub line: u32,
    pub column: u32,
    pub field: Option<String>,
}

impl ParseError {
    /// A YAML failure: serde_yaml prefixes the path of the field at fault
    /// (`spec.rules[0]: …`), which becomes the field.
    fn yaml(e: crate::guard::Failure) -> ParseError {
        let full = super::strip_position(&e.message);
        let (field, message) = match full.split_once(": ") {
            Some((p, m)) if !p.is_empty() && !p.contains(' ') && p != "." => {
                (Some(p.to_string()), m.to_string())
            }
            _ => (None, full),
        };
        ParseError {
            message,
            line: e.line.unwrap_or(1).max(1),
            column: e.column.unwrap_or(1).max(1),
            field,
        }
    }

    fn json(e: crate::guard::Failure) -> ParseError {
        ParseError {
            message: super::strip_position(&e.message),
            line: e.line.unwrap_or(1).max(1),
            column: e.column.unwrap_or(1).max(1),
            field: None,
        }
    }

    pub(super) fn plain(message: String) -> ParseError {
        ParseError {
            message,
            line: 1,
            column: 1,
            field: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Head {
    #[serde(rename = "apiVersion")]
    pub api_version: Option<String>,
    pub kind: Option<String>,
}

/// True for a document of only comments, blank lines and markers.
pub fn is_empty_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

/// Reads `apiVersion:` and `kind:` from top-level lines without parsing the
/// document. Returns None when the document is not plain block style at
/// the top, so that the caller falls back to a real parse.
pub fn sniff(text: &str) -> Option<Head> {
    let mut head = Head::default();
    for line in text.lines() {
        let (target, rest) = if let Some(r) = line.strip_prefix("apiVersion:") {
            (&mut head.api_version, r)
        } else if let Some(r) = line.strip_prefix("kind:") {
            (&mut head.kind, r)
        } else {
            let t = line.trim_start();
            if line.starts_with('{')
                || line.starts_with('[')
                || t.starts_with("--- {")
                || t.starts_with("--- !")
            {
                return None;
            }
            continue;
        };
        let value = plain_scalar(rest)?;
        if target.replace(value).is_some() {
            return None;
        }
        if head.api_version.is_some() && head.kind.is_some() {
            return Some(head);
        }
    }
    None
}

/// A simple scalar after `key:`: unquoted or quoted, no anchors, tags,
/// aliases or block indicators (those go to the real parser).
fn plain_scalar(rest: &str) -> Option<String> {
    let v = rest.trim();
    let v = match super::bytes::find_pair(v, *b" #", 1) {
        Some(i) => v[..i].trim_end(),
        None => v,
    };
    if v.is_empty() {
        return None;
    }
    if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return (!inner.contains(['\\', '"'])).then(|| inner.to_string());
    }
    if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return (!inner.contains('\'')).then(|| inner.to_string());
    }
    if v.starts_with(['&', '*', '!', '|', '>', '{', '[', '"', '\'', '%', '@', '`']) {
        return None;
    }
    Some(v.to_string())
}

pub fn head_yaml(text: &str) -> Result<Head, ParseError> {
    match crate::guard::yaml::<serde_yaml::Value>(text) {
        Ok(v) => Ok(item_head_value(&v)),
        Err(e) => Err(ParseError::yaml(e)),
    }
}

/// The index just after the JSON value that starts at `i` (a string, an
/// object or array up to its matching closer, or a literal up to the next
/// delimiter), by a scan that validates nothing. None at the end of input.
pub fn json_value_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        let &c = b.get(i)?;
        match c {
            b'"' => {
                i = json_string_end(b, i + 1)?;
                if depth == 0 {
                    return Some(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => return Some(i),
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' if depth == 0 => return Some(i),
            c if depth == 0 && c.is_ascii_whitespace() => return Some(i),
            _ => {}
        }
        i += 1;
    }
}

/// The index just after the closing quote of a string whose text starts
/// at `i`; a backslash escapes the byte after it. None at the end of input.
fn json_string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let k = quote_or_backslash(b, i)?;
        match b.get(k)? {
            b'"' => return Some(k + 1),
            _ => i = k + 2,
        }
    }
}

/// The index of the first `"` or `\` in `b[i..]`. Most of a JSON
/// manifest's bytes are string contents, so they are skipped eight at a
/// time: a byte equal to the one looked for is a zero byte of the XOR, and
/// `(x - 0x01..) & !x & 0x80..` flags the lowest zero byte of `x` exactly
/// (flags above it may be spurious, so only the lowest one is used).
fn quote_or_backslash(b: &[u8], mut i: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const QUOTE: u64 = LO * b'"' as u64;
    const BACKSLASH: u64 = LO * b'\\' as u64;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let (x, y) = (w ^ QUOTE, w ^ BACKSLASH);
        let found = (x.wrapping_sub(LO) & !x & HI) | (y.wrapping_sub(LO) & !y & HI);
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b.get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|k| i + k)
}

/// `apiVersion` and `kind` of a JSON object from its top-level keys, by a
/// scan that builds nothing else. None when the object is not plain enough
/// for the scan (escapes in those keys or values, a duplicate, a syntax
/// surprise): the caller then parses with `head_json`.
pub fn sniff_json(text: &str) -> Option<Head> {
    fn ws(b: &[u8], mut i: usize) -> usize {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    }
    /// A string at `i` with no escapes: its text and the index after it.
    fn plain_string(t: &str, i: usize) -> Option<(&str, usize)> {
        let end = quote_or_backslash(t.as_bytes(), i + 1)?;
        if t.as_bytes().get(end) != Some(&b'"') {
            return None;
        }
        Some((t.get(i + 1..end)?, end + 1))
    }
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    let mut head = Head::default();
    if b.get(i) == Some(&b'}') {
        return Some(head);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (key, next) = plain_string(text, i)?;
        i = ws(b, next);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        let target = match key {
            "apiVersion" => Some(&mut head.api_version),
            "kind" => Some(&mut head.kind),
            _ => None,
        };
        match target {
            Some(t) => {
                if b.get(i) != Some(&b'"') || t.is_some() {
                    return None;
                }
                let (value, next) = plain_string(text, i)?;
                *t = Some(value.to_string());
                i = next;
            }
            None => i = json_value_end(b, i)?,
        }
        i = ws(b, i);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') if ws(b, i + 1) == b.len() => return Some(head),
            _ => return None,
        }
    }
}

/// `apiVersion` and `kind` of a JSON document; the rest is skipped
/// without being built.
pub fn head_json(text: &str) -> Result<Head, ParseError> {
    if !text.trim_start().starts_with('{') {
        return Ok(Head::default());
    }
    crate::guard::json::<Head>(text).map_err(ParseError::json)
}

fn item_head_value(v: &serde_yaml::Value) -> Head {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Head {
        api_version: s("apiVersion"),
        kind: s("kind"),
    }
}

/// An item of a `kind: List`, still untyped (a JSON item is its text,
/// borrowed from the List's).
pub enum Item<'a> {
    Yaml(serde_yaml::Value),
    Json(&'a serde_json::value::RawValue),
}

pub fn item_head(item: &Item) -> (Option<String>, Option<String>) {
    match item {
        Item::Yaml(v) => {
            let h = item_head_value(v);
            (h.api_version, h.kind)
        }
        Item::Json(raw) => match head_json(raw.get()) {
            Ok(h) => (h.api_version, h.kind),
            Err(_) => (None, None),
        },
    }
}

#[derive(Deserialize)]
struct YamlList {
    #[serde(default)]
    items: Option<Vec<serde_yaml::Value>>,
}

#[derive(Deserialize)]
struct JsonList<'a> {
    #[serde(default, borrow)]
    items: Option<Vec<&'a serde_json::value::RawValue>>,
}

pub fn list_items_yaml(text: &str) -> Result<Vec<Item<'_>>, ParseError> {
    let list: YamlList = crate::guard::yaml(text).map_err(ParseError::yaml)?;
    Ok(list
        .items
        .unwrap_or_default()
        .into_iter()
        .map(Item::Yaml)
        .collect())
}

pub fn list_items_json(text: &str) -> Result<Vec<Item<'_>>, ParseError> {
    let list: JsonList = crate::guard::json_borrowed(text).map_err(ParseError::json)?;
    Ok(list
        .items
        .unwrap_or_default()
        .into_iter()
        .map(Item::Json)
        .collect())
}

/// One typed parse, dispatched on the kind already known from the sniff.
fn typed<'de, D>(kind: Kind, d: D) -> Result<Object, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(match kind {
        Kind::Ingress => Object::Ingress(Box::new(Ingress::deserialize(d)?)),
        Kind::IngressClass => Object::IngressClass(IngressClass::deserialize(d)?),
        Kind::Service => Object::Service(Box::new(Service::deserialize(d)?)),
        Kind::Secret => Object::Secret(Box::new(Secret::deserialize(d)?)),
        Kind::Namespace => Object::Namespace(Namespace::deserialize(d)?),
        Kind::GatewayClass => Object::GatewayClass(GatewayClass::deserialize(d)?),
        Kind::Gateway => Object::Gateway(Box::new(Gateway::deserialize(d)?)),
        Kind::HttpRoute => Object::HttpRoute(Box::new(HttpRoute::deserialize(d)?)),
        Kind::ReferenceGrant => Object::ReferenceGrant(ReferenceGrant::deserialize(d)?),
        Kind::ListenerSet => Object::ListenerSet(Box::new(ListenerSet::deserialize(d)?)),
        Kind::BackendTlsPolicy => Object::BackendTlsPolicy(BackendTlsPolicy::deserialize(d)?),
        Kind::TlsRoute => Object::TlsRoute(Box::new(TlsRoute::deserialize(d)?)),
        Kind::GrpcRoute => Object::GrpcRoute(Box::new(GrpcRoute::deserialize(d)?)),
    })
}

/// The fast reader first (plain block YAML); serde_yaml for everything it
/// gives up on, errors included, so that messages are serde_yaml's.
pub fn object_yaml(kind: Kind, text: &str) -> Result<Object, ParseError> {
    if let Some(obj) = object_yaml_fast(kind, text) {
        return Ok(obj);
    }
    object_yaml_general(kind, text)
}

pub fn object_yaml_fast(kind: Kind, text: &str) -> Option<Object> {
    super::fast::with_tree(text, |node| typed(kind, node).ok()).flatten()
}

/// serde_yaml's reading, for what the fast reader leaves (it gives up on
/// a duplicate key among others). A key twice in a mapping is refused, as
/// kubectl refuses it, rather than read as its last value, which a typed
/// map would do without a word.
pub fn object_yaml_general(kind: Kind, text: &str) -> Result<Object, ParseError> {
    crate::guard::yaml::<serde_yaml::Value>(text).map_err(ParseError::yaml)?;
    crate::guard::yaml_with(text, |de| typed(kind, de)).map_err(ParseError::yaml)
}

pub fn object_json(kind: Kind, text: &str) -> Result<Object, ParseError> {
    crate::guard::json_with(text, |mut de| typed(kind, &mut de)).map_err(ParseError::json)
}

pub fn object_value(kind: Kind, item: &Item<'_>) -> Result<Object, ParseError> {
    match item {
        Item::Yaml(v) => typed(kind, v).map_err(|e| ParseError::plain(e.to_string())),
        Item::Json(raw) => object_json(kind, raw.get()),
    }
}

/// `apiVersion`, `kind` and — for a kind synroute uses, but Ingress and
/// HTTPRoute, which are read in the second pass — the typed object of a
/// node of the fast reader's tree; None when the fast reader's
/// deserialiser gives up on it.
pub fn node_object(node: &super::fast::Node<'_, '_>) -> Option<(Head, Option<Object>)> {
    let head = Head::deserialize(node).ok()?;
    let object = match (&head.api_version, &head.kind) {
        (Some(api_version), Some(kind)) => match classify(api_version, kind) {
            Class::Use(Kind::Ingress | Kind::HttpRoute) => None,
            Class::Use(k) => Some(typed(k, node).ok()?),
            _ => None,
        },
        _ => None,
    };
    Some((head, object))
}

/// `f` on the one node of an item of a YAML `kind: List`, from the item's
/// text (a sequence of one node) read alone by the fast reader; None when
/// it gives up, or `f` does.
pub fn item_node<R>(
    text: &str,
    f: impl FnOnce(&super::fast::Node<'_, '_>) -> Option<R>,
) -> Option<R> {
    super::fast::with_tree(text, |node| match node {
        super::fast::Node::Seq(nodes) => match nodes.as_slice() {
            [only] => f(only),
            _ => None,
        },
        _ => None,
    })
    .flatten()
}

/// The one node of an item of a YAML `kind: List` read alone by serde_yaml.
pub fn item_value(text: &str) -> Result<serde_yaml::Value, ParseError> {
    let values: Vec<serde_yaml::Value> = crate::guard::yaml(text).map_err(ParseError::yaml)?;
    let [value]: [serde_yaml::Value; 1] = values
        .try_into()
        .map_err(|_| ParseError::plain("the item is not one node".into()))?;
    Ok(value)
}

/// The object of an item of a YAML `kind: List` read alone: by the fast
/// reader where it can, else through serde_yaml's tree, as the List's
/// items are when it is read whole (and with the same messages).
pub fn item_object_yaml(kind: Kind, text: &str) -> Result<Object, ParseError> {
    if let Some(obj) = item_node(text, |node| typed(kind, node).ok()) {
        return Ok(obj);
    }
    object_value(kind, &Item::Yaml(item_value(text)?))
}

/// The `metadata.name` of a document that failed to parse, for messages.
pub fn name_hint(text: &str) -> Option<String> {
    let mut in_meta = false;
    for line in text.lines() {
        if line.starts_with("metadata:") {
            in_meta = true;
            continue;
        }
        if in_meta {
            if !line.starts_with(' ') && !line.trim().is_empty() {
                in_meta = false;
                continue;
            }
            let t = line.trim_start();
            let indent = line.len() - t.len();
            if indent == 2
                && let Some(rest) = t.strip_prefix("name:")
            {
                return plain_scalar(rest);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_block_documents() {
        let h =
            sniff("# c\napiVersion: v1\nkind: \"Service\" # x\nmetadata:\n  kind: nope\n").unwrap();
        assert_eq!(h.api_version.as_deref(), Some("v1"));
        assert_eq!(h.kind.as_deref(), Some("Service"));
    }

    #[test]
    fn sniff_defers_to_parser_for_odd_forms() {
        assert!(sniff("{\"kind\": \"Service\"}").is_none());
        assert!(sniff("kind: &k Service\napiVersion: v1\n").is_none());
        assert!(sniff("kind: Service\nkind: Secret\napiVersion: v1\n").is_none());
    }

    #[test]
    fn sniffs_json_heads_like_serde_json() {
        for text in [
            r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}}"#,
            r#"{ "metadata": {"kind": "x", "a": [1, {"b": "}"}]}, "kind" : "Secret", "apiVersion": "v1" }"#,
            r#"{"kind":"Service","x":true,"y":-1.5e3,"z":null,"s":"a\"b"}"#,
            r#"{}"#,
            r#"{"kind":"A","kind":"B"}"#,
            r#"{"kind":"Serv\u0069ce","apiVersion":"v1"}"#,
            r#"{"kind":1}"#,
            r#"{"kind":"A"} x"#,
            r#"{"kind":"A",}"#,
        ] {
            let fast = sniff_json(text);
            let full = head_json(text);
            match (&fast, &full) {
                (Some(f), Ok(h)) => {
                    assert_eq!(
                        (&f.api_version, &f.kind),
                        (&h.api_version, &h.kind),
                        "{text}"
                    )
                }
                (None, _) => {}
                (Some(_), Err(e)) => panic!("{text}: sniffed, but serde_json says {}", e.message),
            }
        }
        assert!(sniff_json(r#"{"kind":"A","kind":"B"}"#).is_none());
        assert_eq!(
            sniff_json(r#"{"metadata":{"kind":"x"},"kind":"Secret"}"#).and_then(|h| h.kind),
            Some("Secret".to_string())
        );
    }

    #[test]
    fn classifies_versions() {
        assert_eq!(
            classify("networking.k8s.io/v1", "Ingress"),
            Class::Use(Kind::Ingress)
        );
        assert_eq!(
            classify("extensions/v1beta1", "Ingress"),
            Class::Unsupported(Kind::Ingress)
        );
        assert_eq!(
            classify("networking.istio.io/v1beta1", "Gateway"),
            Class::Foreign
        );
        assert_eq!(
            classify("gateway.networking.k8s.io/v1beta1", "HTTPRoute"),
            Class::Use(Kind::HttpRoute)
        );
        assert_eq!(
            classify("gateway.networking.k8s.io/v1alpha2", "HTTPRoute"),
            Class::Unsupported(Kind::HttpRoute)
        );
        assert_eq!(classify("v1", "List"), Class::List);
        assert_eq!(classify("apps/v1", "Deployment"), Class::Foreign);
    }

    /// The byte-at-a-time scan `json_value_end` replaced.
    fn value_end_bytewise(b: &[u8], mut i: usize) -> Option<usize> {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let &c = b.get(i)?;
            if in_string {
                i += 1;
                if escaped {
                    escaped = false;
                } else if c == b'\\' {
                    escaped = true;
                } else if c == b'"' {
                    in_string = false;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                continue;
            }
            match c {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return Some(i),
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                b',' if depth == 0 => return Some(i),
                c if depth == 0 && c.is_ascii_whitespace() => return Some(i),
                _ => {}
            }
            i += 1;
        }
    }

    proptest::proptest! {
        #[test]
        fn value_end_skips_strings_as_the_bytewise_scan(
            text in r#"[{}\[\]",:\\ a\n]{0,64}"#,
            from in 0usize..64,
        ) {
            let b = text.as_bytes();
            proptest::prop_assert_eq!(json_value_end(b, from), value_end_bytewise(b, from));
        }
    }
}
