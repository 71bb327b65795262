//! One document to one object: JSON or YAML, its kind sniffed, foreign
//! kinds skipped unparsed, the typed parse (the fast reader first), and
//! every problem as a located diagnostic.
//!
//! It knows no routing: what an object means is `translate/`'s.

#[allow(unused_imports)]
use super::*;

pub(super) fn is_json(name: &str, text: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".json")
        || (!name.to_ascii_lowercase().ends_with(".yaml")
            && !name.to_ascii_lowercase().ends_with(".yml")
            && text
                .trim_start_matches('\u{feff}')
                .trim_start()
                .starts_with('{'))
}

/// 1-based line and column of byte `offset` in `bytes`.
pub(super) fn line_col(bytes: &[u8], offset: usize) -> (u32, u32) {
    let offset = offset.min(bytes.len());
    let before = &bytes[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    (line as u32, (offset - line_start + 1) as u32)
}

/// serde's messages end in " at line L column C", relative to the
/// document; the located diagnostic carries the absolute position instead.
pub(super) fn strip_position(msg: &str) -> String {
    let mut out = msg.to_string();
    while let Some(i) = out.find(" at line ") {
        let rest = &out[i + " at line ".len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Some(after) = rest[digits..].strip_prefix(" column ") else {
            break;
        };
        let cols = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || cols == 0 {
            break;
        }
        let end = i + " at line ".len() + digits + " column ".len() + cols;
        out.replace_range(i..end, "");
    }
    out
}

/// The first line of a document that holds content.
pub(super) fn content_line(doc: &Doc<'_>) -> u32 {
    for (line, l) in (doc.span.first_line..).zip(doc.text.lines()) {
        let t = l.trim();
        if !(t.is_empty() || t.starts_with('#') || t == "---") {
            return line;
        }
    }
    doc.span.first_line
}

/// `aside` gets the Ingresses and HTTPRoutes of a `kind: List` that are
/// read alone in the second pass, and its foreign items that name Gateway
/// API objects.
pub(super) fn load_document(
    file: &Arc<str>,
    doc: &Doc<'_>,
    opts: &Options,
    aside: &mut ListAside,
) -> Outcome {
    let json = doc.text.trim_start().starts_with('{') || doc.text.trim_start().starts_with('[');
    if !json && parse::is_empty_yaml(doc.text) {
        return Outcome::Empty;
    }
    let line = content_line(doc);
    let head = if json {
        match parse::sniff_json(doc.text) {
            Some(h) => Ok(h),
            None => parse::head_json(doc.text),
        }
    } else {
        match parse::sniff(doc.text) {
            Some(h) => Ok(h),
            None => parse::head_yaml(doc.text),
        }
    };
    let head = match head {
        Ok(h) => h,
        Err(e) => return Outcome::Diagnosed(vec![malformed(file, doc, e, None)]),
    };
    let (Some(api_version), Some(kind)) = (head.api_version, head.kind) else {
        return kustomization(file, doc, None, opts).unwrap_or(Outcome::NotObject);
    };
    match parse::classify(&api_version, &kind) {
        Class::Foreign => {
            let kustomize = (kind == "Kustomization"
                && api_version.starts_with("kustomize.config.k8s.io/"))
            .then_some(line);
            kustomization(file, doc, kustomize, opts)
                .or_else(|| {
                    let refs = super::refs::refs_of(file, doc, (&api_version, &kind), line, opts)?;
                    Some(Outcome::Refs(Box::new(refs)))
                })
                .unwrap_or(Outcome::Foreign)
        }
        Class::Unsupported(k) => {
            let mut d = Diagnostic::new(
                Code::UnsupportedApiVersion,
                format!("{kind} of apiVersion {api_version} is not read; the object is skipped"),
            );
            d.location = Some(Location {
                file: file.to_string(),
                line,
                column: None,
            });
            d.hint = Some(format!(
                "synroute reads {} as {}",
                k,
                parse::supported_versions(k)
            ));
            Outcome::Diagnosed(vec![Anchored::plain(d)])
        }
        Class::Use(kind @ (Kind::Ingress | Kind::HttpRoute)) => {
            Outcome::Deferred { kind, json, line }
        }
        Class::Use(k) => load_object(file, doc, (k, json, line), None, opts),
        Class::List => load_list(file, doc, json, opts, aside),
    }
}

/// A kustomization (kind Kustomization of kustomize.config.k8s.io, or a
/// file named as kustomize looks for one) that sets `namespace:`: said
/// once, at that key, since the objects it lists are read as written.
/// None for any other document.
fn kustomization(
    file: &Arc<str>,
    doc: &Doc<'_>,
    kind_line: Option<u32>,
    opts: &Options,
) -> Option<Outcome> {
    let named = std::path::Path::new(&**file)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| {
            matches!(
                n,
                "kustomization.yaml" | "kustomization.yml" | "Kustomization"
            )
        });
    if kind_line.is_none() && !named {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Kustomization {
        namespace: Option<String>,
    }
    let k: Kustomization = crate::guard::yaml(doc.text).ok()?;
    let namespace = k.namespace.filter(|n| !n.trim().is_empty())?;
    let line = (doc.span.first_line..)
        .zip(doc.text.lines())
        .find(|(_, l)| l.starts_with("namespace:"))
        .map_or_else(|| content_line(doc), |(n, _)| n);
    let here = opts.namespace.as_deref().unwrap_or("default");
    let mut d = Diagnostic::new(
        Code::KustomizeNamespace,
        format!(
            "this kustomization sets namespace {namespace} when kustomize builds it; synroute reads its files as written, and their objects without metadata.namespace are in namespace {here}"
        ),
    );
    d.location = Some(Location {
        file: file.to_string(),
        line,
        column: Some(1),
    });
    d.hint = Some(format!(
        "`kustomize build DIR | synroute render -` renders the objects as applied; `--namespace {namespace}` gives them that namespace when every object read is meant for it"
    ));
    Some(Outcome::Diagnosed(vec![Anchored::plain(d)]))
}

/// The typed parse of a document whose kind is known; with `item`, of an
/// item of a `kind: List` left for the second pass, read alone from its
/// own text as it would have been in the List.
pub(super) fn load_object(
    file: &Arc<str>,
    doc: &Doc<'_>,
    (k, json, line): (Kind, bool, u32),
    item: Option<&ListItem>,
    opts: &Options,
) -> Outcome {
    let parsed = match (json, item) {
        (true, _) => parse::object_json(k, doc.text),
        (false, None) => parse::object_yaml(k, doc.text),
        (false, Some(_)) => parse::item_object_yaml(k, doc.text),
    };
    let helm = match item {
        Some(item) => item.helm.clone(),
        None => helm_comment(doc.text, doc.span.first_line),
    };
    match (parsed, item) {
        (Ok(obj), _) => identify(file, doc.span, line, k, obj, opts, helm),
        (Err(e), None) => Outcome::Diagnosed(vec![malformed(file, doc, e, Some(k))]),
        (Err(e), Some(item)) => Outcome::Diagnosed(vec![item_diag(
            file,
            line,
            item.index,
            Code::MalformedDocument,
            format!("{k}: {}", e.message),
        )]),
    }
}

pub(super) fn malformed(
    file: &Arc<str>,
    doc: &Doc<'_>,
    e: parse::ParseError,
    kind: Option<Kind>,
) -> Anchored {
    let line = doc.span.first_line + e.line.saturating_sub(1);
    let mut d = Diagnostic::new(Code::MalformedDocument, e.message.clone());
    if let Some(k) = kind {
        d.message = format!("{k}: {}", e.message);
        d.object = parse::name_hint(doc.text).map(|name| crate::diag::ObjectRef {
            kind: k.as_str().to_string(),
            namespace: None,
            name,
        });
    }
    d.location = Some(match helm_comment(doc.text, doc.span.first_line) {
        Some((path, base)) if line >= base => Location {
            file: path.to_string(),
            line: line - base + 1,
            column: Some(e.column),
        },
        _ => Location {
            file: file.to_string(),
            line,
            column: Some(e.column),
        },
    });
    d.field = e.field;
    let near = doc
        .text
        .lines()
        .nth(e.line.saturating_sub(1) as usize)
        .unwrap_or("");
    if crate::diag::has_unsubstituted_variable(near) {
        d.hint = Some(SUBSTITUTION_HINT.to_string());
    }
    Anchored::plain(d)
}

/// Names the object, applies namespace defaulting and `--namespace`.
pub(super) fn identify(
    file: &Arc<str>,
    span: DocSpan,
    line: u32,
    kind: Kind,
    obj: Object,
    opts: &Options,
    helm: Option<(Arc<str>, u32)>,
) -> Outcome {
    let meta = obj.metadata();
    let name = meta.name.clone().unwrap_or_default();
    let stated = meta.namespace.clone().filter(|n| !n.is_empty());
    let namespace_unset = stated.is_none() && !kind.cluster_scoped();
    let namespace = if kind.cluster_scoped() {
        String::new()
    } else {
        stated
            .or_else(|| opts.namespace.clone())
            .unwrap_or_else(|| "default".to_string())
    };
    let source = helm.or_else(|| kustomize_source(meta, line));
    let origin = Arc::new(Origin {
        file: file.clone(),
        line,
        kind,
        namespace,
        name,
        doc: span,
        source,
        namespace_unset,
    });
    if origin.name.is_empty() {
        let d = diag_at(
            Code::MissingName,
            format!("{kind} has no metadata.name"),
            &origin,
            &FieldPath::of(&["metadata"]),
        );
        return Outcome::Diagnosed(vec![d]);
    }
    if let Some(ns) = &opts.namespace
        && !kind.cluster_scoped()
        && &origin.namespace != ns
    {
        return Outcome::OutOfNamespace;
    }
    Outcome::Objects(vec![(obj, origin)], Vec::new())
}

/// Puts objects into the snapshot. Of two objects with the same identity,
/// the one whose (file, line) sorts first is kept, whatever the input order.
/// Nothing reads a Service's or Secret's labels or annotations but the
/// ignore annotation, and they are a tenth of a large input: they are
/// dropped on the thread that read the object, not one by one on the
/// thread that builds the snapshot.
pub(super) fn slim(outcome: Outcome) -> Outcome {
    let Outcome::Objects(mut objects, diags) = outcome else {
        return outcome;
    };
    for (obj, _) in &mut objects {
        match obj {
            Object::Service(v) => v.metadata = kept_meta(std::mem::take(&mut v.metadata)),
            Object::Secret(v) => v.metadata = kept_meta(std::mem::take(&mut v.metadata)),
            _ => {}
        }
    }
    Outcome::Objects(objects, diags)
}
