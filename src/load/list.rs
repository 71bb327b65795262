//! `kind: List` documents (what `kubectl get -o yaml|json` writes): each
//! item an object of its own, read alone on every core where it can be,
//! else the List read whole; each item located within itself.
//!
//! It renders nothing and keeps no state across calls.

#[allow(unused_imports)]
use super::*;

pub(super) fn load_list(
    file: &Arc<str>,
    doc: &Doc<'_>,
    json: bool,
    opts: &Options,
    aside: &mut ListAside,
) -> Outcome {
    let helm = helm_comment(doc.text, doc.span.first_line);
    let read = if json {
        None
    } else {
        load_yaml_items_alone(file, doc, opts, &helm)
    };
    let read = match read {
        Some(read) => read,
        None => match load_list_whole(file, doc, json, opts, &helm) {
            Ok(read) => read,
            Err(outcome) => return outcome,
        },
    };
    let (mut objects, mut diags) = (Vec::new(), Vec::new());
    for item in read {
        objects.extend(item.objects);
        diags.extend(item.diags);
        aside.later.extend(item.later);
        aside.refs.extend(item.refs);
    }
    Outcome::Objects(objects, diags)
}

/// What the items of a `kind: List` leave beside its objects: the
/// Ingresses and HTTPRoutes read in the second pass, and the items of
/// kinds synroute does not read that name Gateway API objects.
#[derive(Default)]
pub(super) struct ListAside {
    pub(super) later: Vec<LaterItem>,
    pub(super) refs: Vec<crate::model::Attaching>,
}

/// An Ingress or HTTPRoute of a `kind: List`, left for the second pass
/// like a document of those kinds: its own text is read there, alone.
pub(super) struct LaterItem {
    pub(super) span: DocSpan,
    pub(super) kind: Kind,
    pub(super) json: bool,
    pub(super) line: u32,
    pub(super) item: ListItem,
}

/// What the second pass needs to read an item of a `kind: List` alone.
#[derive(Clone, Debug)]
pub(super) struct ListItem {
    /// Its place in the List's `items`, for messages.
    pub(super) index: usize,
    /// The List's `# Source:` comment (helm).
    pub(super) helm: Option<(Arc<str>, u32)>,
}

/// A `kind: List` read as one document, its items then built on every job.
pub(super) fn load_list_whole(
    file: &Arc<str>,
    doc: &Doc<'_>,
    json: bool,
    opts: &Options,
    helm: &Option<(Arc<str>, u32)>,
) -> Result<Vec<ItemRead>, Outcome> {
    let items = if json {
        parse::list_items_json(doc.text)
    } else {
        parse::list_items_yaml(doc.text)
    };
    let items = match items {
        Ok(items) => items,
        Err(e) => return Err(Outcome::Diagnosed(vec![malformed(file, doc, e, None)])),
    };
    let spans = item_spans(doc, &items);
    let at: Vec<ItemAt> = (0..items.len())
        .map(|i| match spans.get(i) {
            // Each item is a document of its own where its text is known
            // (its fields are then located within it); else the List is,
            // and its fields are found under `items[i]` (`place`).
            Some(&span) => ItemAt {
                index: i,
                span,
                line: span.first_line,
            },
            None => {
                let (rel_line, _) = if json {
                    (0, 0)
                } else {
                    locate(doc.text, &FieldPath::of(&["items"]).idx(i))
                };
                ItemAt {
                    index: i,
                    span: DocSpan {
                        list_item: Some(i),
                        ..doc.span
                    },
                    line: doc.span.first_line + rel_line,
                }
            }
        })
        .collect();
    // A JSON item with its own text reads alone as it reads in the List:
    // its Ingresses and HTTPRoutes are left for the second pass. A YAML
    // item here may not (the List is read whole because some item does
    // not), so all are built now.
    let cx = ListCtx {
        file,
        opts,
        helm,
        json,
        defer: json && !spans.is_empty(),
    };
    let read = parallel_map(&at, opts.jobs, |at| {
        let item = items.get(at.index)?;
        let head = parse::item_head(item);
        let object = |k| parse::object_value(k, item);
        Some(list_item(&cx, at, head, object, || item_refs(item)))
    });
    Ok(read.into_iter().flatten().collect())
}

/// The references an item names, read from the item as the List holds it.
fn item_refs(item: &parse::Item<'_>) -> Option<super::refs::RefsDoc> {
    match item {
        parse::Item::Yaml(v) => {
            let spec = v.get("spec")?;
            let names = ["parentRefs", "targetRefs", "targetRef"];
            if !names.iter().any(|n| spec.get(n).is_some()) {
                return None;
            }
            serde::Deserialize::deserialize(v).ok()
        }
        parse::Item::Json(raw) => {
            let text = raw.get();
            if !super::refs::names_refs(text) {
                return None;
            }
            crate::guard::json(text).ok()
        }
    }
}

/// Where an item of a `kind: List` is.
pub(super) struct ItemAt {
    /// Its place in the List's `items`.
    pub(super) index: usize,
    pub(super) span: DocSpan,
    pub(super) line: u32,
}

/// What one item of a `kind: List` yielded.
#[derive(Default)]
pub(super) struct ItemRead {
    pub(super) objects: Vec<(Object, Arc<Origin>)>,
    pub(super) diags: Vec<Anchored>,
    pub(super) later: Option<LaterItem>,
    /// An item of a foreign kind naming Gateway API objects.
    pub(super) refs: Option<crate::model::Attaching>,
}

/// A diagnostic about item `index` of a List, at its first line.
pub(super) fn item_diag(
    file: &Arc<str>,
    line: u32,
    index: usize,
    code: Code,
    message: String,
) -> Anchored {
    let mut d = Diagnostic::new(code, message);
    d.location = Some(Location {
        file: file.to_string(),
        line,
        column: None,
    });
    d.field = Some(format!("items[{index}]"));
    Anchored::plain(d)
}

/// What reading every item of one `kind: List` shares.
pub(super) struct ListCtx<'a> {
    pub(super) file: &'a Arc<str>,
    pub(super) opts: &'a Options,
    /// The List's `# Source:` comment (helm).
    pub(super) helm: &'a Option<(Arc<str>, u32)>,
    pub(super) json: bool,
    /// Whether an Ingress or HTTPRoute is left for the second pass.
    pub(super) defer: bool,
}

/// One item of a `kind: List`, given its `apiVersion` and `kind` and how to
/// build it as a kind synroute uses, or (a foreign kind) read its
/// references; an Ingress or HTTPRoute is left for the second pass instead
/// when the List's items are (`object` is then not called).
pub(super) fn list_item(
    cx: &ListCtx<'_>,
    at: &ItemAt,
    (api_version, kind): (Option<String>, Option<String>),
    object: impl FnOnce(Kind) -> Result<Object, parse::ParseError>,
    refs: impl FnOnce() -> Option<super::refs::RefsDoc>,
) -> ItemRead {
    let ListCtx {
        file,
        opts,
        helm,
        json,
        defer,
    } = *cx;
    let located = |code: Code, message: String| item_diag(file, at.line, at.index, code, message);
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        return ItemRead::default();
    };
    let (objects, diags) = match parse::classify(&api_version, &kind) {
        Class::Foreign => {
            let refs = refs().and_then(|parsed| {
                super::refs::item_refs(file, parsed, (&api_version, &kind), at.line, opts)
            });
            return ItemRead {
                refs,
                ..ItemRead::default()
            };
        }
        Class::List => (Vec::new(), Vec::new()),
        Class::Unsupported(_) => (
            Vec::new(),
            vec![located(
                Code::UnsupportedApiVersion,
                format!("{kind} of apiVersion {api_version} is not read; the object is skipped"),
            )],
        ),
        Class::Use(k @ (Kind::Ingress | Kind::HttpRoute)) if defer => {
            let item = ListItem {
                index: at.index,
                helm: helm.clone(),
            };
            let later = LaterItem {
                span: at.span,
                kind: k,
                json,
                line: at.line,
                item,
            };
            return ItemRead {
                later: Some(later),
                ..ItemRead::default()
            };
        }
        Class::Use(k) => match object(k)
            .map(|obj| identify(file, at.span, at.line, k, obj, opts, helm.clone()))
        {
            Ok(Outcome::Objects(o, _)) => (o, Vec::new()),
            Ok(Outcome::Diagnosed(d)) => (Vec::new(), d),
            Ok(_) => (Vec::new(), Vec::new()),
            Err(e) => (
                Vec::new(),
                vec![located(
                    Code::MalformedDocument,
                    format!("{k}: {}", e.message),
                )],
            ),
        },
    };
    ItemRead {
        objects,
        diags,
        later: None,
        refs: None,
    }
}

/// A YAML `kind: List` read item by item on every job: each item's lines
/// (`locate::list_items`) read alone, by the fast reader where it can, so
/// that `kubectl get -o yaml` of a large cluster reads as fast as a stream
/// of the same objects and is never held whole as one tree. None when the
/// List cannot be read so — an item that does not read alone (an alias of
/// an anchor in another item, a syntax error), or fields around the items
/// that do not read — and it is then read whole, as any document.
pub(super) fn load_yaml_items_alone(
    file: &Arc<str>,
    doc: &Doc<'_>,
    opts: &Options,
    helm: &Option<(Arc<str>, u32)>,
) -> Option<Vec<ItemRead>> {
    let spans = item_spans_yaml(doc);
    let (first, last) = (spans.first()?, spans.last()?);
    // The List's own fields, its items left out, must read (and hold no
    // other items).
    let (from, to) = (
        first.start.checked_sub(doc.span.start)?,
        last.end.checked_sub(doc.span.start)?,
    );
    let rest = [doc.text.get(..from)?, doc.text.get(to..)?].concat();
    if !parse::list_items_yaml(&rest).ok()?.is_empty() {
        return None;
    }
    let at: Vec<ItemAt> = spans
        .into_iter()
        .enumerate()
        .map(|(index, span)| ItemAt {
            index,
            span,
            line: span.first_line,
        })
        .collect();
    let cx = ListCtx {
        file,
        opts,
        helm,
        json: false,
        defer: true,
    };
    let read = parallel_map(&at, opts.jobs, |at| {
        let from = at.span.start.checked_sub(doc.span.start)?;
        let to = at.span.end.checked_sub(doc.span.start)?;
        let text = doc.text.get(from..to)?;
        // One pass of the fast reader gives the head, the object and —
        // for a foreign item whose text can name references — those.
        let fast = parse::item_node(text, |node| {
            let (head, object) = parse::node_object(node)?;
            let foreign = match (&head.api_version, &head.kind) {
                (Some(a), Some(k)) => matches!(parse::classify(a, k), Class::Foreign),
                _ => false,
            };
            let refs = (foreign && super::refs::names_refs(text))
                .then(|| serde::Deserialize::deserialize(node).ok());
            Some((head, object, refs))
        });
        if let Some((head, object, refs)) = fast {
            let built = |_| object.ok_or_else(|| parse::ParseError::plain("not read".into()));
            let head = (head.api_version, head.kind);
            // References the fast reader could not read: serde_yaml's tree.
            let refs = || match refs? {
                Some(r) => Some(r),
                None => item_refs(&parse::Item::Yaml(parse::item_value(text).ok()?)),
            };
            return Some(list_item(&cx, at, head, built, refs));
        }
        let item = parse::Item::Yaml(parse::item_value(text).ok()?);
        let head = parse::item_head(&item);
        let object = |k| parse::object_value(k, &item);
        Some(list_item(&cx, at, head, object, || item_refs(&item)))
    });
    read.into_iter().collect()
}

/// Where each item of a `kind: List` is in the List's text, as a document
/// of its own: a JSON item's text is borrowed from the List's, a YAML
/// item's lines are found by `locate::list_items`. Empty when what is
/// found is not the parser's items, one for one: the caller then locates
/// items under the List's `items[i]`.
pub(super) fn item_spans(doc: &Doc<'_>, items: &[parse::Item<'_>]) -> Vec<DocSpan> {
    let text = doc.text;
    let base = text.as_ptr() as usize;
    let ranges: Vec<(usize, usize)> = match items.first() {
        Some(parse::Item::Json(_)) => items
            .iter()
            .map_while(|item| {
                let parse::Item::Json(raw) = item else {
                    return None;
                };
                let start = (raw.get().as_ptr() as usize).checked_sub(base)?;
                let end = start.checked_add(raw.get().len())?;
                (end <= text.len()).then_some((start, end))
            })
            .collect(),
        Some(parse::Item::Yaml(_)) => {
            let found = item_spans_yaml(doc);
            return if found.len() == items.len() {
                found
            } else {
                Vec::new()
            };
        }
        None => Vec::new(),
    };
    if ranges.len() != items.len() {
        return Vec::new();
    }
    spans_at(doc, ranges)
}

/// The spans of a YAML List's items (`locate::list_items`), in order.
pub(super) fn item_spans_yaml(doc: &Doc<'_>) -> Vec<DocSpan> {
    locate::list_items(doc.text)
        .into_iter()
        .map(|(start, end, line)| DocSpan {
            source: doc.span.source,
            start: doc.span.start + start,
            end: doc.span.start + end,
            first_line: doc.span.first_line + line,
            list_item: None,
        })
        .collect()
}

/// The spans of ranges of `doc`'s text, in order, with their first lines.
/// Empty when they are not in order.
pub(super) fn spans_at(doc: &Doc<'_>, ranges: Vec<(usize, usize)>) -> Vec<DocSpan> {
    let text = doc.text;
    let (mut line, mut at) = (doc.span.first_line, 0);
    let mut spans = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        let Some(between) = text.as_bytes().get(at..start) else {
            return Vec::new();
        };
        line += between.iter().filter(|&&b| b == b'\n').count() as u32;
        at = start;
        spans.push(DocSpan {
            source: doc.span.source,
            start: doc.span.start + start,
            end: doc.span.start + end,
            first_line: line,
            list_item: None,
        });
    }
    spans
}
