//! The objects listener synthesis reads, from their documents: each
//! WrappedGateway (a Gateway spec without listeners) and each route of the
//! five kinds that can name its Gateway, with only the fields the seed's
//! rules use, and where each field is for diagnostics. Documents that do
//! not read are reported; nothing is guessed.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::Options;
use crate::diag::{Code, Diagnostic, ObjectRef};
use crate::load::{RawDoc, RawMeta as Meta};
use crate::model::{FieldPath, ParentRef};

/// The group of WrappedGateway.
pub const WRAPPED_GROUP: &str = "gateway-route-sync.homelab-helper.benfiola.com";
/// The annotation of a route's ports.
pub const PORTS_ANNOTATION: &str = "gateway-route-sync.homelab-helper.benfiola.com/ports";
/// The annotation of a UDPRoute's or TCPRoute's hostname.
pub const HOSTNAME_ANNOTATION: &str = "gateway-route-sync.homelab-helper.benfiola.com/hostname";

/// The kinds read, WrappedGateway first.
pub const KINDS: [&str; 6] = [
    "WrappedGateway",
    "HTTPRoute",
    "GRPCRoute",
    "TLSRoute",
    "UDPRoute",
    "TCPRoute",
];

/// Where an object is: its document, for locating its fields.
#[derive(Clone, Debug)]
pub struct Place {
    pub file: Arc<str>,
    pub line: u32,
    pub first_line: u32,
    pub text: Arc<str>,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The object names no `metadata.namespace`.
    pub namespace_unset: bool,
}

impl Place {
    pub fn object(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.clone(),
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
        }
    }

    /// A diagnostic about `field` of this object, at its line and column.
    pub fn diag(&self, code: Code, message: String, field: &FieldPath) -> Diagnostic {
        let doc = (&*self.file, &*self.text, self.first_line);
        crate::load::diag_in(doc, Some(self.object()), code, message, field)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteSpec {
    #[serde(default)]
    parent_refs: Vec<ParentRef>,
    #[serde(default)]
    hostnames: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RouteDoc {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: RouteSpec,
}

#[derive(Debug, Deserialize)]
struct WrappedDoc {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: serde_yaml::Mapping,
}

/// A route of one of the five kinds.
#[derive(Debug)]
pub struct Route {
    pub place: Place,
    pub parent_refs: Vec<ParentRef>,
    pub hostnames: Vec<String>,
    pub annotations: BTreeMap<String, String>,
}

/// A WrappedGateway: the Gateway it generates, but for its listeners.
#[derive(Debug)]
pub struct Wrapped {
    pub place: Place,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: serde_yaml::Mapping,
}

/// What was read, and what could not be.
#[derive(Debug, Default)]
pub struct Read {
    pub wrapped: Vec<Wrapped>,
    pub routes: Vec<Route>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads the documents `documents_of` found for `KINDS`.
/// With `beside_render`, a route of a kind the render reads itself
/// (HTTPRoute, GRPCRoute, TLSRoute) that does not read is left for the render to
/// report, once.
pub fn read(docs: &[RawDoc<'_>], opts: &Options, beside_render: bool) -> Read {
    let mut out = Read::default();
    for doc in docs {
        let group = doc.api_version.split_once('/').map_or("", |(g, _)| g);
        let wrapped = doc.kind == "WrappedGateway";
        let ours = if wrapped {
            group == WRAPPED_GROUP
        } else {
            group == "gateway.networking.k8s.io"
        };
        if !ours {
            continue;
        }
        let meta_of = |m: &Meta| {
            let stated = m.namespace.clone().filter(|n| !n.is_empty());
            Place {
                file: doc.file.clone(),
                line: doc.line,
                first_line: doc.first_line,
                text: Arc::from(&*doc.text),
                kind: doc.kind.clone(),
                namespace_unset: stated.is_none(),
                namespace: stated
                    .or_else(|| opts.namespace.clone())
                    .unwrap_or_else(|| "default".to_string()),
                name: m.name.clone().unwrap_or_default(),
            }
        };
        let malformed = |e: crate::guard::Failure| doc.malformed(&e);
        // Where the object is, unless --namespace leaves it out.
        let placed = |m: &Meta| {
            let place = meta_of(m);
            let out = opts
                .namespace
                .as_ref()
                .is_some_and(|ns| *ns != place.namespace);
            (!out).then_some(place)
        };
        if wrapped {
            match crate::guard::yaml::<WrappedDoc>(&doc.text) {
                Ok(w) => {
                    let Some(place) = placed(&w.metadata) else {
                        continue;
                    };
                    out.wrapped.push(Wrapped {
                        place,
                        labels: w.metadata.labels,
                        annotations: w.metadata.annotations,
                        spec: w.spec,
                    });
                }
                Err(e) => out.diagnostics.push(malformed(e)),
            }
        } else {
            match crate::guard::yaml::<RouteDoc>(&doc.text) {
                Ok(r) => {
                    let Some(place) = placed(&r.metadata) else {
                        continue;
                    };
                    out.routes.push(Route {
                        place,
                        parent_refs: r.spec.parent_refs,
                        hostnames: r.spec.hostnames,
                        annotations: r.metadata.annotations,
                    });
                }
                Err(_)
                    if beside_render
                        && matches!(doc.kind.as_str(), "HTTPRoute" | "GRPCRoute" | "TLSRoute") => {}
                Err(e) => out.diagnostics.push(malformed(e)),
            }
        }
    }
    out
}
