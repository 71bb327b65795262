//! Loading: source bytes → documents → typed objects in a `Snapshot`.
//!
//! Owns everything about input text: UTF-8, splitting YAML streams at `---`
//! while keeping each document's start line, JSON, `kind: List`, and the
//! cheap `apiVersion`/`kind` sniff that lets foreign kinds (Deployments,
//! CRDs, …) be skipped without parsing them. YAML and JSON crates are used
//! here and in `emit/` only. Every problem becomes a located diagnostic; this
//! module never reads the disk and never panics on input.

mod bytes;
mod document;
mod duplicates;
mod fast;
mod list;
mod locate;
mod parallel;
mod parse;
mod provenance;
mod refs;
mod select;
mod split;

use document::*;
use duplicates::*;
use list::*;
pub use locate::{DocIndex, Shape, locate};
pub(crate) use parallel::beside;
pub use parallel::{parallel_map, resolve_jobs};
use provenance::*;
pub use select::{RawDoc, RawMeta, contains, diag_in, documents_and_refusals, documents_of};

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::{Code, Diagnostic, Location, SUBSTITUTION_HINT, Severity};
use crate::model::{
    Anchored, BackendTlsPolicy, DocSpan, FieldPath, Gateway, GatewayClass, GrpcRoute, HttpRoute,
    Ingress, IngressClass, Key, Kind, ListenerSet, Meta, Namespace, Obj, Origin, ReferenceGrant,
    Secret, Service, Snapshot, TlsRoute, diag_at,
};
use crate::{Options, Source};
use parse::{Class, Object};

/// What became of the documents of the input, for reports and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DocStats {
    /// Objects of a kind synroute uses, loaded.
    pub used: usize,
    /// Objects of other kinds, skipped without a full parse.
    pub foreign: usize,
    /// Documents that are not Kubernetes objects (no `kind`/`apiVersion`).
    pub not_objects: usize,
    /// Empty documents (only comments or whitespace).
    pub empty: usize,
    /// Documents that produced a diagnostic instead of an object.
    pub diagnosed: usize,
    /// Objects left out by `--namespace`.
    pub out_of_namespace: usize,
}

impl DocStats {
    pub fn total(&self) -> usize {
        self.used
            + self.foreign
            + self.not_objects
            + self.empty
            + self.diagnosed
            + self.out_of_namespace
    }
}

/// The result of loading every source.
#[derive(Debug, Default)]
pub struct Loaded {
    pub snapshot: Snapshot,
    pub diagnostics: Vec<Anchored>,
    pub stats: DocStats,
    /// True when any input is malformed: `render` must write nothing.
    pub malformed: bool,
    /// With `load(.., shapes: true)`, the shape of every document an
    /// object or an anchored diagnostic came from: what locating a field
    /// needs once the text is gone.
    pub shapes: Shapes,
}

/// Documents' shapes by where they start (`DocSpan` source and start).
#[derive(Debug, Default)]
pub struct Shapes(Vec<((usize, usize), Shape)>);

impl Shapes {
    pub fn get(&self, doc: &DocSpan) -> Option<&Shape> {
        let key = (doc.source, doc.start);
        self.0
            .binary_search_by(|(k, _)| k.cmp(&key))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, s)| s)
    }

    /// Bytes held by the shapes.
    pub fn bytes(&self) -> usize {
        self.0.iter().map(|(_, s)| s.len()).sum()
    }

    fn push(&mut self, doc: &DocSpan, shape: Shape) {
        self.0.push(((doc.source, doc.start), shape));
    }

    fn sort(&mut self) {
        // Two runs already in order (the first pass's, the second's):
        // the stable sort finds them and merges them.
        self.0.sort_by_key(|(k, _)| *k);
        self.0.dedup_by_key(|(k, _)| *k);
        self.0.shrink_to_fit();
    }
}

/// The shape of a document whose outcome may be located later (one that
/// yielded objects or diagnostics), when shapes are kept.
fn shape_for<O>(keep: bool, doc: &Doc<'_>, outcome: &Outcome<O>) -> Option<Shape> {
    (keep && matches!(outcome, Outcome::Objects(..) | Outcome::Diagnosed(_)))
        .then(|| Shape::of(doc.text))
}

/// With shapes kept, the shapes of the items of a `kind: List` that
/// objects or diagnostics of `outcome` came from, when the items are
/// documents of their own (`item_spans`); empty for any other document.
fn item_shapes(keep: bool, doc: &Doc<'_>, outcome: &Outcome, jobs: usize) -> Vec<(DocSpan, Shape)> {
    let Outcome::Objects(objects, diags) = outcome else {
        return Vec::new();
    };
    if !keep {
        return Vec::new();
    }
    let anchors = diags
        .iter()
        .flat_map(|d| d.anchor.iter().chain(d.related_anchors.iter().flatten()))
        .map(|(origin, _)| &origin.doc);
    let mut spans: Vec<DocSpan> = objects
        .iter()
        .map(|(_, origin)| &origin.doc)
        .chain(anchors)
        .filter(|s| s.source == doc.span.source && s.start != doc.span.start)
        .copied()
        .collect();
    spans.sort_by_key(|s| s.start);
    spans.dedup_by_key(|s| s.start);
    // A List from `kubectl get` is one document of every object: its items'
    // shapes are made on every job.
    parallel_map(&spans, jobs, |s| {
        let from = s.start.checked_sub(doc.span.start)?;
        let to = s.end.checked_sub(doc.span.start)?;
        Some((*s, Shape::of(doc.text.get(from..to)?)))
    })
    .into_iter()
    .flatten()
    .collect()
}

/// One document's text and where it sits in its source.
struct Doc<'a> {
    text: &'a str,
    span: DocSpan,
}

/// What one document yielded.
enum Outcome<O = (Object, Arc<Origin>)> {
    /// Objects, with diagnostics about items of a `kind: List` that did not load.
    Objects(Vec<O>, Vec<Anchored>),
    Foreign,
    /// A foreign document that names Gateway API objects.
    Refs(Box<crate::model::Attaching>),
    NotObject,
    Empty,
    Diagnosed(Vec<Anchored>),
    OutOfNamespace,
    /// An Ingress or HTTPRoute, read in the second pass (see `load`).
    Deferred {
        kind: Kind,
        json: bool,
        line: u32,
    },
}

/// A document of the second pass, or an object of it already built out
/// of a `kind: List`.
enum Deferred {
    Doc {
        /// Where the document was in the input, which its origin keeps.
        span: DocSpan,
        /// Where its text is now: in its source, or in `Pending::pool`
        /// (`Pending::keep_only` moves it).
        at: usize,
        pooled: bool,
        kind: Kind,
        json: bool,
        line: u32,
        /// Set for an item of a `kind: List`, read alone.
        list: Option<ListItem>,
    },
    /// Taken by the job that translates it (`load_pending`), not copied.
    Parsed(std::sync::Mutex<Option<(Box<Object>, Arc<Origin>)>>),
}

/// The Ingresses and HTTPRoutes, left for the second pass (`load_pending`).
pub struct Pending {
    files: Vec<Arc<str>>,
    /// Whether the second pass keeps its documents' shapes too.
    shapes: bool,
    items: Vec<Deferred>,
    /// The kept text of the small sources, gathered by `keep_only`; empty
    /// when the caller keeps the sources.
    pool: Vec<u8>,
}

impl Pending {
    /// Keeps of the sources only the text of the documents left for the
    /// second pass and gives the rest back to the allocator: everything
    /// else is built, and located through its `Shape`. The sources are
    /// then only for `load_pending`.
    ///
    /// A large source's documents move to the front of its own buffer (no
    /// copy of a large input is made; the buffer, mapped on its own,
    /// shrinks in place). Small sources' documents are copied into one
    /// pool and their buffers freed whole: a folder of many small files
    /// otherwise left the freed tail of every file's buffer as a hole in
    /// the allocator's heaps, which the second pass did not fill (50k
    /// files: peak RSS 449 -> 368-389 MB).
    pub fn keep_only(&mut self, sources: &mut [Source]) {
        let small: Vec<bool> = sources.iter().map(small).collect();
        let pooled_len: usize = self
            .items
            .iter()
            .filter_map(|item| match item {
                Deferred::Doc { span, .. } if small.get(span.source) == Some(&true) => {
                    Some(span.end - span.start)
                }
                _ => None,
            })
            .sum();
        let mut pool = Vec::with_capacity(pooled_len);
        let mut ends = vec![0usize; sources.len()];
        for item in &mut self.items {
            let Deferred::Doc {
                span, at, pooled, ..
            } = item
            else {
                continue;
            };
            let (Some(source), Some(end)) =
                (sources.get_mut(span.source), ends.get_mut(span.source))
            else {
                continue;
            };
            let len = span.end - span.start;
            if small.get(span.source) == Some(&true) {
                if let Some(text) = source.content.get(*at..*at + len) {
                    *at = pool.len();
                    *pooled = true;
                    pool.extend_from_slice(text);
                }
            } else if *at + len <= source.content.len() && *end <= *at {
                // Documents are in input order: each moves down, never
                // over one still to move.
                source.content.copy_within(*at..*at + len, *end);
                *at = *end;
                *end += len;
            }
        }
        for (source, end) in sources.iter_mut().zip(ends) {
            source.content.truncate(end);
            source.content.shrink_to_fit();
        }
        self.pool = pool;
    }
}

/// What the second pass keeps of each object it reads.
enum Kept<A, B> {
    Ingress(Arc<Origin>, Meta, A),
    HttpRoute(Arc<Origin>, Meta, B),
}

/// The second pass's outcomes, in input order.
pub struct Late<A, B>(Vec<LateDoc<A, B>>);

/// What the second pass made of one item: its outcome, and the shape of
/// its document with where the document was.
type LateDoc<A, B> = (Outcome<Kept<A, B>>, Option<(DocSpan, Shape)>);

/// The second pass's results for the objects kept (duplicates dropped),
/// in the SPEC's order: by creationTimestamp (objects that carry one
/// first), then namespace/name.
pub struct Streamed<A, B> {
    pub ingresses: Vec<A>,
    pub http_routes: Vec<B>,
}

/// The first pass: splits every source into documents and builds every
/// kind but Ingress and HTTPRoute into the snapshot, on all cores. Those
/// two are most of a large input, and nothing but their own translation
/// reads their spec: they are left for `load_pending`, which hands each to
/// its translation as soon as it is built, with this snapshot complete, so
/// that only its metadata and translation are kept, never its spec.
///
/// `shapes`: keep each document's `Shape`, for a caller that frees the
/// text before locating (`render_owned`); one that keeps the text locates
/// in it and needs none.
pub fn load(sources: &[Source], opts: &Options, shapes: bool) -> (Loaded, Pending) {
    let (mut loaded, pending, kinds) = load_unfilled(sources, opts, shapes);
    kinds.insert(&mut loaded, opts.jobs, || {});
    (loaded, pending)
}

/// `load`, but the snapshot's maps are left to fill (`Kinds::insert`), so
/// that the caller can give the main thread other work while they are
/// built.
pub(crate) fn load_unfilled(
    sources: &[Source],
    opts: &Options,
    shapes: bool,
) -> (Loaded, Pending, Kinds) {
    let mut loaded = Loaded::default();
    // Splitting is a cheap sequential scan that fixes every document's file
    // and first line; the typed parses then run on all cores, and their
    // outcomes are merged back in input order, so the result and every
    // location are the same whatever `jobs` is.
    let files: Vec<Arc<str>> = sources.iter().map(|s| Arc::from(s.name.as_str())).collect();
    let mut docs: Vec<Split<'_>> = Vec::new();
    // A source too small to cut is split on one job, many of them on every
    // job at once (a folder of small files); a large one is then cut into
    // segments on every job by itself.
    let indexed: Vec<(usize, &Source)> = sources.iter().enumerate().collect();
    let early = parallel_map(&indexed, opts.jobs, |&(idx, s)| {
        small(s).then(|| split_source(idx, s, 1))
    });
    for (&(idx, source), early) in indexed.iter().zip(early) {
        match early.unwrap_or_else(|| split_source(idx, source, opts.jobs)) {
            // One large source's list is taken as it is, not copied.
            Ok(split) if docs.is_empty() => docs = split,
            Ok(split) => docs.extend(split),
            Err((line, column)) => {
                loaded.diagnostics.push(Anchored::plain(Diagnostic {
                    location: Some(Location {
                        file: source.name.clone(),
                        line,
                        column: Some(column),
                    }),
                    ..Diagnostic::new(Code::UnreadableInput, "the file is not UTF-8 text")
                }));
                loaded.stats.diagnosed += 1;
                loaded.malformed = true;
            }
        }
    }
    let outcomes = parallel_map(&docs, opts.jobs, |doc| match doc {
        Ok(doc) => {
            let mut aside = ListAside::default();
            let outcome = slim(load_document(
                &files[doc.span.source],
                doc,
                opts,
                &mut aside,
            ));
            // The items of a List are located in their own shapes; nothing
            // then points at the List's.
            let items = item_shapes(shapes, doc, &outcome, opts.jobs);
            let shape = if items.is_empty() {
                shape_for(shapes, doc, &outcome)
            } else {
                None
            };
            (outcome, shape, items, aside)
        }
        Err((idx, e)) => (
            Outcome::Diagnosed(vec![e.located(&files[*idx])]),
            None,
            Vec::new(),
            ListAside::default(),
        ),
    });
    let mut kinds = Kinds::default();
    let mut items: Vec<Deferred> = Vec::new();
    for (doc, (outcome, shape, item_shapes, aside)) in docs.into_iter().zip(outcomes) {
        if let (Ok(doc), Some(shape)) = (&doc, shape) {
            loaded.shapes.push(&doc.span, shape);
        }
        for (span, shape) in item_shapes {
            loaded.shapes.push(&span, shape);
        }
        match (outcome, doc) {
            (Outcome::Deferred { kind, json, line }, Ok(doc)) => {
                items.push(Deferred::Doc {
                    span: doc.span,
                    at: doc.span.start,
                    pooled: false,
                    kind,
                    json,
                    line,
                    list: None,
                });
            }
            // The streamed kinds of a `kind: List` are counted in the
            // second pass.
            (Outcome::Objects(objs, diags), _) => {
                let mut rest = Vec::with_capacity(objs.len());
                for (obj, origin) in objs {
                    match obj {
                        Object::Ingress(_) | Object::HttpRoute(_) => {
                            let parsed = Some((Box::new(obj), origin));
                            items.push(Deferred::Parsed(std::sync::Mutex::new(parsed)));
                        }
                        obj => rest.push((obj, origin)),
                    }
                }
                kinds.extend(tally(&mut loaded, Outcome::Objects(rest, diags)));
            }
            (outcome, _) => kinds.extend(tally(&mut loaded, outcome)),
        }
        // A List's Ingresses and HTTPRoutes, read alone in the second pass.
        // A List's foreign items that name our objects, as documents would.
        loaded.snapshot.attaching.extend(aside.refs);
        items.extend(aside.later.into_iter().map(|l| Deferred::Doc {
            span: l.span,
            at: l.span.start,
            pooled: false,
            kind: l.kind,
            json: l.json,
            line: l.line,
            list: Some(l.item),
        }));
    }
    (
        loaded,
        Pending {
            files,
            shapes,
            items,
            pool: Vec::new(),
        },
        kinds,
    )
}

/// The second pass: parses the Ingresses and HTTPRoutes on all cores and
/// hands each, as soon as it is built, to `ingress` or `http_route`; of the
/// object, only what `Loaded::absorb` needs to order it is kept.
pub fn load_pending<A, B, FA, FB>(
    pending: Pending,
    sources: &[Source],
    opts: &Options,
    ingress: FA,
    http_route: FB,
) -> Late<A, B>
where
    A: Send,
    B: Send,
    FA: Fn(&Obj<Ingress>) -> A + Sync,
    FB: Fn(&Obj<HttpRoute>) -> B + Sync,
{
    let Pending {
        files,
        shapes,
        items,
        pool,
    } = pending;
    let keep = |obj: Object, origin: Arc<Origin>| match obj {
        Object::Ingress(value) => {
            let ing = Obj {
                origin,
                value: *value,
            };
            let r = ingress(&ing);
            Some(Kept::Ingress(ing.origin, kept_meta(ing.value.metadata), r))
        }
        Object::HttpRoute(value) => {
            let route = Obj {
                origin,
                value: *value,
            };
            let r = http_route(&route);
            Some(Kept::HttpRoute(
                route.origin,
                kept_meta(route.value.metadata),
                r,
            ))
        }
        _ => None,
    };
    let outcomes = parallel_map(&items, opts.jobs, |d| match d {
        Deferred::Doc {
            span,
            at,
            pooled,
            kind,
            json,
            line,
            list,
        } => {
            let text = if *pooled {
                Some(pool.as_slice())
            } else {
                sources.get(span.source).map(|s| s.content.as_slice())
            };
            let text = text
                .and_then(|s| s.get(*at..*at + (span.end - span.start)))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or("");
            let doc = Doc { text, span: *span };
            let file = &files[span.source];
            let read = load_object(file, &doc, (*kind, *json, *line), list.as_ref(), opts);
            let outcome = match read {
                Outcome::Objects(objs, diags) => Outcome::Objects(
                    objs.into_iter()
                        .filter_map(|(obj, origin)| keep(obj, origin))
                        .collect(),
                    diags,
                ),
                other => other.without_objects(),
            };
            let shape = shape_for(shapes, &doc, &outcome).map(|s| (*span, s));
            (outcome, shape)
        }
        Deferred::Parsed(parsed) => {
            // Each item is met once; a poisoned lock (a job that panicked)
            // ends the render anyway.
            let taken = parsed.lock().ok().and_then(|mut p| p.take());
            let kept = taken.and_then(|(obj, origin)| keep(*obj, origin));
            (
                Outcome::Objects(kept.into_iter().collect(), Vec::new()),
                None,
            )
        }
    });
    Late(outcomes)
}

impl Loaded {
    /// Counts the second pass, puts its objects' metadata into the snapshot
    /// (of two with one identity, the first by file and line, as for every
    /// kind) and returns the results of the objects kept.
    /// With more than one job, the HTTPRoutes' map and the shapes are put
    /// in order on a thread of their own while this one orders the
    /// Ingresses' (three serial sorts of tens of thousands of entries).
    pub fn absorb<A: Send, B: Send>(&mut self, late: Late<A, B>, jobs: usize) -> Streamed<A, B> {
        // Sized up front: at 50k apps the lists are megabytes, and growing
        // them copied each one several times.
        let (mut n_ingresses, mut n_routes) = (0, 0);
        for (outcome, _) in &late.0 {
            if let Outcome::Objects(objects, _) = outcome {
                for kept in objects {
                    match kept {
                        Kept::Ingress(..) => n_ingresses += 1,
                        Kept::HttpRoute(..) => n_routes += 1,
                    }
                }
            }
        }
        let mut ingresses = Vec::with_capacity(n_ingresses);
        let mut routes = Vec::with_capacity(n_routes);
        self.shapes.0.reserve(late.0.len());
        for (outcome, shape) in late.0 {
            if let Some((span, shape)) = shape {
                self.shapes.push(&span, shape);
            }
            for kept in tally(self, outcome) {
                match kept {
                    Kept::Ingress(o, m, r) => ingresses.push((o, m, r)),
                    Kept::HttpRoute(o, m, r) => routes.push((o, m, r)),
                }
            }
        }
        let (snapshot, shapes) = (&mut self.snapshot, &mut self.shapes);
        // The routes' duplicates are reported after the Ingresses', as in
        // one pass.
        let mut route_diagnostics = Vec::new();
        let routes_and_shapes = || {
            shapes.sort();
            insert_kept(&mut snapshot.http_routes, &mut route_diagnostics, routes)
        };
        let (http_routes, ingresses) = beside(jobs, routes_and_shapes, || {
            insert_kept(&mut snapshot.ingresses, &mut self.diagnostics, ingresses)
        });
        self.diagnostics.extend(route_diagnostics);
        Streamed {
            ingresses,
            http_routes,
        }
    }
}

/// What is kept of the metadata of an object whose labels and annotations
/// nothing reads once it is translated (an Ingress, an HTTPRoute, a
/// Service, a Secret): what orders it (its creationTimestamp; its namespace
/// and name are in its origin) and the annotation that silences its
/// diagnostics.
fn kept_meta(meta: Meta) -> Meta {
    let annotations = meta.annotations.and_then(|mut a| {
        let ignore = a.remove(crate::IGNORE_ANNOTATION)?;
        let mut kept = crate::smallmap::SmallMap::default();
        kept.insert(crate::IGNORE_ANNOTATION.to_string(), ignore);
        Some(kept)
    });
    Meta {
        name: None,
        namespace: None,
        annotations,
        labels: None,
        creation_timestamp: meta.creation_timestamp,
    }
}

impl<O> Outcome<O> {
    /// The same outcome for one that holds no object.
    fn without_objects<P>(self) -> Outcome<P> {
        match self {
            Outcome::Objects(_, diags) => Outcome::Objects(Vec::new(), diags),
            Outcome::Foreign => Outcome::Foreign,
            Outcome::Refs(a) => Outcome::Refs(a),
            Outcome::NotObject => Outcome::NotObject,
            Outcome::Empty => Outcome::Empty,
            Outcome::Diagnosed(d) => Outcome::Diagnosed(d),
            Outcome::OutOfNamespace => Outcome::OutOfNamespace,
            Outcome::Deferred { kind, json, line } => Outcome::Deferred { kind, json, line },
        }
    }
}

/// Counts one document's outcome and keeps its diagnostics; returns its
/// objects.
fn tally<O>(loaded: &mut Loaded, outcome: Outcome<O>) -> Vec<O> {
    match outcome {
        Outcome::Objects(objs, diags) => {
            loaded.stats.used += objs.len();
            if !diags.is_empty() {
                loaded.stats.diagnosed += 1;
                loaded.malformed |= diags.iter().any(|d| d.diag.severity == Severity::Error);
                loaded.diagnostics.extend(diags);
            }
            return objs;
        }
        Outcome::Foreign => loaded.stats.foreign += 1,
        Outcome::Refs(a) => {
            loaded.stats.foreign += 1;
            loaded.snapshot.attaching.push(*a);
        }
        Outcome::NotObject => loaded.stats.not_objects += 1,
        Outcome::Empty => loaded.stats.empty += 1,
        Outcome::OutOfNamespace => loaded.stats.out_of_namespace += 1,
        Outcome::Diagnosed(diags) => {
            loaded.stats.diagnosed += 1;
            if diags.iter().any(|d| d.diag.severity == Severity::Error) {
                loaded.malformed = true;
            }
            loaded.diagnostics.extend(diags);
        }
        // Only the first pass defers, and only documents it read.
        Outcome::Deferred { .. } => {}
    }
    Vec::new()
}

/// A loading error found before an object's identity is known.
struct RawError {
    code: Code,
    message: String,
    line: u32,
    column: Option<u32>,
    hint: Option<String>,
}

impl RawError {
    fn located(&self, file: &Arc<str>) -> Anchored {
        let mut d = Diagnostic::new(self.code, self.message.clone());
        d.location = Some(Location {
            file: file.to_string(),
            line: self.line,
            column: self.column,
        });
        d.hint = self.hint.clone();
        Anchored::plain(d)
    }
}

/// A source too small to be cut into segments: split on one job (many
/// such at once), and its kept text pooled by `Pending::keep_only`.
fn small(s: &Source) -> bool {
    s.content.len() < split::PARALLEL_FROM
}

/// A document of a source, or an error found splitting it (with the
/// source's index).
type Split<'a> = Result<Doc<'a>, (usize, RawError)>;

/// The documents of source `idx` on `jobs` threads, or where its text
/// stops being UTF-8 (line, column).
fn split_source(idx: usize, source: &Source, jobs: usize) -> Result<Vec<Split<'_>>, (u32, u32)> {
    let text = std::str::from_utf8(&source.content)
        .map_err(|e| line_col(&source.content, e.valid_up_to()))?;
    let split = if is_json(&source.name, text) {
        split::json_documents(idx, text, jobs)
    } else {
        split::yaml_documents(idx, text, jobs)
    };
    Ok(split)
}

/// The fast YAML reader's reading of one document as a `serde_yaml::Value`
/// (None when it gives up), for tests that compare it with serde_yaml's.
pub fn fast_yaml_value(text: &str) -> Option<serde_yaml::Value> {
    use serde::Deserialize;
    fast::with_tree(text, |node| serde_yaml::Value::deserialize(node).ok()).flatten()
}

/// How the fast YAML reader and serde_yaml read the documents of `text`:
/// for each document of a kind synroute uses, its first line, the object
/// as the fast reader read it (None when it gave up) and as serde_yaml
/// read it, both as Debug text. For tests that hold the two to agreement.
pub fn fast_path_readings(text: &str) -> Vec<(u32, Option<String>, String)> {
    split::yaml_documents(0, text, 1)
        .into_iter()
        .flatten()
        .filter_map(|doc| {
            let head = parse::sniff(doc.text)?;
            let parse::Class::Use(kind) = parse::classify(
                head.api_version.as_deref().unwrap_or(""),
                head.kind.as_deref().unwrap_or(""),
            ) else {
                return None;
            };
            let fast = parse::object_yaml_fast(kind, doc.text).map(|o| format!("{o:?}"));
            let general = match parse::object_yaml_general(kind, doc.text) {
                Ok(o) => format!("{o:?}"),
                Err(e) => format!("error: {}", e.message),
            };
            Some((doc.span.first_line, fast, general))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(file: &str, line: u32, ns: &str, name: &str) -> Arc<Origin> {
        Arc::new(Origin {
            file: file.into(),
            line,
            kind: Kind::Ingress,
            namespace: ns.into(),
            name: name.into(),
            doc: crate::model::DocSpan {
                source: 0,
                start: 0,
                end: 0,
                first_line: line,
                list_item: None,
            },
            source: None,
            namespace_unset: false,
        })
    }

    /// A YAML List read item by item gives what the List read whole
    /// gives — objects, origins, diagnostics — and is not read so when an
    /// item does not read alone.
    #[test]
    fn a_list_read_by_items_is_the_list_read_whole() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut lists: Vec<String> = [
            "list-input/list.yaml",
            "duplicate-httproute-in-list/a-list.yaml",
        ]
        .iter()
        .map(|p| std::fs::read_to_string(dir.join(p)).unwrap())
        .collect();
        let svc = |name: &str, extra: &str| {
            format!(
                "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: {name}\n{extra}  spec:\n    ports:\n    - port: 80\n"
            )
        };
        lists.push(format!(
            "apiVersion: v1\nkind: List\n# items follow\nitems:\n{}{}{}{}{}{}{}{}metadata: {{}}\n",
            svc("plain", ""),
            svc("flow", "    labels: {a: b}\n"),
            svc(
                "anchored",
                "    labels: &l\n      a: b\n    annotations: *l\n"
            ),
            "- apiVersion: extensions/v1beta1\n  kind: Ingress\n  metadata:\n    name: old\n",
            "- apiVersion: v1\n  kind: Service\n  metadata:\n    namespace: x\n",
            "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: typed\n  spec: 5\n",
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: d\n",
            "- just a string\n",
        ));
        let opts = Options::default();
        let file: Arc<str> = Arc::from("list.yaml");
        let (mut deferred, mut built) = (0, 0);
        // `text` as the one document of source 0.
        let whole_of = |text| Doc {
            text,
            span: DocSpan {
                source: 0,
                start: 0,
                end: text.len(),
                first_line: 1,
                list_item: None,
            },
        };
        for text in &lists {
            let doc = whole_of(text);
            let helm = helm_comment(text, 1);
            let alone = load_yaml_items_alone(&file, &doc, &opts, &helm).expect(text);
            let Ok(whole) = load_list_whole(&file, &doc, false, &opts, &helm) else {
                panic!("{text}");
            };
            assert_eq!(alone.len(), whole.len(), "{text}");
            for (a, w) in alone.iter().zip(&whole) {
                let Some(later) = &a.later else {
                    assert_eq!(format!("{:?}", a.objects), format!("{:?}", w.objects));
                    assert_eq!(format!("{:?}", a.diags), format!("{:?}", w.diags));
                    continue;
                };
                // Left for the second pass, it reads there as it reads whole.
                assert!(a.objects.is_empty() && a.diags.is_empty(), "{text}");
                let item = Doc {
                    text: &text[later.span.start..later.span.end],
                    span: later.span,
                };
                let (k, json, line) = (later.kind, later.json, later.line);
                let read = load_object(&file, &item, (k, json, line), Some(&later.item), &opts);
                let Outcome::Objects(objects, diags) = read else {
                    panic!("{text}");
                };
                assert_eq!(format!("{objects:?}"), format!("{:?}", w.objects));
                assert_eq!(format!("{diags:?}"), format!("{:?}", w.diags));
                deferred += 1;
            }
            built += alone.iter().filter(|a| !a.objects.is_empty()).count();
        }
        assert!(deferred >= 3 && built >= 4, "{deferred} {built}");
        // An alias of an anchor in another item, a syntax error in an item,
        // fields after the items that do not read: the List is read whole.
        for text in [
            "kind: List\nitems:\n- a: &x 1\n- b: *x\n",
            "kind: List\nitems:\n- a: [1\n- b: 2\n",
            "kind: List\nitems:\n- a: 1\nmetadata: {\n",
        ] {
            let doc = whole_of(text);
            assert!(
                load_yaml_items_alone(&file, &doc, &opts, &None).is_none(),
                "{text}"
            );
        }
    }

    /// Of two objects with one identity the first by file and line is
    /// kept, and an object already in the map before both; the results
    /// come in namespace/name order (no timestamps), one per kept object.
    #[test]
    fn insert_kept_keeps_the_first_of_an_identity() {
        let mut map = BTreeMap::new();
        let earlier = origin("a.yaml", 1, "ns", "old");
        map.insert(
            ("ns".to_string(), "old".to_string()),
            Obj {
                origin: earlier.clone(),
                value: Meta::default(),
            },
        );
        let objects = vec![
            (origin("b.yaml", 9, "ns", "x"), Meta::default(), "x second"),
            (origin("b.yaml", 2, "ns", "x"), Meta::default(), "x first"),
            (
                origin("a.yaml", 5, "ns", "old"),
                Meta::default(),
                "old again",
            ),
            (origin("a.yaml", 7, "ns", "b"), Meta::default(), "b"),
        ];
        let mut diagnostics = Vec::new();
        let kept = insert_kept(&mut map, &mut diagnostics, objects);
        assert_eq!(kept, vec!["b", "x first"]);
        assert_eq!(diagnostics.len(), 2);
        let keys: Vec<_> = map.keys().map(|(ns, n)| format!("{ns}/{n}")).collect();
        assert_eq!(keys, vec!["ns/b", "ns/old", "ns/x"]);
        assert!(
            map.get(&("ns".to_string(), "old".to_string()))
                .is_some_and(|o| Arc::ptr_eq(&o.origin, &earlier))
        );
        assert!(
            map.get(&("ns".to_string(), "x".to_string()))
                .is_some_and(|o| o.origin.line == 2)
        );
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_col(b"ab", 0), (1, 1));
    }

    use proptest::prelude::*;

    proptest! {
        /// Whatever the jobs, every item is mapped once and the results
        /// come back in the items' order.
        #[test]
        fn parallel_map_is_an_ordered_map(
            items in prop::collection::vec(0usize..1000, 0..300),
            jobs in 0usize..12,
        ) {
            let got = parallel_map(&items, jobs, |x| x * 2 + 1);
            let want: Vec<usize> = items.iter().map(|x| x * 2 + 1).collect();
            prop_assert_eq!(got, want);
        }
    }
}
