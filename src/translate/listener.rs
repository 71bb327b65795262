//! The Gateway API's listeners in one shape, whether a Gateway or an
//! admitted ListenerSet declares them: name, port, protocol, hostname,
//! which namespaces and kinds of route they take, their TLS. Types only;
//! reading them from the objects is `scope.rs`, attaching routes `attach.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{FieldPath, Key, Origin};
use crate::smallmap::SmallMap;

pub const GROUP: &str = "gateway.networking.k8s.io";
pub const X_GROUP: &str = "gateway.networking.x-k8s.io";

/// Which namespaces a listener accepts routes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum From {
    Same,
    All,
    Selector(Selector),
    /// For allowedListeners: the default, admits nothing.
    None,
}

/// A label selector: matchLabels and matchExpressions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    pub labels: BTreeMap<String, String>,
    /// (key, operator, values)
    pub expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    pub fn matches(&self, labels: &SmallMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self
                .expressions
                .iter()
                .all(|(k, op, vals)| match op.as_str() {
                    "In" => labels.get(k).is_some_and(|v| vals.contains(v)),
                    "NotIn" => labels.get(k).is_none_or(|v| !vals.contains(v)),
                    "Exists" => labels.contains_key(k),
                    "DoesNotExist" => !labels.contains_key(k),
                    _ => false,
                })
    }
}

/// A listener of a Gateway or of an admitted ListenerSet, in one shape.
#[derive(Clone, Debug)]
pub struct Listener {
    /// The Gateway or ListenerSet that declares it.
    pub owner: Arc<Origin>,
    /// The Gateway it serves (its own, or the ListenerSet's parent).
    pub gateway: Key,
    pub name: String,
    pub port: i32,
    pub protocol: String,
    pub hostname: Option<String>,
    pub from: From,
    /// `allowedRoutes.kinds` as (group, kind); None: the protocol's default.
    pub kinds: Option<Vec<(String, String)>>,
    /// `tls.certificateRefs`; empty for `mode: Passthrough`.
    pub certs: Vec<CertRef>,
    /// `tls.mode: Passthrough`.
    pub passthrough: bool,
    pub field: FieldPath,
    /// The listeners of one Gateway (its own and its ListenerSets') on one
    /// port: among them, the most specific hostname takes a request.
    pub group: usize,
}

/// A listener's `tls.certificateRefs` entry.
#[derive(Clone, Debug)]
pub struct CertRef {
    pub name: String,
    pub namespace: Option<String>,
    pub kind: Option<String>,
    pub group: Option<String>,
}
