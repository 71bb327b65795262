//! `diff`: the change in meaning between two renders — hosts and paths
//! added or removed, servers and weights, flags and headers, certificates
//! added, removed or rotated — each naming the object it comes from, and
//! the diagnostics a change introduces or fixes. Printed as text, Markdown
//! (for a pull-request comment) or versioned JSON. Pure: both sides come in
//! as `Side`s built by the shell.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Diagnostic;
use crate::ir::{PathSettings, Server};

mod print;
mod side;

pub use print::{json, markdown, text, unified};
pub use side::{Entry, INTERNAL, PASSTHROUGH, Side, fingerprint};

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
