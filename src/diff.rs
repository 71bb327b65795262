//! `diff`: the change in meaning between two renders — hosts and paths
//! added or removed, servers and weights, flags and headers, certificates
//! added, removed or rotated — each naming the object it comes from, and
//! the diagnostics a change introduces or fixes. Printed as text, Markdown
//! (for a pull-request comment) or versioned JSON. Pure: both sides come in
//! as `Side`s built by the shell.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::diag::Diagnostic;
use crate::emit::upstreams::ParsedFile;
use crate::ir::{PathSettings, Provenance, Server};
use crate::target::Target;
use crate::{Rendered, Source};

/// One (host, path) entry as seen by diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub servers: Vec<Server>,
    pub settings: PathSettings,
    /// `Kind ns/name at file:line`, when the side was rendered here.
    pub source: Option<String>,
}

/// One side of a diff: a render of manifests, or an `upstreams.yaml`.
#[derive(Clone, Debug, Default)]
pub struct Side {
    /// host → path → entry; internal paths under the host `""`.
    pub entries: BTreeMap<String, BTreeMap<String, Entry>>,
    pub certificates: BTreeMap<String, String>,
    /// cert stem → SHA-256 fingerprint of the certificate (manifests only).
    pub fingerprints: BTreeMap<String, String>,
    /// cert stem → the Secret it comes from.
    pub cert_sources: BTreeMap<String, String>,
    pub sticky: bool,
    pub diagnostics: Vec<Diagnostic>,
    /// The rendered bytes, for `--unified`.
    pub text: String,
    /// Rendered from manifests here: certificates and diagnostics are
    /// known (an `upstreams.yaml` holds neither).
    pub rendered: bool,
}

/// The key under which internal (ACME) paths are kept.
pub const INTERNAL: &str = "";

/// The path key of a host passed through as TLS (v2): its one server.
pub const PASSTHROUGH: &str = "(passthrough)";

/// SHA-256 of the first certificate's DER, or of the bytes when they are
/// not PEM.
pub fn fingerprint(pem: &[u8]) -> String {
    let der = crate::translate::certcheck::first_pem(pem).map(|p| p.contents);
    let digest = Sha256::digest(der.as_deref().unwrap_or(pem));
    let mut hex = String::with_capacity(64);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    format!("sha256:{hex}")
}

/// A pool's weights reduced by their greatest common divisor: the same
/// shares compare equal whatever the file's numbers (v1's 90/10, 0.2's
/// nine and one repetitions).
fn normalized(mut servers: Vec<Server>) -> Vec<Server> {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let g = servers.iter().filter_map(|s| s.weight).fold(0, gcd);
    if g > 1 {
        for s in &mut servers {
            s.weight = s.weight.map(|w| w / g);
        }
    }
    servers
}

/// A list of servers in which repetition stands for weight (0.2) as a pool.
fn counted(list: &[String]) -> Vec<Server> {
    let mut out: Vec<Server> = Vec::new();
    for a in list {
        match out.iter_mut().find(|s| &s.address == a) {
            Some(s) => s.weight = Some(s.weight.unwrap_or(1) + 1),
            None => out.push(Server {
                address: a.clone(),
                weight: None,
            }),
        }
    }
    if out.iter().any(|s| s.weight.is_some()) {
        for s in &mut out {
            s.weight.get_or_insert(1);
        }
    }
    out
}

/// A v1 pool: a plain server listed twice is round-robined twice as often,
/// as a weighted one is.
fn repeated(servers: Vec<Server>) -> Vec<Server> {
    if servers.iter().any(|s| s.weight.is_some()) {
        return servers;
    }
    let list: Vec<String> = servers.into_iter().map(|s| s.address).collect();
    counted(&list)
}

/// `Name: value` (v2) as synroute's `Name:value`.
fn header_entry(h: &str) -> String {
    match h.split_once(':') {
        Some((n, v)) => format!("{}:{}", n.trim(), v.trim()),
        None => h.to_string(),
    }
}

impl Side {
    fn insert(
        &mut self,
        host: &str,
        path: &str,
        servers: Vec<Server>,
        settings: PathSettings,
        source: Option<String>,
    ) {
        let servers = normalized(servers);
        self.entries.entry(host.to_string()).or_default().insert(
            path.to_string(),
            Entry {
                servers,
                settings,
                source,
            },
        );
    }

    pub fn from_rendered(r: &Rendered, sources: &[Source]) -> Side {
        let mut side = Side {
            sticky: r.table.sticky_sessions.is_some(),
            diagnostics: r.diagnostics.clone(),
            text: String::from_utf8_lossy(&r.upstreams).to_string(),
            rendered: true,
            ..Side::default()
        };
        for (host, h) in &r.table.hosts {
            if let Some(c) = &h.certificate {
                side.certificates.insert(host.to_string(), c.clone());
            }
        }
        // Every route with the object it came from; the objects are
        // located together (each document read once), then inserted.
        let mut routes: Vec<(&str, String, Vec<Server>, PathSettings, &Provenance)> = Vec::new();
        let hosts = r.table.hosts.iter().map(|(h, e)| (h.as_str(), &e.paths));
        for (host, paths) in hosts.chain(std::iter::once((INTERNAL, &r.table.internal_paths))) {
            for (path, e) in paths {
                let settings = (*e.settings).clone();
                routes.push((
                    host,
                    path.to_string(),
                    e.servers.to_vec(),
                    settings,
                    &e.provenance,
                ));
            }
        }
        // v2's routes by other matches, keyed as they read (`/a (exact)`),
        // and passthrough hosts.
        for (host, h) in &r.table.hosts {
            for (m, e) in h.routes() {
                let settings = (*e.settings).clone();
                routes.push((
                    host,
                    m.to_string(),
                    e.servers.to_vec(),
                    settings,
                    &e.provenance,
                ));
            }
            if let Some(p) = h.passthrough() {
                let server = Server {
                    address: p.upstream.clone(),
                    weight: None,
                };
                let settings = PathSettings::default();
                routes.push((
                    host,
                    PASSTHROUGH.to_string(),
                    vec![server],
                    settings,
                    &p.provenance,
                ));
            }
        }
        let certs: Vec<_> = r.table.certs.iter().collect();
        let wanted: Vec<(&crate::model::Origin, &crate::model::FieldPath)> = routes
            .iter()
            .map(|(.., p)| *p)
            .chain(certs.iter().map(|(_, b)| &b.secret))
            .map(|p| (&*p.origin, &p.field))
            .collect();
        let places = crate::locate_all(&wanted, sources, 1);
        let mut described = wanted
            .iter()
            .zip(places)
            .map(|((origin, _), l)| format!("{} at {}:{}", origin.describe(), l.file, l.line));
        for (host, path, servers, settings, _) in routes {
            side.insert(host, &path, servers, settings, described.next());
        }
        for (stem, b) in certs {
            side.fingerprints
                .insert(stem.clone(), fingerprint(&b.cert_pem));
            if let Some(d) = described.next() {
                side.cert_sources.insert(stem.clone(), d);
            }
        }
        side
    }

    /// A routing file of `format` (None: `emit::schema::sniff` tells which),
    /// as the routing it stands for.
    pub fn from_routing_file(text: &str, format: Option<Target>) -> Result<Side, String> {
        let located = |e: serde_yaml::Error| match e.location() {
            Some(l) => format!("line {} column {}: {e}", l.line(), l.column()),
            None => e.to_string(),
        };
        match format.or_else(|| crate::emit::schema::sniff(text)) {
            Some(Target::V2) => serde_yaml::from_str::<crate::emit::v2::File>(text)
                .map(|f| Side::from_v2_file(&f, text))
                .map_err(located),
            Some(Target::V02) => serde_yaml::from_str::<crate::emit::v02::File>(text)
                .map(|f| Side::from_v02_file(&f, text))
                .map_err(located),
            _ => crate::emit::upstreams::parse(text).map(|f| Side::from_file(&f, text)),
        }
    }

    /// A 0.2 file: repeated servers are a weighted pool, and the one
    /// header list goes both ways.
    pub fn from_v02_file(f: &crate::emit::v02::File, text: &str) -> Side {
        let mut side = Side {
            sticky: f.sticky_sessions,
            text: text.to_string(),
            ..Side::default()
        };
        let settings = |p: &crate::emit::v02::Path| PathSettings {
            ssl_enabled: p.ssl_enabled,
            http2_enabled: p.http2_enabled,
            https_proxy_enabled: p.https_proxy_enabled,
            healthcheck: p.healthcheck,
            disable_access_log: p.disable_access_log,
            request_headers: p.headers.clone(),
            response_headers: p.headers.clone(),
            ..PathSettings::default()
        };
        for (host, h) in &f.upstreams {
            if let Some(c) = &h.certificate {
                side.certificates.insert(host.clone(), c.clone());
            }
            for (path, p) in &h.paths {
                side.insert(host, path, counted(&p.servers), settings(p), None);
            }
        }
        for (path, p) in &f.arxignis_paths {
            side.insert(INTERNAL, path, counted(&p.servers), settings(p), None);
        }
        side
    }

    /// A v2 file: expression routes keyed by the match they stand for.
    pub fn from_v2_file(f: &crate::emit::v2::File, text: &str) -> Side {
        use crate::emit::v2::Upstream;
        let mut side = Side {
            sticky: f.proxy.sticky_sessions.as_ref().is_some_and(|s| s.enabled),
            text: text.to_string(),
            ..Side::default()
        };
        for (host, h) in &f.hosts {
            if let Some(c) = h.tls.terminate.as_ref().and_then(|t| t.cert.clone()) {
                side.certificates.insert(host.clone(), c);
            }
            if let Some(u) = &h.upstream {
                let servers = vec![Server {
                    address: u.clone(),
                    weight: None,
                }];
                side.insert(host, PASSTHROUGH, servers, PathSettings::default(), None);
            }
            for (key, r) in &h.paths {
                let key = match &r.match_expr {
                    Some(e) => crate::route::expr::parse(e)
                        .ok()
                        .and_then(|x| x.route_match())
                        .map_or_else(|| format!("match_expr {e}"), |m| m.to_string()),
                    None => key.clone(),
                };
                let servers: Vec<Server> = match (&r.upstream, &r.upstreams) {
                    (Some(u), _) => vec![Server {
                        address: u.clone(),
                        weight: None,
                    }],
                    (None, Some(list)) => list
                        .iter()
                        .map(|u| match u {
                            Upstream::Plain(a) => Server {
                                address: a.clone(),
                                weight: None,
                            },
                            Upstream::Weighted { addr, weight } => Server {
                                address: addr.clone(),
                                weight: Some(*weight),
                            },
                        })
                        .collect(),
                    (None, None) => Vec::new(),
                };
                let t = r.timeouts.clone().unwrap_or_default();
                let headers = r.headers.clone().unwrap_or_default();
                let transforms = r.transforms.clone().unwrap_or_default();
                let flatten = |rules: &[crate::emit::v2::HeaderRule]| {
                    let mut add = Vec::new();
                    let mut remove = Vec::new();
                    for rule in rules {
                        remove.extend(rule.remove.iter().cloned());
                        for (n, vs) in &rule.add {
                            add.extend(vs.iter().map(|v| format!("{n}:{v}")));
                        }
                    }
                    (add, remove)
                };
                let (request_add, request_remove) = flatten(&transforms.request_headers);
                let (response_add, response_remove) = flatten(&transforms.response_headers);
                let tr = crate::ir::Transforms {
                    request_add,
                    request_remove,
                    response_add,
                    response_remove,
                };
                let unprobed = r
                    .health_check
                    .as_ref()
                    .is_some_and(|h| h.kind == crate::emit::v2::HealthCheckType::None);
                let settings = PathSettings {
                    // Unsaid beside `type: none`: false is what synroute
                    // means there (the port decides, as in v1).
                    ssl_enabled: r.ssl_enabled.unwrap_or(false),
                    http2_enabled: r.http2_enabled,
                    https_proxy_enabled: r.force_https,
                    connect_timeout: t.connect,
                    read_timeout: t.read,
                    write_timeout: t.write,
                    idle_timeout: t.idle,
                    healthcheck: unprobed.then_some(false),
                    disable_access_log: r.disable_access_log,
                    request_headers: headers.request.iter().map(|h| header_entry(h)).collect(),
                    response_headers: headers.response.iter().map(|h| header_entry(h)).collect(),
                    redirect: r.redirect.as_ref().map(|x| {
                        Box::new(crate::ir::Redirect {
                            status: x.status,
                            location: x.location.clone(),
                        })
                    }),
                    transforms: (!tr.is_empty()).then(|| Box::new(tr)),
                };
                side.insert(host, &key, servers, settings, None);
            }
        }
        side
    }

    pub fn from_file(f: &ParsedFile, text: &str) -> Side {
        let mut side = Side {
            sticky: f.sticky_sessions,
            text: text.to_string(),
            ..Side::default()
        };
        for (host, h) in &f.upstreams {
            if let Some(c) = &h.certificate {
                side.certificates.insert(host.clone(), c.clone());
            }
            for (path, e) in &h.paths {
                side.insert(host, path, repeated(e.servers()), e.settings(), None);
            }
        }
        for (path, e) in &f.internal_paths {
            side.insert(INTERNAL, path, repeated(e.servers()), e.settings(), None);
        }
        side
    }
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    HostAdded,
    HostRemoved,
    PathAdded,
    PathRemoved,
    ServersChanged,
    SettingChanged(&'static str),
    CertificateChanged,
    CertAdded,
    CertRemoved,
    CertRotated,
    StickyChanged,
}

impl Kind {
    pub fn label(&self) -> String {
        match self {
            Kind::HostAdded => "host added".into(),
            Kind::HostRemoved => "host removed".into(),
            Kind::PathAdded => "path added".into(),
            Kind::PathRemoved => "path removed".into(),
            Kind::ServersChanged => "servers changed".into(),
            Kind::SettingChanged(f) => format!("{f} changed"),
            Kind::CertificateChanged => "certificate changed".into(),
            Kind::CertAdded => "cert added".into(),
            Kind::CertRemoved => "cert removed".into(),
            Kind::CertRotated => "cert rotated".into(),
            Kind::StickyChanged => "sticky_sessions changed".into(),
        }
    }

    fn id(&self) -> String {
        self.label().replace(' ', "_")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    /// The host (or `internal_paths`), or the cert stem.
    pub subject: String,
    pub path: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Where the change comes from: the NEW side's object, or the OLD
    /// side's for removals.
    pub source: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Diff {
    pub changes: Vec<Change>,
    pub new_diagnostics: Vec<Diagnostic>,
    pub fixed_diagnostics: Vec<Diagnostic>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

fn servers_text(s: &[Server]) -> String {
    let weighted = s.iter().any(|x| x.weight.is_some());
    s.iter()
        .map(|x| match (weighted, x.weight) {
            (true, w) => format!("{} (weight {})", x.address, w.unwrap_or(1)),
            (false, _) => x.address.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn settings_fields(s: &PathSettings) -> Vec<(&'static str, Option<String>)> {
    let b = |v: Option<bool>| v.map(|x| x.to_string());
    let n = |v: Option<u64>| v.map(|x| x.to_string());
    let l = |v: &[String]| (!v.is_empty()).then(|| v.join(", "));
    vec![
        ("ssl_enabled", Some(s.ssl_enabled.to_string())),
        ("http2_enabled", b(s.http2_enabled)),
        ("https_proxy_enabled", b(s.https_proxy_enabled)),
        ("connection_timeout", n(s.connect_timeout)),
        ("read_timeout", n(s.read_timeout)),
        ("write_timeout", n(s.write_timeout)),
        ("idle_timeout", n(s.idle_timeout)),
        ("healthcheck", b(s.healthcheck)),
        ("disable_access_log", b(s.disable_access_log)),
        ("request_headers", l(&s.request_headers)),
        ("response_headers", l(&s.response_headers)),
        (
            "redirect",
            s.redirect
                .as_ref()
                .map(|r| format!("{} {}", r.status, r.location)),
        ),
        (
            "request_headers_added",
            s.transforms.as_ref().and_then(|t| l(&t.request_add)),
        ),
        (
            "request_headers_removed",
            s.transforms.as_ref().and_then(|t| l(&t.request_remove)),
        ),
        (
            "response_headers_added",
            s.transforms.as_ref().and_then(|t| l(&t.response_add)),
        ),
        (
            "response_headers_removed",
            s.transforms.as_ref().and_then(|t| l(&t.response_remove)),
        ),
    ]
}

fn subject(host: &str) -> String {
    if host == INTERNAL {
        "internal_paths".to_string()
    } else {
        host.to_string()
    }
}

/// A diagnostic's identity across two renders: not its line.
fn diag_key(d: &Diagnostic) -> (String, Option<String>, String) {
    (
        d.code.id().to_string(),
        d.object.as_ref().map(ToString::to_string),
        d.message.clone(),
    )
}

pub fn diff(old: &Side, new: &Side) -> Diff {
    let mut changes = Vec::new();
    let hosts: BTreeSet<&String> = old.entries.keys().chain(new.entries.keys()).collect();
    for host in hosts {
        let empty = BTreeMap::new();
        let (o, n) = (
            old.entries.get(host).unwrap_or(&empty),
            new.entries.get(host).unwrap_or(&empty),
        );
        let first_source = |m: &BTreeMap<String, Entry>| m.values().find_map(|e| e.source.clone());
        if o.is_empty() && host != INTERNAL {
            // A new host is one change: its paths and certificate go with it.
            let mut after = n.keys().cloned().collect::<Vec<_>>().join(", ");
            if let Some(c) = new.certificates.get(host) {
                after.push_str(&format!(" (certificate {c})"));
            }
            changes.push(Change {
                kind: Kind::HostAdded,
                subject: subject(host),
                path: None,
                before: None,
                after: Some(after),
                source: first_source(n),
            });
            continue;
        } else if n.is_empty() && host != INTERNAL {
            changes.push(Change {
                kind: Kind::HostRemoved,
                subject: subject(host),
                path: None,
                before: Some(o.keys().cloned().collect::<Vec<_>>().join(", ")),
                after: None,
                source: first_source(o),
            });
            continue;
        }
        let paths: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
        for path in paths {
            match (o.get(path), n.get(path)) {
                (None, Some(e)) => changes.push(Change {
                    kind: Kind::PathAdded,
                    subject: subject(host),
                    path: Some(path.clone()),
                    before: None,
                    after: Some(servers_text(&e.servers)),
                    source: e.source.clone(),
                }),
                (Some(e), None) => changes.push(Change {
                    kind: Kind::PathRemoved,
                    subject: subject(host),
                    path: Some(path.clone()),
                    before: Some(servers_text(&e.servers)),
                    after: None,
                    source: e.source.clone(),
                }),
                (Some(a), Some(b)) => {
                    if a.servers != b.servers {
                        changes.push(Change {
                            kind: Kind::ServersChanged,
                            subject: subject(host),
                            path: Some(path.clone()),
                            before: Some(servers_text(&a.servers)),
                            after: Some(servers_text(&b.servers)),
                            source: b.source.clone(),
                        });
                    }
                    for ((field, x), (_, y)) in settings_fields(&a.settings)
                        .into_iter()
                        .zip(settings_fields(&b.settings))
                    {
                        if x != y {
                            changes.push(Change {
                                kind: Kind::SettingChanged(field),
                                subject: subject(host),
                                path: Some(path.clone()),
                                before: x,
                                after: y,
                                source: b.source.clone(),
                            });
                        }
                    }
                }
                (None, None) => {}
            }
        }
        let (co, cn) = (old.certificates.get(host), new.certificates.get(host));
        if co != cn && !n.is_empty() {
            changes.push(Change {
                kind: Kind::CertificateChanged,
                subject: subject(host),
                path: None,
                before: co.cloned(),
                after: cn.cloned(),
                source: cn.and_then(|s| new.cert_sources.get(s)).cloned(),
            });
        }
    }
    let both = old.rendered && new.rendered;
    let stems: BTreeSet<&String> = old
        .fingerprints
        .keys()
        .chain(new.fingerprints.keys())
        .filter(|_| both)
        .collect();
    let mut cert_changes: Vec<Change> = Vec::new();
    for stem in stems {
        let (a, b) = (old.fingerprints.get(stem), new.fingerprints.get(stem));
        let kind = match (a, b) {
            (None, Some(_)) => Kind::CertAdded,
            (Some(_), None) => Kind::CertRemoved,
            (Some(x), Some(y)) if x != y => Kind::CertRotated,
            _ => continue,
        };
        let source = new
            .cert_sources
            .get(stem)
            .or_else(|| old.cert_sources.get(stem))
            .cloned();
        // One Secret projected under several stems is one change.
        match cert_changes.iter_mut().find(|c| {
            c.kind == kind && c.source == source && c.before.as_ref() == a && c.after.as_ref() == b
        }) {
            Some(c) => {
                c.subject.push_str(", ");
                c.subject.push_str(stem);
            }
            None => cert_changes.push(Change {
                kind,
                subject: stem.clone(),
                path: None,
                before: a.cloned(),
                after: b.cloned(),
                source,
            }),
        }
    }
    changes.extend(cert_changes);
    if old.sticky != new.sticky {
        changes.push(Change {
            kind: Kind::StickyChanged,
            subject: "sticky_sessions".to_string(),
            path: None,
            before: Some(old.sticky.to_string()),
            after: Some(new.sticky.to_string()),
            source: None,
        });
    }
    let old_keys: BTreeSet<_> = old.diagnostics.iter().map(diag_key).collect();
    let new_keys: BTreeSet<_> = new.diagnostics.iter().map(diag_key).collect();
    let (new_diagnostics, fixed_diagnostics) = if both {
        (
            new.diagnostics
                .iter()
                .filter(|d| !old_keys.contains(&diag_key(d)))
                .cloned()
                .collect(),
            old.diagnostics
                .iter()
                .filter(|d| !new_keys.contains(&diag_key(d)))
                .cloned()
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Diff {
        changes,
        new_diagnostics,
        fixed_diagnostics,
    }
}

fn target(c: &Change) -> String {
    match &c.path {
        Some(p) if c.subject == "internal_paths" => format!("internal_paths {p}"),
        // A path reads after its host; a regex or a passthrough beside it.
        Some(p) if p.starts_with('/') => format!("{}{p}", c.subject),
        Some(p) => format!("{} {p}", c.subject),
        None => c.subject.clone(),
    }
}

fn sign(k: &Kind) -> char {
    match k {
        Kind::HostAdded | Kind::PathAdded | Kind::CertAdded => '+',
        Kind::HostRemoved | Kind::PathRemoved | Kind::CertRemoved => '-',
        _ => '~',
    }
}

pub fn text(d: &Diff) -> String {
    let mut out = String::new();
    if d.changes.is_empty() {
        out.push_str("no route changes\n");
    }
    for c in &d.changes {
        let _ = write!(out, "{} {} {}", sign(&c.kind), c.kind.label(), target(c));
        match (&c.before, &c.after) {
            (Some(b), Some(a)) => {
                let _ = write!(out, ": {b} → {a}");
            }
            (None, Some(a)) => {
                let _ = write!(out, ": {a}");
            }
            (Some(b), None) => {
                let _ = write!(out, ": was {b}");
            }
            (None, None) => {}
        }
        if let Some(s) = &c.source {
            let _ = write!(out, "\n    from {s}");
        }
        out.push('\n');
    }
    for (title, list) in [("new", &d.new_diagnostics), ("fixed", &d.fixed_diagnostics)] {
        if !list.is_empty() {
            let _ = writeln!(out, "{title} diagnostics:");
            for x in list {
                let _ = writeln!(out, "  {}", x.concise().replace('\n', "\n  "));
            }
        }
    }
    out
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(d: &Diff) -> String {
    let mut out = String::from("### synroute: route changes\n\n");
    if d.changes.is_empty() {
        out.push_str("No route changes.\n");
    } else {
        out.push_str(
            "| | change | host / path | before | after | from |\n|---|---|---|---|---|---|\n",
        );
        for c in &d.changes {
            let cell = |v: &Option<String>| {
                v.as_deref()
                    .map(|x| format!("`{}`", md(x)))
                    .unwrap_or_default()
            };
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} | {} |",
                sign(&c.kind),
                c.kind.label(),
                md(&target(c)),
                cell(&c.before),
                cell(&c.after),
                c.source.as_deref().map(md).unwrap_or_default()
            );
        }
    }
    for (title, list) in [
        ("New diagnostics", &d.new_diagnostics),
        ("Fixed diagnostics", &d.fixed_diagnostics),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n#### {title}\n");
        for x in list {
            let loc = x
                .location
                .as_ref()
                .map(|l| format!("`{l}` "))
                .unwrap_or_default();
            let obj = x
                .object
                .as_ref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {loc}**{}[{}]** {}{obj}",
                x.severity,
                x.code.id(),
                md(&x.message)
            );
        }
    }
    out
}

pub fn json(d: &Diff) -> String {
    let diag = |x: &Diagnostic| {
        json!({
            "code": x.code.id(),
            "severity": x.severity.as_str(),
            "message": x.message,
            "location": x.location.as_ref().map(|l| json!({"file": l.file, "line": l.line, "column": l.column})),
            "object": x.object.as_ref().map(ToString::to_string),
        })
    };
    let v: Value = json!({
        "schemaVersion": 1,
        "changes": d.changes.iter().map(|c| json!({
            "kind": c.kind.id(),
            "subject": c.subject,
            "path": c.path,
            "before": c.before,
            "after": c.after,
            "source": c.source,
        })).collect::<Vec<_>>(),
        "diagnostics": {
            "new": d.new_diagnostics.iter().map(diag).collect::<Vec<_>>(),
            "fixed": d.fixed_diagnostics.iter().map(diag).collect::<Vec<_>>(),
        },
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// The text diff of the two rendered files.
pub fn unified(old: &Side, new: &Side, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(&old.text, &new.text)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}
