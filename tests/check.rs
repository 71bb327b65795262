//! `synroute check`: every format pinned by a snapshot, exit codes that do
//! not depend on the format, thresholds, overrides, suppression, provenance
//! through pipes, and SARIF validated against the SARIF 2.1.0 schema.

mod common;

use std::process::Output;

use common::{code, stdout as out};

fn synroute(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    common::run(args, stdin, env)
}

/// Inputs with a conflict (warning + related location), an info, a
/// suppression used and unused, and helm provenance.
const INPUTS: &[&str] = &[
    "fixtures/route-conflict-first-writer-wins",
    "fixtures/suppression-annotation",
    "fixtures/helm-template-provenance",
    "fixtures/named-port-service-missing",
];

fn check(extra: &[&str]) -> Output {
    let mut args = vec!["check"];
    args.extend_from_slice(INPUTS);
    args.extend_from_slice(extra);
    synroute(&args, None, &[])
}

use common::snapshot;

#[test]
fn every_format_is_pinned_and_the_exit_code_does_not_depend_on_it() {
    let mut codes = Vec::new();
    for format in ["text", "json", "github", "sarif", "junit"] {
        let o = check(&["--format", format]);
        codes.push(code(&o));
        snapshot(&format!("check__format_{format}"), &out(&o));
    }
    // An error (BackendUnresolved) is present: the default --fail-on error fails.
    assert!(codes.iter().all(|c| *c == 1), "{codes:?}");
}

#[test]
fn thresholds_and_overrides_set_the_exit_code() {
    assert_eq!(code(&check(&["--fail-on", "never"])), 0);
    assert_eq!(
        code(&check(&[
            "--severity",
            "SR1206=warning",
            "--severity",
            "SR1003=warning"
        ])),
        0
    );
    assert_eq!(
        code(&check(&[
            "--severity",
            "SR1206=warning",
            "--severity",
            "SR1003=info",
            "--fail-on",
            "warning"
        ])),
        1
    );
    let demo = |extra: &[&str]| {
        let mut a = vec!["check", "fixtures/demo"];
        a.extend_from_slice(extra);
        code(&synroute(&a, None, &[]))
    };
    assert_eq!(demo(&[]), 0);
    assert_eq!(demo(&["--fail-on", "warning"]), 1);
    assert_eq!(demo(&["--fail-on", "info"]), 1);
    assert_eq!(demo(&["--fail-on", "warning", "--ignore", "SR1202"]), 0);
    assert_eq!(
        demo(&[
            "--fail-on",
            "warning",
            "--ignore",
            "SR1202=Ingress/shop/storefront"
        ]),
        0
    );
    assert_eq!(
        demo(&[
            "--fail-on",
            "warning",
            "--ignore",
            "SR1202=Ingress/shop/other"
        ]),
        1
    );
    // --min-severity hides, it does not change the exit code.
    let o = synroute(
        &[
            "check",
            "fixtures/demo",
            "--min-severity",
            "error",
            "--fail-on",
            "warning",
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 1);
    assert!(!out(&o).contains("SR1202"));
    assert_eq!(
        code(&synroute(&["check", "fixtures/malformed-yaml"], None, &[])),
        2
    );
    assert_eq!(
        code(&synroute(
            &["check", "--severity", "SR1202=loud", "fixtures/demo"],
            None,
            &[]
        )),
        2
    );
    assert_eq!(
        code(&synroute(
            &["check", "--ignore", "SR0000", "fixtures/demo"],
            None,
            &[]
        )),
        2
    );
}

#[test]
fn unused_ignores_are_warnings() {
    let o = synroute(&["check", "fixtures/demo", "--ignore", "SR1404"], None, &[]);
    assert!(
        out(&o).contains("warning[SR1007]: --ignore SR1404 silences nothing"),
        "{}",
        out(&o)
    );
    let o = synroute(
        &[
            "check",
            "fixtures/demo",
            "--ignore",
            "SR1202",
            "--format",
            "json",
        ],
        None,
        &[],
    );
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(v["summary"]["suppressed"], 1);
    assert_eq!(v["schemaVersion"], 1);
}

#[test]
fn empty_input_is_a_warning_so_a_broken_pipe_cannot_pass() {
    let o = synroute(&["check", "-"], Some(b""), &[]);
    assert!(out(&o).contains("SR1006"), "{}", out(&o));
    assert_eq!(code(&o), 0);
    let o = synroute(&["check", "-", "--fail-on", "warning"], Some(b""), &[]);
    assert_eq!(code(&o), 1);
}

#[test]
fn helm_output_through_a_pipe_points_at_the_chart() {
    let rendered = std::fs::read("fixtures/helm-template-provenance/rendered.yaml").expect("read");
    let o = synroute(&["check", "-"], Some(&rendered), &[]);
    let text = out(&o);
    assert!(
        text.contains("shop/templates/ingress.yaml:21:9: warning[SR1203]"),
        "{text}"
    );
    assert!(
        text.contains("shop/templates/ingress.yaml:7:5: warning[SR1208]"),
        "{text}"
    );
}

#[test]
fn github_actions_gets_workflow_annotations_by_default() {
    let o = synroute(
        &["check", "fixtures/demo"],
        None,
        &[("GITHUB_ACTIONS", "true")],
    );
    assert!(out(&o).starts_with("::warning file=fixtures/demo/ingresses.yaml,line=41,col=9,title=SR1202 ExactPathApproximated::"), "{}", out(&o));
}

#[test]
fn explain_and_list_codes() {
    let o = synroute(&["check", "--explain", "SR1203"], None, &[]);
    assert_eq!(code(&o), 0);
    assert!(out(&o).starts_with("SR1203 UnsupportedPathRegex (default severity: warning)"));
    let o = synroute(&["check", "--explain", "RouteConflict"], None, &[]);
    assert!(out(&o).starts_with("SR1209 RouteConflict"));
    assert_eq!(
        code(&synroute(&["check", "--explain", "SR4242"], None, &[])),
        2
    );
    let o = synroute(&["check", "--list-codes"], None, &[]);
    assert_eq!(out(&o).lines().count(), synroute::diag::Code::ALL.len());
}

/// The SARIF 2.1.0 schema, read from the serde-sarif package (a
/// dev-dependency) found through `cargo metadata`.
fn sarif_schema() -> serde_json::Value {
    let path = common::package_dir("serde-sarif")
        .join("src")
        .join("schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("schema json")
}

fn mend_language_patterns(v: &mut serde_json::Value) {
    const BAD: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "pattern" && x.as_str() == Some(BAD) {
                    *x = serde_json::json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                } else {
                    mend_language_patterns(x);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(mend_language_patterns),
        _ => {}
    }
}

#[test]
fn sarif_validates_against_the_schema_and_points_at_the_field() {
    let o = check(&["--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&out(&o)).expect("sarif json");
    let schema = sarif_schema();
    assert!(
        schema["title"]
            .as_str()
            .is_some_and(|t| t.contains("2.1.0"))
    );
    // The published schema's `language` patterns are not valid regexes (a
    // stray `]`), and the meta-schema check refuses them; synroute never
    // writes that field, so those patterns are mended before compiling.
    let mut schema = schema;
    mend_language_patterns(&mut schema);
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // A result that could be false: validation really runs.
    let mut broken = sarif.clone();
    broken["version"] = serde_json::json!("9.9");
    assert!(!validator.is_valid(&broken));
    // serde-sarif's types read it too.
    let _: serde_sarif::sarif::Sarif =
        serde_json::from_value(sarif.clone()).expect("serde-sarif reads it");
    // The regex path's result points at the path's own line, not line 1.
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let regex = results
        .iter()
        .find(|r| r["ruleId"] == "SR1203")
        .expect("SR1203 result");
    let region = &regex["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 21);
    assert_eq!(
        regex["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "shop/templates/ingress.yaml"
    );
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert_eq!(rules.len(), synroute::diag::Code::ALL.len());
    for r in results {
        let i = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
}

/// `check` of a routing file (what `render` wrote, or a committed file):
/// the first key or value that would make the target's Synapse refuse it
/// (SR1606, exit 1), or a key it ignores (SR1607, a warning).
#[test]
fn a_routing_file_is_checked_as_its_target_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let render = |target: &str| {
        let path = dir.path().join(format!("upstreams-{target}.yaml"));
        let o = synroute(
            &[
                "render",
                "fixtures/httproute-weights",
                "--target",
                target,
                "-o",
                path.to_str().unwrap(),
            ],
            None,
            &[],
        );
        assert_eq!(code(&o), 0, "{}", common::stderr(&o));
        path.to_str().unwrap().to_string()
    };
    let (v1, v02, v2) = (render("v1"), render("0.2"), render("v2"));
    // Each file as its own Synapse reads it: clean, exit 0.
    for f in [&v1, &v02, &v2] {
        let o = synroute(&["check", f], None, &[]);
        assert_eq!(code(&o), 0, "{f}: {}", out(&o));
    }
    let o = synroute(&["check", &v02, "--target", "0.2"], None, &[]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    // v1's weighted servers are a type error to 0.2: the whole file goes.
    let o = synroute(&["check", &v1, "--target", "0.2"], None, &[]);
    assert_eq!(code(&o), 1);
    let text = out(&o);
    assert!(
        text.contains(&format!("error[{}]", "SR1606")) && text.contains("servers[0]"),
        "{text}"
    );
    // v2 refuses v1's top-level keys.
    let o = synroute(&["check", &v1, "--target", "v2"], None, &[]);
    assert_eq!(code(&o), 1);
    assert!(out(&o).contains("unknown field `provider`"), "{}", out(&o));
    // v1 ignores a key it does not know: a warning, the file loads.
    let edited = dir.path().join("edited.yaml");
    let with_unknown = std::fs::read_to_string(&v1).unwrap().replacen(
        "ssl_enabled: false",
        "ssl_enabled: false\n        colour: red",
        1,
    );
    std::fs::write(&edited, with_unknown).unwrap();
    let o = synroute(&["check", edited.to_str().unwrap()], None, &[]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(
        out(&o).contains(&format!("warning[{}]", "SR1607")),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("colour"), "{}", out(&o));
}

/// `check --target 0.2` reads a file as the real Synapse 0.2.4 was seen to
/// (../shared/synapse/README.md: each file posted to its config API):
/// `provider`, `sticky_sessions` and `ssl_enabled` may be left out, its
/// own keys (`force_https`, `rate_limit`, `config`) are not "ignored", a
/// server it cannot dial is named (SR1609) and the rest refuse the file.
#[test]
fn a_0_2_file_is_checked_as_0_2_4_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let base =
        "upstreams:\n  a.example.com:\n    paths:\n      /:\n        servers:\n        - web:80\n";
    let check = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let o = synroute(
            &["check", path.to_str().unwrap(), "--target", "0.2"],
            None,
            &[],
        );
        (code(&o), out(&o))
    };
    // Taken by 0.2.4: no finding at all.
    for (name, text) in [
        ("bare.yaml", base.to_string()),
        (
            "own-keys.yaml",
            format!(
                "config: {{global_headers: ['X-A: b']}}\n{base}        force_https: true\n        rate_limit: 5\n        ssl_enabled: false\n"
            ),
        ),
        (
            "provider.yaml",
            format!("provider: file\nsticky_sessions: true\n{base}"),
        ),
    ] {
        let (c, text) = check(name, &text);
        assert_eq!(c, 0, "{name}: {text}");
        assert!(!text.contains("[SR16"), "{name}: {text}");
    }
    // An unknown key alone is ignored, not refused.
    let (c, text) = check("unknown.yaml", &format!("{base}        colour: red\n"));
    assert_eq!(c, 0, "{text}");
    assert!(
        text.contains("warning[SR1607]") && !text.contains("SR1606"),
        "{text}"
    );
    // A server past port 65535, an IPv6 one, one without a port: the file
    // is taken and each is dropped without a word — named at its line.
    let (c, text) = check(
        "ports.yaml",
        &format!("{base}        - 127.0.0.1:70000\n        - '[::1]:80'\n        - nameonly\n"),
    );
    assert_eq!(c, 0, "{text}");
    for (line, server) in [(7, "127.0.0.1:70000"), (8, "[::1]:80"), (9, "nameonly")] {
        assert!(
            text.contains(&format!("ports.yaml:{line}: warning[{}]", "SR1609"))
                && text.contains(server),
            "{line} {server}: {text}"
        );
    }
    // web:80 is fine: three findings, no more.
    assert_eq!(text.matches("[SR1609]").count(), 3, "{text}");
    // Refused whole by 0.2.4.
    for (name, text) in [
        (
            "weighted.yaml",
            base.replace("- web:80", "- {address: web:80, weight: 3}"),
        ),
        (
            "no-servers.yaml",
            base.replace(
                "        servers:\n        - web:80\n",
                "        ssl_enabled: false\n",
            ),
        ),
        (
            "no-paths.yaml",
            "upstreams:\n  a.example.com:\n    certificate: a\n".to_string(),
        ),
        ("provider-foo.yaml", format!("provider: foo\n{base}")),
        ("ssl-yes.yaml", format!("{base}        ssl_enabled: yes\n")),
    ] {
        let (c, out) = check(name, &text);
        assert_eq!(c, 1, "{name}: {out}");
        assert!(out.contains("error[SR1606]"), "{name}: {out}");
    }
}

/// Every object that reaches a Synapse Gateway is rendered or named: a
/// TCPRoute, a UDPRoute, another project's route kind, their TCP and UDP
/// listeners, and policies on our Gateway, route and Service — under every
/// target, failing `--fail-on warning`; what reaches someone else's
/// Gateway is not ours to say.
#[test]
fn every_object_that_reaches_our_gateway_is_named() {
    let case = "fixtures/gateway-other-kinds-and-policies";
    for target in ["v1", "0.2", "v2", "pingress"] {
        let o = synroute(
            &["check", case, "--target", target, "--fail-on", "warning"],
            None,
            &[],
        );
        assert_eq!(code(&o), 1, "{target}: {}", out(&o));
        let text = out(&o);
        let mut named = vec![
            ("SR2020", "(TCPRoute infra/db)"),
            ("SR2020", "(UDPRoute infra/dns)"),
            ("SR2020", "(MQTTRoute infra/telemetry)"),
            ("SR2021", "(SecurityPolicy infra/oidc)"),
            ("SR2021", "(BackendTrafficPolicy infra/retries)"),
        ];
        // Pingress renders no Gateway API: no listener, no backend of ours.
        if target != "pingress" {
            named.extend([
                ("SR2021", "(BackendLBPolicy infra/sticky)"),
                ("SR2022", "listener postgres is TCP"),
                ("SR2022", "listener dns is UDP"),
            ]);
        }
        for (code, what) in named {
            assert!(
                text.lines()
                    .any(|l| l.contains(&format!("warning[{code}]")) && l.contains(what)),
                "{target}: {code} {what}:\n{text}"
            );
        }
        for quiet in ["TCPRoute infra/elsewhere", "not-ours", "Deployment"] {
            assert!(!text.contains(quiet), "{target}: {quiet}:\n{text}");
        }
    }
}
