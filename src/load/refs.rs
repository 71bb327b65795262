//! Documents of kinds synroute does not read that name Gateway API objects
//! (`model::Attaching`): a route of another kind by its parentRefs, a
//! policy by its targetRefs. A document is looked at only when its text
//! holds `parentRef` or `targetRef`, so inputs without any cost a search
//! per foreign document; one that does not read as such references is
//! left alone (it is not ours to judge).

use std::sync::Arc;

use serde::Deserialize;

use super::Doc;
use super::locate::locate;
use crate::Options;
use crate::model::{Attaching, FieldPath, ParentRef, TargetRef};

#[derive(Deserialize)]
struct RefsDoc {
    #[serde(default)]
    metadata: RefsMeta,
    #[serde(default)]
    spec: RefsSpec,
}

#[derive(Default, Deserialize)]
struct RefsMeta {
    name: Option<String>,
    namespace: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefsSpec {
    #[serde(default)]
    parent_refs: Vec<ParentRef>,
    #[serde(default)]
    target_refs: Vec<TargetRef>,
    target_ref: Option<TargetRef>,
}

/// The references of `doc`, a document of kind `kind` synroute does not
/// read; None when it names none (or lies outside `--namespace`).
pub(super) fn refs_of(
    file: &Arc<str>,
    doc: &Doc<'_>,
    (api_version, kind): (&str, &str),
    line: u32,
    opts: &Options,
) -> Option<Attaching> {
    // A CRD's schema names parentRefs in its descriptions; it attaches to
    // nothing.
    if kind == "CustomResourceDefinition" {
        return None;
    }
    let text = doc.text.as_bytes();
    let finder = |n: &[u8]| memchr::memmem::find(text, n).is_some();
    if !finder(b"parentRef") && !finder(b"targetRef") {
        return None;
    }
    let json = doc.text.trim_start().starts_with('{');
    let parsed: RefsDoc = if json {
        crate::guard::json(doc.text).ok()?
    } else {
        crate::guard::yaml(doc.text).ok()?
    };
    let RefsDoc { metadata, spec } = parsed;
    if spec.parent_refs.is_empty() && spec.target_refs.is_empty() && spec.target_ref.is_none() {
        return None;
    }
    let namespace = metadata
        .namespace
        .filter(|n| !n.is_empty())
        .or_else(|| opts.namespace.clone())
        .unwrap_or_else(|| "default".to_string());
    if opts.namespace.as_ref().is_some_and(|ns| *ns != namespace) {
        return None;
    }
    // JSON is one line per document as often as not: its first line.
    let at = |field: FieldPath| {
        if json {
            return (doc.span.first_line, 1);
        }
        let (l, c) = locate(doc.text, &field);
        (doc.span.first_line + l, c)
    };
    let spec_field = FieldPath::of(&["spec"]);
    let parents = spec
        .parent_refs
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let (l, c) = at(spec_field.key("parentRefs").idx(i));
            (p, l, c)
        })
        .collect();
    let mut targets: Vec<(TargetRef, u32, u32)> = spec
        .target_refs
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let (l, c) = at(spec_field.key("targetRefs").idx(i));
            (t, l, c)
        })
        .collect();
    if let Some(t) = spec.target_ref {
        let (l, c) = at(spec_field.key("targetRef"));
        targets.push((t, l, c));
    }
    Some(Attaching {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        namespace,
        name: metadata.name.unwrap_or_default(),
        file: file.clone(),
        line,
        parents,
        targets,
    })
}
