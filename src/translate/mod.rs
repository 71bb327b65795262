//! Translation: Snapshot → RouteTable, with a diagnostic wherever meaning
//! is lost. Selection (classes, parents), routes, backends and TLS live in
//! their own files; the rules they share — host and path checks, how a
//! claim on (host, path) is reported — live here. Nothing in this module
//! reads text or knows Synapse's file format.

pub mod acme;
pub mod annotations;
pub mod attach;
pub mod backends;
pub mod certcheck;
pub mod crossserve;
pub mod gateway;
pub mod grpcroute;
pub mod httproute;
pub mod ingress;
pub mod listener;
pub mod others;
mod owned;
pub mod regex;
pub mod rules;
pub mod scope;
pub mod tls;
pub mod tlsroute;

use crate::Options;
use crate::diag::{Code, SUBSTITUTION_HINT, has_unsubstituted_variable};
use crate::ir::{
    Claim, Conflict, Passthrough, PathEntry, Provenance, RouteMatch, RouteStatus, RouteTable,
};
use crate::model::{
    Anchored, FieldPath, Kind, Lookup, Obj, Origin, Secret, Service, Snapshot, by_key, diag_at,
};
use crate::target::Target;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// `d`, about a reference to `kind namespace/name` that is not in the
/// input, told where an object of that kind and name is instead: another
/// namespace of the input, most often `default` because the file sets no
/// `metadata.namespace` and a kustomization would set it when built. The
/// message names the namespaces; a note points at each object (up to
/// three) with its file and line; the hint says how to render what is
/// applied.
pub fn elsewhere(
    d: Anchored,
    snap: &Snapshot,
    (kind, namespace, name): (Kind, &str, &str),
) -> Anchored {
    let others: Vec<&Arc<Origin>> = snap
        .same_name(kind, name)
        .iter()
        .filter(|o| o.namespace != namespace)
        .collect();
    let Some(first) = others.first() else {
        return d;
    };
    // Where each is, is its note's location: a message names no file, so
    // that it reads the same wherever the documents are.
    let unset = |o: &Origin| {
        if o.namespace_unset {
            ", which sets no metadata.namespace"
        } else {
            ""
        }
    };
    let mut d = d;
    d.diag.message = if others.len() == 1 {
        format!(
            "{}; {kind} {name} is in the input in namespace {}{}",
            d.diag.message,
            first.namespace,
            unset(first)
        )
    } else {
        let shown: Vec<String> = others
            .iter()
            .take(3)
            .map(|o| format!("{}{}", o.namespace, unset(o)))
            .collect();
        let more = others.len().saturating_sub(3);
        format!(
            "{}; {kind} {name} is in the input in namespaces {}{}",
            d.diag.message,
            shown.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        )
    };
    for o in others.iter().take(3) {
        d = d.related(
            format!(
                "{kind} {name} is here{}",
                if o.namespace_unset {
                    ", with no metadata.namespace"
                } else {
                    ""
                }
            ),
            o,
            &FieldPath::root(),
        );
    }
    if d.diag.hint.is_none() {
        d.diag.hint = Some(if others.iter().any(|o| o.namespace_unset) {
            format!(
                "an object without metadata.namespace renders in namespace {}; if a kustomization sets its namespace, render what is applied: `kustomize build DIR | synroute render -`",
                first.namespace
            )
        } else {
            format!(
                "the reference resolves to namespace {namespace}; the object of that name is in {}",
                first.namespace
            )
        });
    }
    d
}

/// The state one translation threads through its stages.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub opts: &'a Options,
    pub table: RouteTable,
    pub diags: Vec<Anchored>,
    pub route_status: Vec<RouteStatus>,
    /// Set while one object is translated off the main thread: the
    /// operations on the shared table are recorded here, to be replayed in
    /// the SPEC's order (`replay`), instead of being applied.
    pub ops: Option<Vec<Op>>,
    /// The snapshot's hash indexes, where the caller built them (the
    /// per-object translations); else lookups search the snapshot's maps.
    pub lookup: Option<&'a Lookup<'a>>,
}

/// An operation on the route table, recorded by a translation that runs
/// in parallel with others and replayed in order.
pub enum Op {
    Claim {
        host: String,
        path: String,
        entry: PathEntry,
    },
    /// A claim by a match that is not a plain prefix (v2).
    ClaimMatch {
        host: String,
        /// Boxed: every recorded operation is as large as the largest.
        m: Box<RouteMatch>,
        entry: PathEntry,
    },
    /// A host passed through as TLS (v2).
    Passthrough { host: String, p: Passthrough },
    Solver {
        token_path: String,
        server: crate::ir::Server,
        provenance: Provenance,
        /// The names the solver answers for (v2 routes it on their host).
        hosts: Vec<String>,
    },
    /// Sticky sessions, if a claim of the same object was inserted.
    Sticky(Provenance),
    /// A certificate bundle of a TLS entry, its Secret already read.
    Bundle(Box<tls::Wanted>),
}

impl<'a> Ctx<'a> {
    pub fn new(snap: &'a Snapshot, opts: &'a Options) -> Ctx<'a> {
        Ctx {
            snap,
            opts,
            table: RouteTable {
                target: opts.target,
                ..RouteTable::default()
            },
            diags: Vec::new(),
            route_status: Vec::new(),
            ops: None,
            lookup: None,
        }
    }

    /// A context that records table operations instead of applying them,
    /// looking Services and Secrets up in `lookup`.
    pub fn recording(snap: &'a Snapshot, opts: &'a Options, lookup: &'a Lookup<'a>) -> Ctx<'a> {
        Ctx {
            ops: Some(Vec::new()),
            lookup: Some(lookup),
            ..Ctx::new(snap, opts)
        }
    }

    /// The Service `namespace/name` of the snapshot.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&'a Obj<Service>> {
        match self.lookup {
            Some(l) => l.service(namespace, name),
            None => by_key(&self.snap.services, namespace, name),
        }
    }

    /// The Secret `namespace/name` of the snapshot.
    pub fn secret(&self, namespace: &str, name: &str) -> Option<&'a Obj<Secret>> {
        match self.lookup {
            Some(l) => l.secret(namespace, name),
            None => by_key(&self.snap.secrets, namespace, name),
        }
    }

    /// The diagnostics and recorded operations of a recording context,
    /// without spare capacity: every object's are kept until `replay`.
    pub fn into_recorded(self) -> (Vec<Anchored>, Vec<Op>) {
        let (mut diags, mut ops) = (self.diags, self.ops.unwrap_or_default());
        diags.shrink_to_fit();
        ops.shrink_to_fit();
        (diags, ops)
    }

    /// Applies recorded operations of one object, in order.
    pub fn replay(&mut self, ops: Vec<Op>) {
        let mut rendered = false;
        for op in ops {
            match op {
                Op::Claim { host, path, entry } => {
                    // Only v2 has passthrough hosts: v1's claims go
                    // straight in, without a second look at the host.
                    if self.target().v2() && self.passed_through(&host, &entry) {
                        continue;
                    }
                    let outcome = self.table.claim(host, path, entry);
                    rendered |= self.report_claim(outcome, host_path);
                }
                Op::ClaimMatch { host, m, entry } => {
                    rendered |= self.claim_match(&host, *m, entry);
                }
                Op::Passthrough { host, p } => {
                    rendered |= self.claim_passthrough(&host, p);
                }
                Op::Solver {
                    token_path,
                    server,
                    provenance,
                    hosts,
                } => acme::claim_solver(self, &token_path, server, provenance, hosts),
                Op::Sticky(prov) => {
                    if rendered {
                        self.set_sticky(prov);
                    }
                }
                Op::Bundle(wanted) => tls::insert_bundle(self, *wanted),
            }
        }
    }
}

impl Ctx<'_> {
    pub fn push(&mut self, d: Anchored) {
        self.diags.push(d);
    }

    /// Sticky sessions for the render, asked for by an object with a
    /// rendered entry; the first such object wins.
    pub fn set_sticky(&mut self, prov: Provenance) {
        match &mut self.ops {
            Some(ops) => ops.push(Op::Sticky(prov)),
            None => {
                if self.table.sticky_sessions.is_none() {
                    self.table.sticky_sessions = Some(prov);
                }
            }
        }
    }

    /// Claims (host, path) and reports a lost or displaced claim.
    /// Returns true when the entry is now in the table (always, while
    /// recording: the replay decides).
    pub fn claim(&mut self, host: &str, path: &str, entry: PathEntry) -> bool {
        if let Some(ops) = &mut self.ops {
            ops.push(Op::Claim {
                host: host.to_string(),
                path: path.to_string(),
                entry,
            });
            return true;
        }
        if self.target().v2() && self.passed_through(host, &entry) {
            return false;
        }
        let outcome = self.table.claim(host, path, entry);
        self.report_claim(outcome, host_path)
    }

    /// True (and reported) when `host` is passed through: it takes no
    /// route.
    fn passed_through(&mut self, host: &str, entry: &PathEntry) -> bool {
        let Some(p) = self.table.host(host).and_then(|h| h.passthrough()) else {
            return false;
        };
        let by = p.provenance.clone();
        self.push(
            diag_at(
                Code::RouteConflict,
                format!(
                    "{host} is passed through as TLS by {}; this route is not rendered there",
                    by.origin.describe()
                ),
                &entry.provenance.origin,
                &entry.provenance.field,
            )
            .related("the passthrough that is kept", &by.origin, &by.field),
        );
        true
    }

    /// The format being written.
    pub fn target(&self) -> Target {
        self.opts.target
    }

    /// Claims (host, match): a plain prefix as `claim`, any other match a
    /// route of its own (v2 only).
    pub fn claim_match(&mut self, host: &str, m: RouteMatch, entry: PathEntry) -> bool {
        if let Some(key) = m.plain_key() {
            return self.claim(host, key, entry);
        }
        if let Some(ops) = &mut self.ops {
            ops.push(Op::ClaimMatch {
                host: host.to_string(),
                m: Box::new(m),
                entry,
            });
            return true;
        }
        if self.passed_through(host, &entry) {
            return false;
        }
        let outcome = self.table.claim_match(host, m, entry);
        self.report_claim(outcome, host_path)
    }

    /// Makes `host` a passthrough host (v2); the first claim keeps it, and
    /// a host that already has routes is not passed through (and the
    /// other way round).
    pub fn claim_passthrough(&mut self, host: &str, p: Passthrough) -> bool {
        if let Some(ops) = &mut self.ops {
            ops.push(Op::Passthrough {
                host: host.to_string(),
                p,
            });
            return true;
        }
        let routed = self
            .table
            .host(host)
            .filter(|h| h.route_count() > 0)
            .and_then(|h| h.paths.values().chain(h.routes().map(|(_, e)| e)).next())
            .map(|e| e.provenance.clone());
        let kept = match routed {
            Some(by) => Err(by),
            None => self
                .table
                .claim_passthrough(host, p.clone())
                .map_err(|other| other.provenance),
        };
        match kept {
            Ok(()) => true,
            Err(by) => {
                self.push(
                    diag_at(
                        Code::RouteConflict,
                        format!(
                            "{host} is already served by {}; it is not passed through as well",
                            by.origin.describe()
                        ),
                        &p.provenance.origin,
                        &p.provenance.field,
                    )
                    .related("the entry that is kept", &by.origin, &by.field),
                );
                false
            }
        }
    }

    pub fn claim_internal(&mut self, path: &str, entry: PathEntry) -> bool {
        let outcome = self.table.claim_internal(path, entry);
        self.report_claim(outcome, |k| format!("internal path {}", k.path))
    }

    /// Reports a lost or displaced claim; `what` names the key.
    fn report_claim(&mut self, outcome: Claim, what: impl FnOnce(&Conflict) -> String) -> bool {
        match outcome {
            Claim::Inserted => true,
            Claim::Kept {
                existing,
                rejected,
                key,
            } => {
                let (new, conditional) = (&rejected.provenance, rejected.conditional);
                let by = &existing.provenance;
                if by.origin == new.origin && by.field == new.field {
                    return false;
                }
                let extra = if conditional && !existing.conditional {
                    " (a match with dropped header/query/method conditions never displaces an unconditional one)"
                } else {
                    ""
                };
                self.push(
                    diag_at(
                        Code::RouteConflict,
                        format!(
                            "{} is already served by {}; this one is not rendered there{extra}",
                            what(&key),
                            by.origin.describe()
                        ),
                        &new.origin,
                        &new.field,
                    )
                    .related("the entry that is kept", &by.origin, &by.field),
                );
                false
            }
            Claim::Displaced { old, by: new, key } => {
                let new = &new;
                let by = &old.provenance;
                self.push(
                    diag_at(
                        Code::RouteConflict,
                        format!(
                            "{} was claimed by a match whose conditions were dropped; the unconditional match of {} takes it",
                            what(&key),
                            new.origin.describe()
                        ),
                        &by.origin,
                        &by.field,
                    )
                    .related("the unconditional match that is kept", &new.origin, &new.field),
                );
                true
            }
        }
    }
}

/// How a claim on a host names its key in a conflict.
fn host_path(k: &Conflict) -> String {
    format!("{}{}", k.host, k.path)
}

/// What a host name in a manifest is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostName {
    Concrete(String),
    Wildcard(String),
    Invalid,
}

/// RFC 1123 subdomain (lowercase), optionally with one leading `*.` label.
pub fn classify_host(h: &str) -> HostName {
    let (wild, rest) = match h.strip_prefix("*.") {
        Some(r) => (true, r),
        None => (false, h),
    };
    let ok = !rest.is_empty()
        && rest.len() <= 253
        && rest.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    match (ok, wild) {
        (false, _) => HostName::Invalid,
        (true, true) => HostName::Wildcard(h.to_string()),
        (true, false) => HostName::Concrete(h.to_string()),
    }
}

/// Checks a host for routing. Returns the host to render under, or None
/// after reporting why it cannot be rendered.
/// A Gateway API route that reached every name (a listener without
/// hostname, a route without hostnames), rendered under
/// `--catch-all-host`: said, since a request for any other name reaches
/// nothing — but for v1's default host `*`, which serves every name.
pub fn catch_all_note(ctx: &mut Ctx<'_>, origin: &Arc<Origin>, field: &FieldPath) {
    let Some(name) = ctx.opts.catch_all_host.clone() else {
        return;
    };
    if ctx.target() == crate::target::Target::V1 && name == "*" {
        return;
    }
    let why = if ctx.target() == crate::target::Target::V1 {
        "v1's default host, `--catch-all-host '*'`, would serve every name".to_string()
    } else {
        format!("{} has no default host", ctx.target().describe())
    };
    ctx.push(diag_at(
        Code::CatchAllNameOnly,
        format!(
            "the route matches every name (a listener without hostname, no hostnames of its own); it is served under --catch-all-host {name} alone, and a request for any other name reaches nothing ({why})"
        ),
        origin,
        field,
    ));
}

pub fn routable_host(
    ctx: &mut Ctx<'_>,
    host: Option<&str>,
    origin: &Arc<Origin>,
    field: &FieldPath,
) -> Option<String> {
    let host = host.unwrap_or("");
    if host.is_empty() {
        if let Some(name) = &ctx.opts.catch_all_host {
            return Some(name.clone());
        }
        ctx.push(diag_at(
            Code::CatchAllHostUnsupported,
            format!(
                "the rule matches every host, which {} cannot express; it is not rendered",
                ctx.target().proxy()
            ),
            origin,
            field,
        ));
        return None;
    }
    match classify_host(host) {
        HostName::Concrete(h) => Some(h),
        // v2 has wildcard hosts: the longest suffix covering a name serves it.
        HostName::Wildcard(h) if ctx.target().wildcard_hosts() => Some(h),
        HostName::Wildcard(h) => {
            ctx.push(diag_at(
                Code::WildcardHostUnsupported,
                format!(
                    "host {h} is a wildcard; {} matches hosts exactly, so it is not rendered (target v2 has wildcard hosts)",
                    ctx.target().describe()
                ),
                origin,
                field,
            ));
            None
        }
        HostName::Invalid => {
            let mut d = diag_at(
                Code::InvalidHostname,
                format!("host {host:?} is not a valid DNS name; it is not rendered"),
                origin,
                field,
            );
            if has_unsubstituted_variable(host) {
                d = d.hint(SUBSTITUTION_HINT);
            }
            ctx.push(d);
            None
        }
    }
}

/// Why a path cannot be rendered as a Synapse key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathProblem {
    Regex,
    NotAbsolute,
}

/// Characters that make a path a regular expression (SPEC §3).
const REGEX_CHARS: &[char] = &['(', ')', '[', ']', '{', '}', '^', '$', '|', '*', '+', '?'];

/// A prefix path as a Synapse key: empty → `/`, trailing `/` removed.
pub fn prefix_key(path: &str) -> Result<String, PathProblem> {
    if path.is_empty() {
        return Ok("/".to_string());
    }
    if path.contains(REGEX_CHARS) {
        return Err(PathProblem::Regex);
    }
    if !path.starts_with('/') {
        return Err(PathProblem::NotAbsolute);
    }
    let trimmed = path.trim_end_matches('/');
    Ok(if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    })
}

/// Reports a path that cannot be rendered.
pub fn report_path(
    ctx: &mut Ctx<'_>,
    problem: PathProblem,
    path: &str,
    origin: &Arc<Origin>,
    field: &FieldPath,
) {
    let (code, msg) = match problem {
        PathProblem::Regex => (
            Code::UnsupportedPathRegex,
            format!(
                "path {path:?} is a regular expression, which {} cannot match; it is not rendered",
                ctx.target().proxy()
            ),
        ),
        PathProblem::NotAbsolute => (
            Code::InvalidPath,
            format!("path {path:?} does not start with `/`; it is not rendered"),
        ),
    };
    let mut d = diag_at(code, msg, origin, field);
    if has_unsubstituted_variable(path) {
        d = d.hint(SUBSTITUTION_HINT);
    }
    ctx.push(d);
}

/// What translation produces.
pub struct Translated {
    pub table: RouteTable,
    pub diagnostics: Vec<Anchored>,
    pub route_status: Vec<RouteStatus>,
    /// The paths of the table's hosts (not its internal paths).
    pub paths: usize,
}

/// Runs every translator in the SPEC's order (Ingresses, then Gateway API)
/// and finishes the table.
/// `streamed` holds each Ingress's and HTTPRoute's own translation
/// (`ingress::translate_alone`, `gateway::translate_alone` within `scope`).
pub fn translate(
    snap: &Snapshot,
    scope: scope::Scope,
    streamed: crate::load::Streamed<ingress::Alone, gateway::RouteAlone>,
    opts: &Options,
) -> Translated {
    let mut ctx = Ctx::new(snap, opts);
    // The routes are translated in order on this core; with another one,
    // the TLS Secrets' certificates are read meanwhile, for the checks.
    let enough = AtomicBool::new(false);
    // (With one job, told it has done enough before it starts, it does
    // nothing: the checks read every certificate themselves.)
    let (prepared, paths) = crate::load::beside(
        opts.jobs,
        || certcheck::prepare(snap, &enough),
        || {
            ingress::translate(&mut ctx, streamed.ingresses);
            gateway::translate(&mut ctx, scope, streamed.http_routes);
            if ctx.target().solvers_on_hosts() {
                acme::place_on_hosts(&mut ctx);
            }
            let paths = tls::assign_certificates(&mut ctx.table);
            enough.store(true, Ordering::Relaxed);
            paths
        },
    );
    certcheck::check(&mut ctx, &prepared);
    Translated {
        table: ctx.table,
        diagnostics: ctx.diags,
        route_status: ctx.route_status,
        paths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_keys() {
        assert_eq!(prefix_key(""), Ok("/".into()));
        assert_eq!(prefix_key("/"), Ok("/".into()));
        assert_eq!(prefix_key("//"), Ok("/".into()));
        assert_eq!(prefix_key("/api/"), Ok("/api".into()));
        assert_eq!(prefix_key("/a.b/c"), Ok("/a.b/c".into()));
        assert_eq!(prefix_key("/api/(.*)"), Err(PathProblem::Regex));
        assert_eq!(prefix_key("api"), Err(PathProblem::NotAbsolute));
    }

    #[test]
    fn hosts() {
        assert_eq!(
            classify_host("a.example.com"),
            HostName::Concrete("a.example.com".into())
        );
        assert_eq!(
            classify_host("*.example.com"),
            HostName::Wildcard("*.example.com".into())
        );
        assert_eq!(classify_host("app.${SECRET_DOMAIN}"), HostName::Invalid);
        assert_eq!(classify_host("A.example.com"), HostName::Invalid);
        assert_eq!(classify_host("-a.com"), HostName::Invalid);
        assert_eq!(classify_host("a..com"), HostName::Invalid);
    }
}
