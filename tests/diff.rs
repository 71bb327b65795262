//! `synroute diff`: the change in meaning between two manifest trees (or a
//! rendered upstreams.yaml), its formats, and its exit codes.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn synroute(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synroute"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run synroute")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(from).expect("prefix");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&dest).expect("mkdir");
        } else if entry.file_type().is_file() {
            fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

use common::snapshot;

#[test]
fn exit_codes_follow_kubectl_diff() {
    assert_eq!(
        code(&synroute(&["diff", "fixtures/demo", "fixtures/demo"])),
        0
    );
    assert_eq!(
        code(&synroute(&[
            "diff",
            "fixtures/demo",
            "fixtures/tls-string-data"
        ])),
        1
    );
    assert_eq!(
        code(&synroute(&[
            "diff",
            "fixtures/demo",
            "fixtures/malformed-yaml"
        ])),
        2
    );
    assert_eq!(
        code(&synroute(&["diff", "fixtures/demo", "no/such/dir"])),
        2
    );
    assert_eq!(code(&synroute(&["diff", "-", "-"])), 2);
}

#[test]
fn a_rendered_file_is_recognised_by_its_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rendered = dir.path().join("committed.yaml");
    let r = synroute(&[
        "render",
        "fixtures/demo",
        "-o",
        rendered.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&r), 0);
    let o = synroute(&["diff", rendered.to_str().expect("utf8"), "fixtures/demo"]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    let o = synroute(&[
        "diff",
        rendered.to_str().expect("utf8"),
        "fixtures/route-conflict-first-writer-wins",
    ]);
    assert_eq!(code(&o), 1);
    assert!(
        out(&o).contains("- host removed shop.example.com"),
        "{}",
        out(&o)
    );
}

#[test]
fn every_format_is_pinned() {
    let pair = [
        "diff",
        "fixtures/route-conflict-first-writer-wins",
        "fixtures/route-conflict-creation-timestamp-order",
    ];
    for format in ["text", "markdown", "json"] {
        let mut args = pair.to_vec();
        args.extend(["--format", format]);
        let o = synroute(&args);
        assert_eq!(code(&o), 1);
        snapshot(&format!("diff__format_{format}"), &out(&o));
    }
    let mut args = pair.to_vec();
    args.push("--unified");
    snapshot("diff__unified", &out(&synroute(&args)));
}

fn secret(name: &str, ns: &str, cert: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n    -----BEGIN CERTIFICATE-----\n    {cert}\n    -----END CERTIFICATE-----\n  tls.key: |\n    -----BEGIN PRIVATE KEY-----\n    a2V5\n    -----END PRIVATE KEY-----\n"
    )
}

/// Two checkouts of the real-world corpus: one route edited, one host
/// removed, one certificate rotated — and exactly those three changes.
#[test]
fn real_world_checkouts_with_three_edits_give_three_changes() {
    let root = match std::env::var_os("SYNROUTE_CORPUS") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::PathBuf::from("../shared/corpus"),
    };
    let real = root.join("real-world");
    if !real.is_dir() {
        assert!(
            std::env::var_os("SYNROUTE_CORPUS").is_none(),
            "SYNROUTE_CORPUS has no real-world/"
        );
        eprintln!("skipping: {} is missing", real.display());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    copy_tree(&real, &old);
    copy_tree(&real, &new);
    let gw = "theepicsaxguy__homelab/k8s/infrastructure/network/gateway";
    fs::write(
        old.join(gw).join("tls.yaml"),
        secret("cert-goingdark", "gateway", "b2xkLWNlcnQ="),
    )
    .expect("write");
    fs::write(
        new.join(gw).join("tls.yaml"),
        secret("cert-goingdark", "gateway", "bmV3LWNlcnQ="),
    )
    .expect("write");
    let argocd =
        new.join("theepicsaxguy__homelab/k8s/infrastructure/controllers/argocd/http-route.yaml");
    let text = fs::read_to_string(&argocd).expect("read");
    assert!(text.contains("port: 80\n"));
    fs::write(&argocd, text.replace("port: 80\n", "port: 8080\n")).expect("write");
    fs::remove_file(
        new.join("theepicsaxguy__homelab/k8s/infrastructure/monitoring/hubble/http-route.yaml"),
    )
    .expect("rm");
    let flags = [
        "--exclude",
        "templates",
        "--exclude",
        "archive",
        "--ingress-class",
        "nginx-external",
        "--controller-name",
        "io.cilium/gateway-controller",
        "--format",
        "json",
    ];
    let mut args = vec![
        "diff",
        old.to_str().expect("utf8"),
        new.to_str().expect("utf8"),
    ];
    args.extend(flags);
    let o = synroute(&args);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    let changes: Vec<String> = v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            format!(
                "{} {}{}",
                c["kind"].as_str().unwrap_or(""),
                c["subject"].as_str().unwrap_or(""),
                c["path"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            "servers_changed argocd.peekoff.com/".to_string(),
            "host_removed hubble.peekoff.com".to_string(),
            "cert_rotated gateway_cert-goingdark, goingdark.social".to_string(),
        ]
    );
    let argocd_change = &v["changes"][0];
    assert_eq!(
        argocd_change["before"],
        "argocd-server.argocd.svc.cluster.local:80"
    );
    assert_eq!(
        argocd_change["after"],
        "argocd-server.argocd.svc.cluster.local:8080"
    );
    assert!(
        argocd_change["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("HTTPRoute argocd/argocd at "))
    );
    // The same trees compared with themselves: no difference.
    let mut same = vec![
        "diff",
        old.to_str().expect("utf8"),
        old.to_str().expect("utf8"),
    ];
    same.extend(flags);
    assert_eq!(code(&synroute(&same)), 0);
}

/// A migration's review: the same manifests rendered for v1 and for v2
/// differ in routing where v2 says more (an Exact path, a method, a
/// wildcard host); a rendered file of each format reads back as the
/// routing it stands for, so a file compared with its own manifests shows
/// only what its format could not say (and was reported).
#[test]
fn diff_across_targets_compares_the_routing() {
    let case = "fixtures/target-v2-expression-routes";
    let o = synroute(&["diff", case, case, "--old-target", "v1", "--target", "v2"]);
    assert_eq!(code(&o), 1);
    let text = out(&o);
    for want in [
        "+ host added *.example.com",
        "- path removed app.example.com/login:",
        "+ path added app.example.com/login (exact)",
        "+ path added app.example.com/api [POST]",
        "+ path added app.example.com ^(?:/v[0-9]+/items|/items) (regex)",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    // The same target on both sides: nothing.
    let o = synroute(&["diff", case, case, "--old-target", "v2", "--target", "v2"]);
    assert_eq!(code(&o), 0, "{}", out(&o));

    let dir = tempfile::tempdir().unwrap();
    for (target, fixture, left) in [
        // Every route of v2's expression host reads back as its match.
        (
            "v2",
            case,
            "healthcheck changed app.example.com/status (exact)",
        ),
        // 0.2's repeated servers read back as weights: the capped pool is
        // the one change (and SR1602 said so).
        (
            "0.2",
            "fixtures/target-0.2-weights-by-repetition",
            "servers changed app.example.com/skewed",
        ),
    ] {
        let file = dir.path().join(format!("{target}.yaml"));
        let o = synroute(&[
            "render",
            fixture,
            "--target",
            target,
            "-o",
            file.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 0);
        let o = synroute(&["diff", fixture, file.to_str().unwrap(), "--target", target]);
        let text = out(&o);
        assert!(text.contains(left), "{target}: {text}");
        let changes = text
            .lines()
            .filter(|l| l.starts_with(['+', '-', '~']))
            .count();
        let expected = if target == "0.2" { 2 } else { 1 };
        assert_eq!(changes, expected, "{target}: {text}");
    }
}
