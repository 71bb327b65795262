//! A diff as people and tools read it: text, Markdown for a pull-request
//! comment, versioned JSON, and a unified diff of the rendered bytes.
//!
//! Formatting only: what changed was decided in `diff/mod.rs`.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Change, Diff, Kind, Side};
use crate::diag::Diagnostic;

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
