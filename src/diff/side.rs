//! One side of a diff, read into one shape whatever it came from: a render
//! of manifests here (with sources, certificates and diagnostics), or a
//! routing file of any target (v1, 0.2, v2), its expressions, repeated
//! servers and merged headers read back into what they mean.
//!
//! It reads no files: the shell hands it a render or a file's text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::diag::Diagnostic;
use crate::emit::upstreams::ParsedFile;
use crate::ir::{PathSettings, Provenance, Server};
use crate::route::file::counted;
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

/// A v1 pool: a plain server listed twice is round-robined twice as often,
/// as a weighted one is.
fn repeated(servers: Vec<Server>) -> Vec<Server> {
    if servers.iter().any(|s| s.weight.is_some()) {
        return servers;
    }
    let list: Vec<String> = servers.into_iter().map(|s| s.address).collect();
    counted(&list)
}

/// A Pingress backend as the server it reaches: `service.namespace:port`,
/// the name Pingress looks up.
fn pingress_address(b: &crate::emit::pingress::Backend) -> Server {
    Server::at(format!("{}.{}:{}", b.name, b.namespace, b.port), None)
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
        // Every route with the object it came from; the objects are
        // located together (each document read once), then inserted.
        let mut routes: Vec<(&str, String, Vec<Server>, PathSettings, &Provenance)> = Vec::new();
        if r.table.target == Target::Pingress {
            // What proxy.json says: its rules, backends as Pingress
            // resolves them, TLS files by path.
            if let Ok(f) = crate::guard::json_bytes::<crate::emit::pingress::File>(&r.upstreams) {
                side.certificates = Side::from_pingress_file(&f, "").certificates;
            }
            for (host, h) in &r.table.hosts {
                // The rules the file holds: those the proxy serves.
                for rule in crate::emit::pingress::served(host, h) {
                    let Ok(b) = crate::emit::pingress::backend(rule.entry) else {
                        continue;
                    };
                    let servers = vec![pingress_address(&b)];
                    let prov = &rule.entry.provenance;
                    routes.push((host, rule.key(), servers, PathSettings::default(), prov));
                }
            }
            return side.located(routes, r, sources);
        }
        for (host, h) in &r.table.hosts {
            if let Some(c) = &h.certificate {
                side.certificates.insert(host.to_string(), c.clone());
            }
        }
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
                let server = Server::at(p.upstream.clone(), None);
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
        side.located(routes, r, sources)
    }

    /// Inserts `routes`, each with where its object is, and the render's
    /// certificates' fingerprints and Secrets.
    fn located(
        mut self,
        routes: Vec<(&str, String, Vec<Server>, PathSettings, &Provenance)>,
        r: &Rendered,
        sources: &[Source],
    ) -> Side {
        let side = &mut self;
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
        self
    }

    /// A routing file of `format` (None: `emit::schema::sniff` tells which),
    /// as the routing it stands for.
    pub fn from_routing_file(text: &str, format: Option<Target>) -> Result<Side, String> {
        let placed = |e: crate::guard::Failure| e.placed();
        let format = format.or_else(|| crate::emit::schema::sniff(text));
        if !text.trim().is_empty()
            && let Some(why) = crate::emit::schema::refusal(format.unwrap_or_default(), text)
        {
            let target = format.unwrap_or_default();
            return Err(format!("{} refuses the file: {why}", target.describe()));
        }
        match format {
            Some(Target::V2) => crate::guard::yaml::<crate::emit::v2::File>(text)
                .map(|f| Side::from_v2_file(&f, text))
                .map_err(placed),
            Some(Target::Pingress) => crate::guard::json::<crate::emit::pingress::File>(text)
                .map(|f| Side::from_pingress_file(&f, text))
                .map_err(placed),
            Some(Target::V02) => crate::guard::yaml::<crate::emit::v02::File>(text)
                .map(|f| Side::from_v02_file(&f, text))
                .map_err(placed),
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
                let servers = vec![Server::at(u.clone(), None)];
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
                    (Some(u), _) => vec![Server::at(u.clone(), None)],
                    (None, Some(list)) => list
                        .iter()
                        .map(|u| match u {
                            Upstream::Plain(a) => Server::at(a.clone(), None),
                            Upstream::Weighted { addr, weight } => {
                                Server::at(addr.clone(), Some(*weight))
                            }
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

    /// A Pingress `proxy.json`: a rule per host and path (`/a`, `/a
    /// (exact)`), its backend as `service.namespace:port`, the TLS
    /// certificate file as the host's certificate.
    pub fn from_pingress_file(f: &crate::emit::pingress::File, text: &str) -> Side {
        let mut side = Side {
            text: text.to_string(),
            ..Side::default()
        };
        for rule in &f.rules {
            if let Some(tls) = &rule.tls {
                side.certificates
                    .insert(rule.host.clone(), tls.cert.clone());
            }
            let key = match rule.path.kind {
                crate::emit::pingress::PathType::Prefix => rule.path.path.clone(),
                crate::emit::pingress::PathType::Exact => format!("{} (exact)", rule.path.path),
            };
            let server = pingress_address(&rule.backend);
            side.insert(
                &rule.host,
                &key,
                vec![server],
                PathSettings::default(),
                None,
            );
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
