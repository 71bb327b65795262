//! Reports for `check`: the policy a user sets (severity overrides,
//! `--ignore`, the threshold shown and the one that fails), and one model
//! printed by five renderers — text (rustc-like), JSON (versioned), GitHub
//! workflow annotations, SARIF 2.1.0 and JUnit. The exit code is decided
//! from the model alone, never from the format. No I/O here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::Rendered;
use crate::diag::{Code, Diagnostic, Location, ObjectRef, Severity};

/// `--ignore CODE[=Kind/ns/name]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignore {
    pub code: Code,
    /// `Kind/ns/name` or `Kind/name` (cluster-scoped); None: everywhere.
    pub object: Option<String>,
    /// The flag as given, for messages.
    pub text: String,
}

impl Ignore {
    pub fn parse(s: &str) -> Result<Ignore, String> {
        let (code, object) = match s.split_once('=') {
            Some((c, o)) => (c, Some(o.to_string())),
            None => (s, None),
        };
        let code = Code::parse(code).ok_or_else(|| format!("{code:?} is not a synroute code"))?;
        Ok(Ignore {
            code,
            object,
            text: s.to_string(),
        })
    }

    fn matches(&self, d: &Diagnostic) -> bool {
        if d.code != self.code {
            return false;
        }
        match (&self.object, &d.object) {
            (None, _) => true,
            (Some(want), Some(o)) => {
                let full = match &o.namespace {
                    Some(ns) => format!("{}/{}/{}", o.kind, ns, o.name),
                    None => format!("{}/{}", o.kind, o.name),
                };
                want.eq_ignore_ascii_case(&full)
            }
            (Some(_), None) => false,
        }
    }
}

/// What a user asked of a check run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub overrides: BTreeMap<Code, Severity>,
    pub ignores: Vec<Ignore>,
    /// Diagnostics below this are counted but not shown.
    pub min_severity: Severity,
    /// The exit code is 1 when a diagnostic reaches this; None: never.
    pub fail_on: Option<Severity>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            overrides: BTreeMap::new(),
            ignores: Vec::new(),
            min_severity: Severity::Info,
            fail_on: Some(Severity::Error),
        }
    }
}

/// Counts by severity, of what is reported (not of what is suppressed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub suppressed: usize,
}

/// A check run's result, ready to print in any format.
#[derive(Clone, Debug)]
pub struct Report<'a> {
    pub rendered: &'a Rendered,
    /// Every diagnostic after overrides and `--ignore`, all severities.
    pub diagnostics: Vec<Diagnostic>,
    /// Silenced by annotation or `--ignore`.
    pub suppressed: Vec<Diagnostic>,
    pub policy: &'a Policy,
}

impl<'a> Report<'a> {
    pub fn new(rendered: &'a Rendered, policy: &'a Policy) -> Report<'a> {
        let mut diagnostics = Vec::new();
        let mut suppressed = rendered.suppressed.clone();
        let mut used = vec![false; policy.ignores.len()];
        for d in &rendered.diagnostics {
            let mut d = d.clone();
            if let Some(sev) = policy.overrides.get(&d.code) {
                d.severity = *sev;
            }
            match policy.ignores.iter().position(|i| i.matches(&d)) {
                Some(i) => {
                    used[i] = true;
                    suppressed.push(d);
                }
                None => diagnostics.push(d),
            }
        }
        for (ignore, used) in policy.ignores.iter().zip(used) {
            if !used {
                let mut d = Diagnostic::new(
                    Code::UnusedSuppression,
                    format!("--ignore {} silences nothing; remove it", ignore.text),
                );
                if let Some(sev) = policy.overrides.get(&d.code) {
                    d.severity = *sev;
                }
                diagnostics.push(d);
            }
        }
        Report {
            rendered,
            diagnostics,
            suppressed,
            policy,
        }
    }

    /// What is shown: at or above `--min-severity`.
    pub fn shown(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity >= self.policy.min_severity)
    }

    pub fn counts(&self) -> Counts {
        let n = |s| self.diagnostics.iter().filter(|d| d.severity == s).count();
        Counts {
            errors: n(Severity::Error),
            warnings: n(Severity::Warning),
            infos: n(Severity::Info),
            suppressed: self.suppressed.len(),
        }
    }

    /// True when a diagnostic reaches `--fail-on`.
    pub fn fails(&self) -> bool {
        match self.policy.fail_on {
            None => false,
            Some(t) => self.diagnostics.iter().any(|d| d.severity >= t),
        }
    }
}

/// The output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Github,
    Sarif,
    Junit,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "github" => Some(Format::Github),
            "sarif" => Some(Format::Sarif),
            "junit" => Some(Format::Junit),
            _ => None,
        }
    }
}

pub fn render(report: &Report<'_>, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json_value(report)).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Github => github(report),
        Format::Sarif => {
            let mut s = serde_json::to_string_pretty(&sarif(report)).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Junit => junit(report),
    }
}

fn summary(report: &Report<'_>) -> String {
    let c = report.counts();
    let st = report.rendered.stats;
    format!(
        "synroute check: {} errors, {} warnings, {} infos, {} suppressed; {} objects used, {} documents skipped",
        c.errors,
        c.warnings,
        c.infos,
        c.suppressed,
        st.used,
        st.foreign + st.not_objects + st.empty
    )
}

fn text(report: &Report<'_>) -> String {
    let mut out = String::new();
    for d in report.shown() {
        out.push_str(&d.concise());
        if let Some(f) = &d.field {
            let _ = write!(out, "\n    at: {f}");
        }
        out.push('\n');
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

fn location_json(l: &Option<Location>) -> Value {
    match l {
        Some(l) => json!({"file": l.file, "line": l.line, "column": l.column}),
        None => Value::Null,
    }
}

fn object_json(o: &Option<ObjectRef>) -> Value {
    match o {
        Some(o) => json!({"kind": o.kind, "namespace": o.namespace, "name": o.name}),
        None => Value::Null,
    }
}

fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({
        "code": d.code.id(),
        "title": d.code.title(),
        "severity": d.severity.as_str(),
        "message": d.message,
        "location": location_json(&d.location),
        "object": object_json(&d.object),
        "field": d.field,
        "hint": d.hint,
        "related": d.related.iter().map(|r| json!({
            "message": r.message,
            "location": location_json(&r.location),
            "object": object_json(&r.object),
            "field": r.field,
        })).collect::<Vec<_>>(),
    })
}

fn json_value(report: &Report<'_>) -> Value {
    let c = report.counts();
    let st = report.rendered.stats;
    json!({
        "schemaVersion": 1,
        "tool": {"name": "synroute", "version": env!("CARGO_PKG_VERSION")},
        "diagnostics": report.shown().map(diagnostic_json).collect::<Vec<_>>(),
        "suppressed": report.suppressed.iter().map(diagnostic_json).collect::<Vec<_>>(),
        "routeStatus": report.rendered.route_status.iter().map(|s| json!({
            "route": object_json(&Some(s.route.object_ref())),
            "parent": s.parent,
            "conditions": s.conditions.iter().map(|c| json!({
                "type": c.kind,
                "status": if c.status { "True" } else { "False" },
                "reason": c.reason,
                "message": c.message,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "summary": {
            "errors": c.errors,
            "warnings": c.warnings,
            "infos": c.infos,
            "suppressed": c.suppressed,
            "failed": report.fails(),
            "objects": st.used,
            "documentsSkipped": st.foreign + st.not_objects + st.empty,
            "hosts": report.rendered.table.hosts.len(),
            "paths": report.rendered.paths,
        },
    })
}

/// Escapes a GitHub workflow command's data (`%`, CR, LF) and, for
/// properties, also `:` and `,`.
fn gh_escape(s: &str, property: bool) -> String {
    let mut out = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

fn github(report: &Report<'_>) -> String {
    let mut out = String::new();
    for d in report.shown() {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(l) = &d.location {
            props.push(format!("file={}", gh_escape(&l.file, true)));
            props.push(format!("line={}", l.line));
            if let Some(c) = l.column {
                props.push(format!("col={c}"));
            }
        }
        props.push(format!(
            "title={}",
            gh_escape(&format!("{} {}", d.code.id(), d.code.title()), true)
        ));
        let mut msg = d.message.clone();
        if let Some(o) = &d.object {
            let _ = write!(msg, " ({o})");
        }
        if let Some(h) = &d.hint {
            let _ = write!(msg, "\nhelp: {h}");
        }
        let _ = writeln!(
            out,
            "::{level} {}::{}",
            props.join(","),
            gh_escape(&msg, false)
        );
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn sarif_location(l: &Location, message: Option<&str>) -> Value {
    let mut region = json!({"startLine": l.line});
    if let Some(c) = l.column {
        region["startColumn"] = json!(c);
    }
    let mut v = json!({
        "physicalLocation": {
            "artifactLocation": {"uri": l.file.trim_start_matches("./")},
            "region": region,
        }
    });
    if let Some(m) = message {
        v["message"] = json!({"text": m});
    }
    v
}

fn sarif(report: &Report<'_>) -> Value {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id(),
                "name": c.title(),
                "shortDescription": {"text": c.title()},
                "fullDescription": {"text": c.explanation()},
                "defaultConfiguration": {"level": sarif_level(c.default_severity())},
                "help": {"text": c.explanation()},
            })
        })
        .collect();
    let index = |code: Code| Code::ALL.iter().position(|c| *c == code).unwrap_or(0);
    let results: Vec<Value> = report
        .shown()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(o) = &d.object {
                let _ = write!(text, " ({o})");
            }
            let mut r = json!({
                "ruleId": d.code.id(),
                "ruleIndex": index(d.code),
                "level": sarif_level(d.severity),
                "message": {"text": text},
            });
            if let Some(l) = &d.location {
                r["locations"] = json!([sarif_location(l, None)]);
            }
            let related: Vec<Value> = d
                .related
                .iter()
                .enumerate()
                .filter_map(|(i, x)| {
                    let mut v = sarif_location(x.location.as_ref()?, Some(&x.message));
                    v["id"] = json!(i);
                    Some(v)
                })
                .collect();
            if !related.is_empty() {
                r["relatedLocations"] = json!(related);
            }
            if let Some(o) = &d.object {
                r["properties"] = json!({"object": o.to_string(), "field": d.field});
            }
            r
        })
        .collect();
    let mut driver = json!({
        "name": "synroute",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    // The project's home, once Cargo.toml names one.
    let home = env!("CARGO_PKG_REPOSITORY");
    if !home.is_empty() {
        driver["informationUri"] = json!(home);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "results": results,
        }],
    })
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// One testcase per object; a diagnostic that reaches `--fail-on` is a
/// failure, the others are the case's output. Diagnostics about no
/// object (the input as a whole) form the testcase `input`.
fn junit(report: &Report<'_>) -> String {
    let mut cases: BTreeMap<String, (String, Option<Location>, Vec<&Diagnostic>)> = BTreeMap::new();
    for used in &report.rendered.objects {
        let o = used.object_ref();
        cases
            .entry(o.to_string())
            .or_insert_with(|| (o.kind, Some(used.location()), Vec::new()));
    }
    for d in &report.diagnostics {
        let key = d
            .object
            .as_ref()
            .map_or_else(|| "input".to_string(), ToString::to_string);
        let kind = d
            .object
            .as_ref()
            .map_or_else(|| "synroute".to_string(), |o| o.kind.clone());
        cases
            .entry(key)
            .or_insert_with(|| (kind, d.location.clone(), Vec::new()))
            .2
            .push(d);
    }
    let failing = |d: &Diagnostic| report.policy.fail_on.is_some_and(|t| d.severity >= t);
    let failures: usize = cases
        .values()
        .filter(|c| c.2.iter().any(|d| failing(d)))
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"synroute\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        cases.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"synroute check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        cases.len()
    );
    for (name, (kind, loc, diags)) in &cases {
        let file = loc
            .as_ref()
            .map(|l| format!(" file=\"{}\" line=\"{}\"", xml_escape(&l.file), l.line))
            .unwrap_or_default();
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"{file}",
            xml_escape(kind),
            xml_escape(name)
        );
        if diags.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        let mut system_out = String::new();
        for d in diags {
            if failing(d) {
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    d.code.id(),
                    xml_escape(&d.message),
                    xml_escape(&d.concise())
                );
            } else {
                system_out.push_str(&d.concise());
                system_out.push('\n');
            }
        }
        if !system_out.is_empty() {
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml_escape(&system_out)
            );
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// `check --list-codes`: the table, one code a line.
pub fn list_codes() -> String {
    let mut out = String::new();
    for c in Code::ALL {
        let _ = writeln!(out, "{}  {:<8} {}", c.id(), c.default_severity(), c.title());
    }
    out
}

/// `check --explain CODE`.
pub fn explain_code(c: Code) -> String {
    format!(
        "{} {} (default severity: {})\n\n{}\n",
        c.id(),
        c.title(),
        c.default_severity(),
        c.explanation()
    )
}
