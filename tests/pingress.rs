//! `--target pingress` from the command line: the proxy.json and TLS files
//! written, its flags, exit codes, determinism, and `explain`, `diff` and
//! `check` on it. (The rules themselves are pinned by the fixtures
//! `pingress-*` and their `expect.pingress.txt`.)

mod common;

use std::fs;

use common::{code, stderr, stdout};

/// Real certificates for example.com and *.apps.example.com, and a Secret
/// for legacy.example.com that holds none (SR1613).
const CASE: &str = "fixtures/pingress-rules-and-tls-files";
const UNDEFINED: &str = "fixtures/pingress-what-it-cannot-say";

fn synroute(args: &[&str]) -> std::process::Output {
    common::run(args, None, &[])
}

fn rules(json: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(json).expect("proxy.json is JSON");
    v["rules"].as_array().cloned().expect("a rules list")
}

#[test]
fn renders_the_pingress_class_into_proxy_json_and_host_tls_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("proxy.json");
    let certs = dir.path().join("keys");
    let o = synroute(&[
        "render",
        CASE,
        "--target",
        "pingress",
        "-o",
        out.to_str().expect("utf8"),
        "--certs-out",
        certs.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = fs::read_to_string(&out).expect("proxy.json written");
    let rules = rules(&text);
    // The class defaults to pingress: the synapse-class Ingress is not here.
    assert!(rules.iter().all(|r| r["host"] != "other.example.com"));
    // One rule per exact host, the one the proxy keeps: the others said.
    let example: Vec<&serde_json::Value> = rules
        .iter()
        .filter(|r| r["host"] == "example.com")
        .collect();
    assert_eq!(example.len(), 1, "{text}");
    let kept = example[0];
    assert_eq!(
        kept["path"],
        serde_json::json!({"type": "Prefix", "path": "/"})
    );
    assert_eq!(
        kept["backend"],
        serde_json::json!({"type": "Service", "name": "my-service", "namespace": "default", "port": 80})
    );
    assert_eq!(kept["tls"]["cert"], "/etc/pingress/keys/example.com.cert");
    let err = stderr(&o);
    assert!(
        err.contains("error[SR1610]: example.com /healthz (exact)"),
        "{err}"
    );
    // Only an exact SNI gets a certificate, and a certificate that does
    // not parse would stop the proxy: neither host has tls, both said.
    for (host, code) in [
        ("*.apps.example.com", "SR1614"),
        ("legacy.example.com", "SR1613"),
    ] {
        let rule = rules
            .iter()
            .find(|r| r["host"] == host)
            .expect("the host is written");
        assert!(rule.get("tls").is_none(), "{host}: {text}");
        assert!(err.contains(&format!("error[{code}]: {host}:")), "{err}");
    }
    // The files the rules name, and nothing else.
    let mut names: Vec<String> = fs::read_dir(&certs)
        .expect("keys dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    assert_eq!(names, ["example.com.cert", "example.com.key"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(certs.join("example.com.key"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn keys_dir_names_where_the_proxy_reads_the_files() {
    let o = synroute(&[
        "render",
        CASE,
        "--target",
        "pingress",
        "--keys-dir",
        "/srv/tls/",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("\"cert\": \"/srv/tls/example.com.cert\""));
    assert!(!stdout(&o).contains("/etc/pingress/keys"));
    // Only Pingress reads it; and proxy.json names files by absolute path.
    let o = synroute(&["render", CASE, "--keys-dir", "/srv/tls"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--target pingress"), "{}", stderr(&o));
    let o = synroute(&["render", CASE, "--target", "pingress", "--keys-dir", "keys"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("absolute"), "{}", stderr(&o));
    // Pingress has no default host.
    let o = synroute(&[
        "render",
        CASE,
        "--target",
        "pingress",
        "--catch-all-host",
        "*",
    ]);
    assert_eq!(code(&o), 2);
}

#[test]
fn exit_codes_follow_the_diagnostics() {
    // Warnings and errors in the manifests: written, exit 0; --strict: 1.
    let o = synroute(&["render", UNDEFINED, "--target", "pingress", "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("SR1604"));
    let o = synroute(&[
        "render", UNDEFINED, "--target", "pingress", "--strict", "-q",
    ]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).is_empty(), "--strict writes nothing");
    let o = synroute(&[
        "check", UNDEFINED, "--target", "pingress", "--format", "json",
    ]);
    assert_eq!(code(&o), 1, "SR1206 is an error");
    assert!(stdout(&o).contains("SR1608"));
    let o = synroute(&["render", "fixtures/malformed-yaml", "--target", "pingress"]);
    assert_eq!(code(&o), 2);
    let o = synroute(&["render", CASE, "--target", "pingres"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("pingress"));
}

#[test]
fn the_same_input_gives_the_same_bytes_whatever_the_order_and_jobs() {
    let base = synroute(&["render", CASE, "--target", "pingress", "-q"]);
    assert_eq!(code(&base), 0);
    let files = [
        format!("{CASE}/services.yaml"),
        format!("{CASE}/secrets.yaml"),
        format!("{CASE}/ingress.yaml"),
    ];
    for jobs in ["1", "3"] {
        let mut args = vec!["render", "--target", "pingress", "-q", "-j", jobs];
        args.extend(files.iter().map(String::as_str));
        let o = synroute(&args);
        assert_eq!(code(&o), 0);
        assert_eq!(stdout(&o), stdout(&base), "-j {jobs}, files reversed");
    }
}

#[test]
fn explain_answers_as_pingress_looks_up() {
    let o = synroute(&[
        "explain",
        "https://example.com/healthz",
        "--target",
        "pingress",
        CASE,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    // The proxy keeps example.com's last rule, `/`, alone.
    assert!(text.contains("entry    /\n"), "{text}");
    assert!(
        text.contains("Service default/my-service port 80"),
        "{text}"
    );
    assert!(text.contains("TLS files example.com.cert"), "{text}");
    // A wildcard host is an unanchored pattern: deeper names too.
    let o = synroute(&[
        "explain",
        "http://a.b.apps.example.com/",
        "--target",
        "pingress",
        CASE,
    ]);
    assert!(
        stdout(&o).contains("Service default/tenant-router"),
        "{}",
        stdout(&o)
    );
    // No certificate for the SNI: the handshake fails, and explain says
    // why before the plain-HTTP answer; it found nothing (exit 1).
    for (url, why) in [
        (
            "https://legacy.example.com/",
            "would stop Pingress and is left out (SR1613)",
        ),
        ("https://t1.apps.example.com/", "is never served (SR1614)"),
    ] {
        let o = synroute(&["explain", url, "--target", "pingress", CASE]);
        assert_eq!(code(&o), 1, "{url}");
        assert!(stdout(&o).contains("the handshake fails"), "{}", stdout(&o));
        assert!(stdout(&o).contains(why), "{}", stdout(&o));
    }
    // No rule: 500.
    let o = synroute(&[
        "explain",
        "http://apps.example.com/",
        "--target",
        "pingress",
        CASE,
    ]);
    assert!(
        stdout(&o).contains("is not in proxy.json; Pingress answers 500"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn diff_and_check_read_proxy_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("proxy.json");
    let case = CASE;
    let o = synroute(&[
        "render",
        case,
        "--target",
        "pingress",
        "-q",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 0);
    let file = out.to_str().expect("utf8");
    // The committed file against the manifests it came from: no change.
    let o = synroute(&["diff", file, case, "--target", "pingress"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // Against other manifests: the rules that went and came.
    let o = synroute(&["diff", file, UNDEFINED, "--target", "pingress"]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(
        text.contains("- host removed example.com: was /\n"),
        "{text}"
    );
    // A rule the emitter reported and left out is not "added".
    assert!(
        text.contains("+ host added odd.example.com: /fine\n"),
        "{text}"
    );
    // Another keys dir is a change of every TLS host's certificate file.
    let o = synroute(&[
        "diff",
        file,
        case,
        "--target",
        "pingress",
        "--keys-dir",
        "/srv/tls",
    ]);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("/srv/tls/example.com.cert"),
        "{}",
        stdout(&o)
    );
    // check: the file is recognised as Pingress's and read strictly.
    let o = synroute(&["check", file]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let text = fs::read_to_string(&out).expect("read");
    fs::write(&out, text.replacen("\"host\"", "\"hostname\"", 1)).expect("write");
    let o = synroute(&["check", file, "--target", "pingress", "--format", "json"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("SR1606"), "{}", stdout(&o));
    // A file written by hand, as the proxy uses it: the rules of an exact
    // host before its last, and a wildcard host's tls, are never used.
    let rule = |host: &str, path: &str, tls: bool| {
        let tls = if tls {
            r#", "tls": {"key": "/k/x.key", "cert": "/k/x.cert"}"#
        } else {
            ""
        };
        format!(
            "    {{\"host\": \"{host}\", \"path\": {{\"type\": \"Prefix\", \"path\": \"{path}\"}}, \"backend\": {{\"type\": \"Service\", \"name\": \"s\", \"namespace\": \"d\", \"port\": 80}}{tls}}}"
        )
    };
    let rules = [
        rule("a.com", "/api", false),
        rule("a.com", "/", false),
        rule("*.b.com", "/", true),
        rule("c.com", "/", true),
    ];
    fs::write(
        &out,
        format!("{{\"rules\": [\n{}\n]}}\n", rules.join(",\n")),
    )
    .expect("write");
    let o = synroute(&["check", file]);
    let err = stdout(&o) + &stderr(&o);
    assert!(err.contains(":2: warning[SR1607]"), "{err}");
    assert!(
        err.contains("rule 1 (a.com /api) is not the last of a.com"),
        "{err}"
    );
    assert!(err.contains(":4: warning[SR1607]"), "{err}");
    assert!(err.contains("the tls of rule 3 (*.b.com)"), "{err}");
    assert_eq!(err.matches("SR1607").count(), 2, "{err}");
}
