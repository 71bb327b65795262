//! Golden fixtures: every folder under `fixtures/` is one case.
//!
//! - `*.yaml` / `*.yml` / `*.json`: the input manifests;
//! - `args` (optional): render flags, one per line (`--catch-all-host` …);
//! - `expect.txt`: what must hold, checked on the file written, read back
//!   and looked up as its proxy does (`route::file`):
//!   `[METHOD] URL -> server server…` (the servers Synapse picks, in
//!   order), `URL -> redirect STATUS LOCATION`, `URL -> none` (404),
//!   `tls://NAME -> server` (a TLS connection passed through by SNI),
//!   `! SRnnnn` (this code is raised), `!! malformed` (the input must be
//!   refused);
//! - `expect.0.2.txt`, `expect.v2.txt` (optional): the same for the render
//!   with `--target 0.2` / `--target v2`. 0.2 routes as v1 does, so its
//!   file is also held to the routing lines of `expect.txt` but for the
//!   requests its own file names; weights compare as shares (0.2 repeats
//!   a server instead);
//! - `expect.pingress.txt` (optional): the same for `--target pingress`,
//!   whose backends are dialled as `name.namespace:port`; an `https://`
//!   line to a host the proxy has no certificate for (it serves one only
//!   to an exact host with `tls`) answers `handshake fails`.
//!
//! Every case is rendered for each target. The whole render (the routing
//! file, cert files, diagnostics) is pinned by an insta snapshot in
//! `snapshots/fixture__<case>.snap` (v1), `fixture__<case>__0.2.snap` and
//! `fixture__<case>__v2.snap`, and `fixture__<case>__pingress.snap` for the
//! cases with an `expect.pingress.txt` (the others render nothing of class
//! pingress); each routing file is read back as its proxy reads it
//! (`emit::schema`): nothing in it may be refused or ignored.

mod common;

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use common::expect::{answer, args_of, cases, expectations, pool_text, requests, shares};

use synroute::route::Request;
use synroute::route::file::Routing;
use synroute::target::Target;
use synroute::{Rendered, Source, render};

/// Renders a fixture the way the CLI would.
pub fn render_case(case: &str) -> (Rendered, Vec<Source>) {
    render_case_for(case, Target::V1)
}

/// Renders a fixture the way the CLI would with `--target`.
pub fn render_case_for(case: &str, target: Target) -> (Rendered, Vec<Source>) {
    let args = args_of(case);
    let mut opts = synroute::cli::options_for(&args).unwrap_or_else(|e| panic!("{case}/args: {e}"));
    opts.target = target;
    // Snapshots must not depend on the clock: certificate validity is
    // checked only where a fixture pins --now.
    if !args.iter().any(|a| a == "--now") {
        opts.now = None;
    }
    let dir = format!("fixtures/{case}");
    let sources = synroute::cli::collect_sources(&[dir], &[]).expect("read fixture");
    (render(&sources, &opts), sources)
}

fn snapshot_text(case: &str, r: &Rendered) -> String {
    let mut out = String::new();
    let args = args_of(case);
    if !args.is_empty() {
        out.push_str(&format!("== args: {}\n", args.join(" ")));
    }
    if r.malformed {
        out.push_str("== malformed: nothing is written\n");
    } else {
        out.push_str(&format!("== {}\n", r.table.target.file_name()));
        out.push_str(&String::from_utf8_lossy(&r.upstreams));
        if !r.certs.is_empty() {
            out.push_str("== certs\n");
            for (name, f) in &r.certs {
                let mode = if f.private { "0600" } else { "0644" };
                let first = String::from_utf8_lossy(&f.bytes)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                out.push_str(&format!("{name} {mode} {} bytes: {first}\n", f.bytes.len()));
            }
        }
    }
    if !r.route_status.is_empty() {
        out.push_str("== route status\n");
        for st in &r.route_status {
            let conds: Vec<String> = st
                .conditions
                .iter()
                .map(|c| {
                    format!(
                        "{}={} ({})",
                        c.kind,
                        if c.status { "True" } else { "False" },
                        c.reason
                    )
                })
                .collect();
            out.push_str(&format!(
                "{} -> {}: {}\n",
                st.route.describe(),
                st.parent,
                conds.join(", ")
            ));
        }
    }
    out.push_str("== diagnostics\n");
    for d in &r.diagnostics {
        out.push_str(&d.concise());
        out.push('\n');
    }
    if !r.suppressed.is_empty() {
        out.push_str("== suppressed\n");
        for d in &r.suppressed {
            out.push_str(&d.concise());
            out.push('\n');
        }
    }
    let s = r.stats;
    out.push_str(&format!(
        "== documents: {} used, {} foreign, {} not objects, {} empty, {} diagnosed, {} out of namespace\n",
        s.used, s.foreign, s.not_objects, s.empty, s.diagnosed, s.out_of_namespace
    ));
    out
}

/// The routing file of a render, read back as its proxy reads it.
fn routing_of(case: &str, target: Target, r: &Rendered) -> Result<Routing, String> {
    let text = String::from_utf8_lossy(&r.upstreams);
    Routing::read(target, &text)
        .map_err(|e| format!("{case} ({target}): the file does not read back: {e}"))
}

/// What `explain --target 0.2` names for a request: the table's entry as
/// 0.2 looks it up, and the pool the 0.2 file holds for it.
fn explained_v02(r: &Rendered, request: &str) -> Option<String> {
    let url = request.trim();
    if url.starts_with("tls://") {
        return Some("none".into());
    }
    let url = url.split_once(' ').map_or(url, |(_, u)| u.trim());
    let req = Request::parse(url)?;
    Some(
        match synroute::route::lookup(&r.table, &req.host, &req.path) {
            Some(m) => pool_text(&synroute::route::file::v02_servers(&m.entry.servers)),
            None => "none".into(),
        },
    )
}

/// Checks the routing lines (`URL -> …`) of `text` alone, but for the
/// requests in `except`.
fn check_routing(
    case: &str,
    target: Target,
    r: &Rendered,
    text: &str,
    except: &[String],
) -> Vec<String> {
    let mut failures = Vec::new();
    if r.malformed || !text.contains(" -> ") {
        return failures;
    }
    let routing = match routing_of(case, target, r) {
        Ok(routing) => routing,
        Err(e) => return vec![e],
    };
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if let Some((url, want)) = line.split_once(" -> ") {
            if except.iter().any(|e| e == url.trim()) {
                continue;
            }
            if target == Target::V02
                && let (Some(file), Some(said)) = (answer(&routing, url), explained_v02(r, url))
                && shares(&file) != shares(&said)
            {
                failures.push(format!(
                    "{case} (0.2): {url}: explain says {said}, the file routes {file}"
                ));
            }
            match answer(&routing, url) {
                None => failures.push(format!("{case} ({target}): bad request line {line:?}")),
                Some(got) if shares(&got) != shares(want.trim()) => failures.push(format!(
                    "{case} ({target}): {url} -> expected {want}, got {got}"
                )),
                Some(_) => {}
            }
        }
    }
    failures
}

/// Checks `expect.txt`; returns the failures.
fn check_expectations(case: &str, r: &Rendered) -> Vec<String> {
    let text = expectations(case, Target::V1).unwrap_or_default();
    check_expectations_text(case, Target::V1, r, &text)
}

/// Checks one expectations file's lines against the render for `target`.
fn check_expectations_text(case: &str, target: Target, r: &Rendered, text: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let mut checks = 0;
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        checks += 1;
        if line == "!! malformed" {
            if !r.malformed {
                failures.push(format!(
                    "{case}: expected the input to be refused as malformed"
                ));
            }
        } else if let Some(code) = line.strip_prefix("! ") {
            if !r.diagnostics.iter().any(|d| d.code.id() == code.trim()) {
                failures.push(format!("{case} ({target}): expected a diagnostic {code}"));
            }
        } else if line.contains(" -> ") {
            failures.extend(check_routing(case, target, r, line, &[]));
        } else {
            failures.push(format!("{case}: cannot read expectation {line:?}"));
        }
    }
    if checks == 0 {
        failures.push(format!("{case} ({target}): the expectations file has none"));
    }
    // A target's own file may only add codes: the routing of expect.txt
    // holds for every render of the case.
    let routes = text.lines().filter(|l| l.contains(" -> ")).count();
    if routes == 0 && !r.malformed && target == Target::V1 {
        failures.push(format!(
            "{case}: a rendering fixture must check its routing with `URL -> servers` lines"
        ));
    }
    failures
}

/// The committed JSON Schema of `target` (schema/), compiled once.
fn published_schema(target: Target) -> &'static jsonschema::Validator {
    static SCHEMAS: OnceLock<Vec<(Target, jsonschema::Validator)>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        Target::ALL
            .into_iter()
            .map(|t| {
                let path = Path::new("schema").join(synroute::emit::json_schema::file_name(t));
                let text = fs::read_to_string(&path).expect("read the committed schema");
                let schema: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
                (
                    t,
                    jsonschema::validator_for(&schema).expect("compile schema"),
                )
            })
            .collect()
    });
    all.iter()
        .find(|(t, _)| *t == target)
        .map(|(_, v)| v)
        .expect("a schema per target")
}

/// The routing file as the target's Synapse reads it, and as an editor
/// holds it to schema/: nothing refused, nothing ignored.
fn check_schema(case: &str, target: Target, r: &Rendered) -> Vec<String> {
    if r.malformed {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&r.upstreams);
    // The file as an editor validating it against schema/ reads it.
    let mut failures: Vec<String> = match serde_yaml::from_str::<serde_json::Value>(&text) {
        Ok(doc) => published_schema(target)
            .iter_errors(&doc)
            .map(|e| {
                format!(
                    "{case} ({target}): schema/ refuses {}: {e}",
                    e.instance_path()
                )
            })
            .collect(),
        Err(e) => vec![format!("{case} ({target}): not YAML: {e}")],
    };
    failures.extend(
        synroute::emit::schema::validate(target, &text)
            .into_iter()
            .map(|f| {
                format!(
                    "{case} ({target}): {} would be {}: {}",
                    "the file",
                    if f.refuses() {
                        "refused"
                    } else {
                        "partly ignored"
                    },
                    f.message
                )
            }),
    );
    failures
}

#[test]
fn fixtures_render_for_every_target() {
    let mut failures = Vec::new();
    for case in &cases() {
        for target in [Target::V02, Target::V2, Target::Pingress] {
            let (rendered, _) = render_case_for(case, target);
            failures.extend(check_schema(case, target, &rendered));
            if target == Target::Pingress && expectations(case, target).is_none() {
                // Every Synapse fixture's Ingresses through the Pingress
                // emitter (their class kept): read back strictly above.
                continue;
            }
            if let Some(text) = expectations(case, target) {
                failures.extend(check_expectations_text(case, target, &rendered, &text));
            }
            if target == Target::V02 {
                // Where the 0.2 file routes a request otherwise, its own
                // expectations say so.
                let own = requests(&expectations(case, target).unwrap_or_default());
                let v1 = expectations(case, Target::V1).unwrap_or_default();
                failures.extend(check_routing(case, target, &rendered, &v1, &own));
            }
            let text = snapshot_text(case, &rendered);
            insta::with_settings!({
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
                description => format!("fixtures/{case} --target {target}"),
            }, {
                insta::assert_snapshot!(format!("fixture__{case}__{target}"), text);
            });
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn fixtures_match_snapshots_and_route_as_expected() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} fixtures", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let (rendered, _) = render_case(case);
        failures.extend(check_expectations(case, &rendered));
        failures.extend(check_schema(case, Target::V1, &rendered));
        let paths: usize = rendered.table.hosts.values().map(|h| h.route_count()).sum();
        assert_eq!(rendered.paths, paths, "{case}: the paths counted");
        let text = snapshot_text(case, &rendered);
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("fixtures/{case}"),
        }, {
            insta::assert_snapshot!(format!("fixture__{case}"), text);
        });
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn demo_is_clean() {
    let (r, _) = render_case("demo");
    assert!(!r.malformed);
    assert!(
        r.diagnostics
            .iter()
            .all(|d| d.severity < synroute::diag::Severity::Error)
    );
}

#[test]
fn every_code_is_documented_and_raised_by_a_fixture() {
    let table = fs::read_to_string("docs/diagnostics.md").expect("docs/diagnostics.md");
    let mut expected = String::new();
    for case in cases() {
        for target in Target::ALL {
            expected.push_str(&expectations(&case, target).unwrap_or_default());
        }
    }
    // Certificate checks need certificates generated at test time (no
    // committed key may expire): tests/certs.rs asserts those codes; the
    // checks of a routing file (not manifests) are in tests/check.rs, the
    // empty-render guard (a file already on disk) in tests/cli.rs.
    let tests = [
        "tests/certs.rs",
        "tests/check.rs",
        "tests/confighash.rs",
        "tests/cli.rs",
        "tests/gitops.rs",
    ]
    .map(|f| fs::read_to_string(f).unwrap_or_default())
    .join("\n");
    for line in tests.lines() {
        for part in line.split('"').skip(1).step_by(2) {
            if part.starts_with("SR") && part.len() == 6 {
                expected.push_str(&format!("! {part}\n"));
            }
        }
    }
    let mut missing = Vec::new();
    for c in synroute::diag::Code::ALL {
        let row = format!("| {} | {} | {} |", c.id(), c.title(), c.default_severity());
        if !table.contains(&row) {
            missing.push(format!("docs/diagnostics.md lacks the row {row}"));
        }
        if !expected.contains(&format!("! {}", c.id())) {
            missing.push(format!("no fixture expects {} {}", c.id(), c.title()));
        }
    }
    assert!(missing.is_empty(), "\n{}", missing.join("\n"));
}
