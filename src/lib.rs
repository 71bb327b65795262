//! synroute: Kubernetes routing manifests → Synapse's `upstreams.yaml` and
//! per-host certificate files, offline and deterministic to the byte.
//!
//! `render` is the whole job as a pure function: sources and options in,
//! artifacts and diagnostics out. It never touches the disk, the clock or
//! the network; `cli` (the shell) does. The stages run left to right:
//! `load` → `model::Snapshot` → `translate` → `ir::RouteTable` → `emit`.

pub mod alloc;
pub mod cli;
#[cfg(feature = "watch")]
pub mod cluster;
pub mod confighash;
pub mod diag;
pub mod diff;
pub mod emit;
pub mod gitops;
pub mod guard;
pub mod inputs;
pub mod ir;
pub mod listeners;
pub mod load;
pub mod model;
pub mod outputs;
#[cfg(feature = "watch")]
pub mod reload;
pub mod report;
pub mod route;
pub mod smallmap;
#[cfg(test)]
#[path = "../tests/support/synth.rs"]
mod synth;
pub mod target;
pub mod translate;
#[cfg(feature = "watch")]
pub mod watch;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use diag::{Code, Diagnostic, Location, Severity};
use model::{Anchored, FieldPath};

/// One input: a name (the path as given, or `-`) and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub content: Vec<u8>,
}

impl Source {
    pub fn new(name: impl Into<String>, content: impl Into<Vec<u8>>) -> Source {
        Source {
            name: name.into(),
            content: content.into(),
        }
    }
}

/// The resolved configuration of one render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub ingress_class: String,
    pub controller_name: String,
    pub cluster_domain: String,
    /// Keep only objects of this namespace; also the namespace of objects
    /// that name none.
    pub namespace: Option<String>,
    /// The host that catch-all rules are rendered under.
    pub catch_all_host: Option<String>,
    /// Render only routes attached to these Gateways (namespace, name);
    /// empty: every Gateway of our classes.
    pub gateways: Vec<(String, String)>,
    /// Dropped match conditions are errors, not warnings.
    pub strict: bool,
    /// The time certificates are checked at (Unix seconds); None: their
    /// validity is not checked. The shell passes `--now` or the clock.
    pub now: Option<i64>,
    /// Certificates expiring within this many days get a warning.
    pub expiry_warning_days: u32,
    /// Threads that parse documents; 0: every core. The result does not
    /// depend on it.
    pub jobs: usize,
    /// The routing-file format written (and whose limits are reported).
    pub target: target::Target,
    /// Pingress: the folder its proxy reads the TLS files from, as
    /// `proxy.json` names them.
    pub keys_dir: String,
    /// The render becomes Kubernetes objects (`--emit`): TLS Secrets are
    /// projected into the pod from the cluster, so one not in the input
    /// is expected there (its certificate is served, not checked).
    pub secrets_in_cluster: bool,
    /// The namespace of the workload the Secrets are projected into: a
    /// Secret of another namespace cannot be (reported, left out).
    pub workload_namespace: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ingress_class: "synapse".to_string(),
            controller_name: "gen0sec.com/synapse".to_string(),
            cluster_domain: "cluster.local".to_string(),
            namespace: None,
            catch_all_host: None,
            gateways: Vec::new(),
            strict: false,
            now: None,
            expiry_warning_days: 21,
            jobs: 0,
            target: target::Target::V1,
            keys_dir: emit::pingress::DEFAULT_KEYS_DIR.to_string(),
            secrets_in_cluster: false,
            workload_namespace: None,
        }
    }
}

/// Everything one render produces.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The bytes of `upstreams.yaml`.
    pub upstreams: Vec<u8>,
    /// Files for `--certs-out`, by file name.
    pub certs: BTreeMap<String, emit::certs::CertFile>,
    /// Sorted by file, line, code.
    pub diagnostics: Vec<Diagnostic>,
    /// Diagnostics silenced by their object's `synroute.gen0sec.com/ignore`
    /// annotation.
    pub suppressed: Vec<Diagnostic>,
    /// The route table the files were emitted from (for `explain`).
    pub table: ir::RouteTable,
    /// How many paths the table's hosts hold (not its internal paths).
    pub paths: usize,
    /// Every object synroute used, with where it is (for per-object reports).
    pub objects: Vec<UsedObject>,
    /// Route conditions (Accepted, ResolvedRefs) per HTTPRoute parentRef.
    pub route_status: Vec<ir::RouteStatus>,
    /// True when any input is malformed: nothing may be written.
    pub malformed: bool,
    pub stats: load::DocStats,
    /// The objects the render read, for callers that look further (and so
    /// that the caller decides when their memory is given back).
    pub snapshot: model::Snapshot,
}

impl Rendered {
    /// The highest severity among the diagnostics.
    pub fn worst(&self) -> Option<Severity> {
        self.diagnostics.iter().map(|d| d.severity).max()
    }

    /// Writes `upstreams.yaml` to `out` from the table, on `jobs` threads:
    /// the bytes `upstreams` holds after `render`, never held whole.
    pub fn write_upstreams(
        &self,
        out: &mut dyn std::io::Write,
        jobs: usize,
    ) -> std::io::Result<()> {
        match self.table.target {
            target::Target::V1 => emit::upstreams::write(&self.table, jobs, out),
            // Built whole with the diagnostics of what they cannot say.
            _ => out.write_all(&self.upstreams),
        }
    }
}

/// Renders `sources` with `opts`. Pure: no I/O.
pub fn render(sources: &[Source], opts: &Options) -> Rendered {
    with_output(translated(Input::Borrowed(sources), opts), opts)
}

/// `render`, owning the sources, whose text it frees as soon as it is
/// read: after the first pass only the Ingresses' and HTTPRoutes' text is
/// kept, after the second none (diagnostics are located through each
/// document's `Shape`). Same result as `render`; the peak memory of a
/// large render is much lower.
pub fn render_owned(sources: Vec<Source>, opts: &Options) -> Rendered {
    with_output(translated(Input::Owned(sources), opts), opts)
}

/// `render_owned` but for the bytes of `upstreams.yaml`, left unbuilt
/// (`upstreams` is empty): the caller writes them with
/// `Rendered::write_upstreams` straight to a file or stdout, so that a
/// large output is never held in memory. `synroute render` runs this.
pub fn render_owned_unwritten(sources: Vec<Source>, opts: &Options) -> Rendered {
    with_certs(translated(Input::Owned(sources), opts))
}

/// The sources, borrowed (kept by the caller) or owned (freed once read).
enum Input<'a> {
    Borrowed(&'a [Source]),
    Owned(Vec<Source>),
}

impl Input<'_> {
    fn sources(&self) -> &[Source] {
        match self {
            Input::Borrowed(s) => s,
            Input::Owned(s) => s,
        }
    }
}

/// Builds `upstreams.yaml` and the cert files from the table.
fn with_output(rendered: Rendered, opts: &Options) -> Rendered {
    let mut rendered = with_certs(rendered);
    if rendered.table.target == target::Target::V1 {
        rendered.upstreams = emit::upstreams::emit_with_jobs(&rendered.table, opts.jobs);
    }
    rendered
}

/// Builds the cert files from the table (their PEM shared with it).
fn with_certs(mut rendered: Rendered) -> Rendered {
    rendered.certs = emit::certs::emit(&rendered.table);
    rendered
}

/// Everything `render` does but the output files, which are left empty.
/// The Gateways that WrappedGateways generate are read as one more source
/// (`listeners::with_generated`), with what their synthesis reported.
fn translated(input: Input<'_>, opts: &Options) -> Rendered {
    match listeners::with_generated(input.sources(), opts) {
        None => translated_with(input, opts, Vec::new()),
        Some((generated, reported)) => {
            let mut sources = match input {
                Input::Borrowed(s) => s.to_vec(),
                Input::Owned(s) => s,
            };
            sources.extend(generated);
            translated_with(Input::Owned(sources), opts, reported)
        }
    }
}

fn translated_with(mut input: Input<'_>, opts: &Options, reported: Vec<Diagnostic>) -> Rendered {
    // The cores are counted once here, not for each file split or map.
    let opts = &Options {
        jobs: load::resolve_jobs(opts.jobs),
        ..opts.clone()
    };
    // A caller that keeps the text is located in it; else through shapes.
    let text = match &input {
        Input::Borrowed(sources) => Some(*sources),
        Input::Owned(_) => None,
    };
    let (mut loaded, mut pending, kinds) =
        load::load_unfilled(input.sources(), opts, text.is_none());
    // The text the second pass needs is kept while the maps are built.
    kinds.insert(&mut loaded, opts.jobs, || {
        if let Input::Owned(sources) = &mut input {
            pending.keep_only(sources);
        }
    });
    let snap = &loaded.snapshot;
    let scope = translate::scope::scope(snap, opts);
    let lookup = model::Lookup::new(snap);
    let late = load::load_pending(
        pending,
        input.sources(),
        opts,
        |ing| translate::ingress::translate_alone(snap, &lookup, opts, ing),
        |route| translate::gateway::translate_alone(snap, &lookup, &scope, opts, route),
    );
    drop(input);
    let streamed = loaded.absorb(late, opts.jobs);
    let translated = translate::translate(&loaded.snapshot, scope, streamed, opts);
    let table = translated.table;
    let mut anchored = loaded.diagnostics;
    anchored.extend(reported.into_iter().map(Anchored::plain));
    anchored.extend(translated.diagnostics);
    // The formats built whole are built here, where what they cannot say
    // joins the other diagnostics.
    let (upstreams, lost) = emit::lower(&table, &opts.keys_dir);
    anchored.extend(lost);
    if loaded.snapshot.is_empty() && !loaded.malformed {
        anchored.push(Anchored::plain(Diagnostic::new(
            Code::NoObjects,
            "the input holds no Ingress, Service, Secret or Gateway API object",
        )));
    }
    let at = match text {
        Some(sources) => Locator::Text(sources),
        None => Locator::Shapes(&loaded.shapes),
    };
    // Located on every core; the diagnostics are then moved out, not
    // copied (and the copies' originals freed one by one on this thread).
    let diagnostics = resolve_all(anchored, &at, opts.jobs);
    let (mut diagnostics, mut suppressed) = suppress(diagnostics, &loaded.snapshot, &at, opts.jobs);
    let metas = loaded.snapshot.metas();
    let root = FieldPath::root();
    // Items of a `kind: List` are located in their List's text, all of one
    // List at once; every other object starts where its document does,
    // found on every core without its text.
    let items: Vec<_> = metas
        .iter()
        .filter(|(o, _)| o.doc.list_item.is_some())
        .map(|(o, _)| (&***o, &root))
        .collect();
    let mut in_lists = at.place_all(&items, opts.jobs).into_iter();
    let objects: Vec<UsedObject> = load::parallel_map(&metas, opts.jobs, |(o, _)| {
        let (file, line, column) = place(o, &root, |_| (0, 1));
        UsedObject {
            origin: Arc::clone(o),
            file,
            line,
            column,
        }
    })
    .into_iter()
    .map(|mut u| {
        if u.origin.doc.list_item.is_some()
            && let Some((file, line, column)) = in_lists.next()
        {
            (u.file, u.line, u.column) = (file, line, column);
        }
        u
    })
    .collect();
    diagnostics.sort();
    diagnostics.dedup();
    suppressed.sort();
    suppressed.dedup();
    Rendered {
        upstreams: upstreams.unwrap_or_default(),
        certs: BTreeMap::new(),
        diagnostics,
        suppressed,
        objects,
        table,
        paths: translated.paths,
        route_status: translated.route_status,
        malformed: loaded.malformed,
        stats: loaded.stats,
        snapshot: loaded.snapshot,
    }
}

/// The annotation that silences codes on one object.
pub const IGNORE_ANNOTATION: &str = "synroute.gen0sec.com/ignore";

/// Moves the diagnostics an object's ignore annotation names into the
/// suppressed list; reports annotation entries that silence nothing.
fn suppress(
    diagnostics: Vec<Diagnostic>,
    snap: &model::Snapshot,
    at: &Locator<'_>,
    jobs: usize,
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    /// One word of an ignore annotation.
    struct Rule<'a> {
        object: diag::ObjectRef,
        origin: &'a Arc<model::Origin>,
        word: String,
        code: Option<Code>,
    }
    let mut rules: Vec<Rule<'_>> = Vec::new();
    for (origin, meta) in snap.metas() {
        let Some(value) = meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(IGNORE_ANNOTATION))
        else {
            continue;
        };
        for word in value
            .split([',', ' '])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            rules.push(Rule {
                object: origin.object_ref(),
                origin,
                word: word.to_string(),
                code: Code::parse(word),
            });
        }
    }
    // The rules by what they silence: each diagnostic looks up its own.
    let by_target: HashMap<(&diag::ObjectRef, Code), usize> = rules
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(i, r)| Some(((&r.object, r.code?), i)))
        .collect();
    let mut used = vec![false; rules.len()];
    let (mut kept, mut gone) = (Vec::new(), Vec::new());
    for d in diagnostics {
        let hit = d
            .object
            .as_ref()
            .and_then(|o| by_target.get(&(o, d.code)))
            .and_then(|&i| used.get_mut(i));
        match hit {
            Some(used) => {
                *used = true;
                gone.push(d);
            }
            None => kept.push(d),
        }
    }
    let mut unused = Vec::new();
    for (
        Rule {
            origin, word, code, ..
        },
        used,
    ) in rules.into_iter().zip(used)
    {
        if used {
            continue;
        }
        let why = if code.is_some() {
            format!("{IGNORE_ANNOTATION}: {word} silences nothing on this object; remove it")
        } else {
            format!("{IGNORE_ANNOTATION}: {word:?} is not a synroute code")
        };
        let field = FieldPath::of(&["metadata", "annotations"]).key(IGNORE_ANNOTATION);
        unused.push(model::diag_at(Code::UnusedSuppression, why, origin, &field));
    }
    kept.extend(resolve_all(unused, at, jobs));
    (kept, gone)
}

/// Turns anchored diagnostics into located ones, finding each field's own
/// line in the source text (a diagnostic or note without an anchor keeps
/// its own location).
fn resolve_all(anchored: Vec<Anchored>, at: &Locator<'_>, jobs: usize) -> Vec<Diagnostic> {
    // Every anchor, the diagnostic's first and then its notes'.
    let wanted: Vec<(&model::Origin, &FieldPath)> = anchored
        .iter()
        .flat_map(|a| std::iter::once(&a.anchor).chain(&a.related_anchors))
        .filter_map(|anchor| anchor.as_ref().map(|(o, f)| (&**o, f)))
        .collect();
    let mut places = at.place_all(&wanted, jobs).into_iter().map(location);
    anchored
        .into_iter()
        .map(|a| {
            let mut d = a.diag;
            if a.anchor.is_some() {
                d.location = places.next();
            }
            for (i, anchor) in a.related_anchors.iter().enumerate() {
                let at = anchor.as_ref().and_then(|_| places.next());
                if let Some(r) = d.related.get_mut(i).filter(|_| at.is_some()) {
                    r.location = at;
                }
            }
            d
        })
        .collect()
}

/// Where fields are located: in the sources' text while it is held, else
/// through the documents' shapes (`render_owned`). Both give the same
/// place (`tests/scale.rs` compares them on every fixture).
enum Locator<'a> {
    Text(&'a [Source]),
    Shapes(&'a load::Shapes),
}

impl Locator<'_> {
    /// The file, line and column of each `field` of the object at its
    /// origin, in order: grouped by document, so each document is read
    /// and indexed once however many fields are located in it (and the
    /// documents spread over `jobs` cores).
    fn place_all(
        &self,
        wanted: &[(&model::Origin, &FieldPath)],
        jobs: usize,
    ) -> Vec<(Arc<str>, u32, u32)> {
        let key = |i: &usize| wanted.get(*i).map(|(o, _)| (o.doc.source, o.doc.start));
        // An object's own start needs no look at its text (most of the
        // object list): only the others are grouped by document.
        let walked =
            |(o, f): &&(&model::Origin, &FieldPath)| !f.is_root() || o.doc.list_item.is_some();
        let mut order: Vec<usize> = (0..wanted.len())
            .filter(|&i| wanted.get(i).is_some_and(|w| walked(&w)))
            .collect();
        order.sort_by_key(key);
        let groups: Vec<&[usize]> = order.chunk_by(|a, b| key(a) == key(b)).collect();
        let placed = load::parallel_map(&groups, jobs, |group| {
            let mut doc: Option<load::DocIndex<'_>> = None;
            let mut out = Vec::with_capacity(group.len());
            for &i in *group {
                let Some(&(origin, field)) = wanted.get(i) else {
                    continue;
                };
                let found = place(origin, field, |p| {
                    doc.get_or_insert_with(|| self.doc(&origin.doc)).locate(p)
                });
                out.push((i, found));
            }
            out
        });
        let mut all: Vec<Option<(Arc<str>, u32, u32)>> = vec![None; wanted.len()];
        for (i, found) in placed.into_iter().flatten() {
            if let Some(slot) = all.get_mut(i) {
                *slot = Some(found);
            }
        }
        all.into_iter()
            .zip(wanted)
            // Not walked: the object's own start, which `place` finds
            // without its text.
            .map(|(found, (origin, field))| {
                found.unwrap_or_else(|| place(origin, field, |_| (0, 1)))
            })
            .collect()
    }

    /// The document at `doc`, ready to locate fields in.
    fn doc(&self, doc: &model::DocSpan) -> load::DocIndex<'_> {
        match self {
            Locator::Text(sources) => load::DocIndex::of(
                sources
                    .get(doc.source)
                    .and_then(|s| s.content.get(doc.start..doc.end))
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .unwrap_or(""),
            ),
            Locator::Shapes(shapes) => shapes.get(doc).map(load::Shape::doc).unwrap_or_default(),
        }
    }
}

/// An object the render used, and where it starts: kept as its origin
/// (shared with the table and diagnostics), for per-object reports.
#[derive(Clone, Debug)]
pub struct UsedObject {
    pub origin: Arc<model::Origin>,
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
}

impl UsedObject {
    pub fn object_ref(&self) -> diag::ObjectRef {
        self.origin.object_ref()
    }

    pub fn location(&self) -> Location {
        Location {
            file: self.file.to_string(),
            line: self.line,
            column: Some(self.column),
        }
    }
}

/// The file:line:column of `field` of the object at `origin`.
pub fn locate(origin: &model::Origin, field: &FieldPath, sources: &[Source]) -> Location {
    locate_all(&[(origin, field)], sources, 1)
        .pop()
        .unwrap_or_else(|| location((Arc::clone(&origin.file), origin.line, 1)))
}

/// `locate` for many fields at once: each document read once.
pub fn locate_all(
    wanted: &[(&model::Origin, &FieldPath)],
    sources: &[Source],
    jobs: usize,
) -> Vec<Location> {
    Locator::Text(sources)
        .place_all(wanted, jobs)
        .into_iter()
        .map(location)
        .collect()
}

fn location((file, line, column): (Arc<str>, u32, u32)) -> Location {
    Location {
        file: file.to_string(),
        line,
        column: Some(column),
    }
}

/// The file, line and column of `field` of the object at `origin`, given
/// `find`, which locates a path in the object's document (0-based line).
fn place(
    origin: &model::Origin,
    field: &FieldPath,
    find: impl FnOnce(&FieldPath) -> (u32, u32),
) -> (Arc<str>, u32, u32) {
    let doc = origin.doc;
    let (line, column) = match doc.list_item {
        Some(i) => {
            let path = FieldPath::of(&["items"]).idx(i).join(field);
            let (l, c) = find(&path);
            (doc.first_line + l, c)
        }
        None if field.is_root() => (origin.line, 1),
        None => {
            let (l, c) = find(field);
            (doc.first_line + l, c)
        }
    };
    match &origin.source {
        // Point at the file the object was rendered from (helm, kustomize).
        Some((path, base)) if line >= *base => (Arc::clone(path), line - base + 1, column),
        _ => (Arc::clone(&origin.file), line, column),
    }
}
