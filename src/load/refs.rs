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

/// What a foreign document's references are read as.
#[derive(Deserialize)]
pub(super) struct RefsDoc {
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
    if !names_refs(doc.text) {
        return None;
    }
    let json = doc.text.trim_start().starts_with('{');
    let parsed: RefsDoc = if json {
        crate::guard::json(doc.text).ok()?
    } else {
        // The fast reader where it can (most documents), else serde_yaml.
        super::fast::with_tree(doc.text, |node| RefsDoc::deserialize(node).ok())
            .flatten()
            .or_else(|| crate::guard::yaml(doc.text).ok())?
    };
    // JSON is one line per document as often as not: its first line.
    let at = |field: FieldPath| {
        if json {
            return (doc.span.first_line, 1);
        }
        let (l, c) = locate(doc.text, &field);
        (doc.span.first_line + l, c)
    };
    attaching(file, parsed, (api_version, kind), line, opts, at)
}

/// Whether `text` can name references at all (the only cost a foreign
/// document without any pays).
pub(super) fn names_refs(text: &str) -> bool {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    // One search, built once (a searcher per call costs more than the
    // search on the short texts of List items): each `Ref` found is
    // looked at for what precedes it.
    static REF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"Ref"));
    let text = text.as_bytes();
    REF.find_iter(text).any(|at| {
        let before = text.get(..at).unwrap_or_default();
        before.ends_with(b"parent") || before.ends_with(b"target")
    })
}

/// The references of an item of a `kind: List` whose kind synroute does
/// not read, already parsed; each is located at the item's first line.
pub(super) fn item_refs(
    file: &Arc<str>,
    parsed: RefsDoc,
    (api_version, kind): (&str, &str),
    line: u32,
    opts: &Options,
) -> Option<Attaching> {
    if kind == "CustomResourceDefinition" {
        return None;
    }
    attaching(file, parsed, (api_version, kind), line, opts, |_| (line, 1))
}

/// `parsed` as the object it is, each reference located by `at`; None
/// when it names none (or lies outside `--namespace`).
fn attaching(
    file: &Arc<str>,
    parsed: RefsDoc,
    (api_version, kind): (&str, &str),
    line: u32,
    opts: &Options,
    at: impl Fn(FieldPath) -> (u32, u32),
) -> Option<Attaching> {
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

#[cfg(test)]
mod tests {
    use super::names_refs;

    #[test]
    fn only_a_parent_or_target_ref_counts() {
        assert!(names_refs("spec:\n  parentRefs: [{name: edge}]\n"));
        assert!(names_refs(r#"{"spec":{"targetRef":{"name":"web"}}}"#));
        assert!(names_refs("a: Ref\nb: targetRefs\n"));
        assert!(!names_refs("data:\n  secretRef: x\n  Ref: y\n"));
        assert!(!names_refs(""));
    }
}
