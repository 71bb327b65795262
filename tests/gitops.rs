//! `render --emit configmap|kustomize`: the render as Kubernetes objects,
//! built by `kubectl kustomize` (the machines' kubectl, offline) into a
//! Synapse workload, for every fixture: the ConfigMap holds the routing
//! file byte for byte, the projected volume lays out exactly the files
//! `--certs-out` writes, the hash on the pod template is `synroute hash`'s
//! of the ConfigMap, and a Secret of another namespace is said and left
//! out. Without kubectl the kustomize builds are skipped, saying so.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::expect::cases;
use common::{code, run, stderr, stdout};

/// Whether `kubectl kustomize` can run here.
fn kubectl() -> bool {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping the kustomize builds: no kubectl on this machine");
    }
    ok
}

/// A base of the Synapse workload and an overlay that uses the emitted
/// Component, as a user's repository would hold them.
fn overlay(root: &Path, component: &Path, namespace: &str, app: &str) -> std::path::PathBuf {
    let base = root.join("overlay");
    fs::create_dir_all(&base).expect("mkdir");
    fs::write(
        base.join("deployment.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {app}, namespace: {namespace}}}\nspec:\n  selector: {{matchLabels: {{app: {app}}}}}\n  template:\n    metadata: {{labels: {{app: {app}}}}}\n    spec:\n      containers:\n      - name: {app}\n        image: {app}:latest\n"
        ),
    )
    .expect("write");
    let rel = pathdiff(component, &base);
    fs::write(
        base.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\ncomponents:\n- {rel}\n"
        ),
    )
    .expect("write");
    base
}

/// `to` relative to `from` (both under one temp folder).
fn pathdiff(to: &Path, from: &Path) -> String {
    let up = from.components().count();
    let common = to
        .components()
        .zip(from.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out: Vec<String> = (common..up).map(|_| "..".to_string()).collect();
    out.extend(
        to.components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().to_string()),
    );
    out.join("/")
}

/// The built objects: (ConfigMap's routing file, the projected paths, the
/// pod template's hash).
fn built(overlay: &Path) -> (String, BTreeSet<String>, String) {
    let o = Command::new("kubectl")
        .arg("kustomize")
        .arg(overlay)
        .output()
        .expect("kubectl kustomize");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let mut file = String::new();
    let mut paths = BTreeSet::new();
    let mut hash = String::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).expect("yaml");
        match v["kind"].as_str() {
            Some("ConfigMap") => {
                let data = v["data"].as_mapping().expect("data");
                file = data
                    .values()
                    .next()
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
                    .to_string();
            }
            Some("Deployment") => {
                let t = &v["spec"]["template"];
                hash = t["metadata"]["annotations"]["synapse.gen0sec.com/config-hash"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                for vol in t["spec"]["volumes"].as_sequence().into_iter().flatten() {
                    for src in vol["projected"]["sources"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                    {
                        for item in src["secret"]["items"].as_sequence().into_iter().flatten() {
                            paths.insert(item["path"].as_str().unwrap_or("").to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (file, paths, hash)
}

/// The namespace the fixture's TLS Secrets (and so the workload) are in.
fn secrets_namespace(case: &str) -> String {
    let sources = common::fixture_sources(&format!("fixtures/{case}"));
    common::yaml_documents(&sources)
        .iter()
        .find(|d| d["kind"].as_str() == Some("Secret"))
        .and_then(|d| d["metadata"]["namespace"].as_str().map(str::to_string))
        .unwrap_or_else(|| "default".to_string())
}

fn args_with(case: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec!["render".into(), format!("fixtures/{case}")];
    args.extend(common::expect::args_of(case));
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn synroute(args: &[String]) -> std::process::Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs, None, &[])
}

#[test]
fn every_fixture_emits_what_render_writes_and_kustomize_builds_it() {
    let kustomize = kubectl();
    let mut checked = 0;
    for case in cases() {
        for target in ["v1", "pingress"] {
            if target == "pingress" && !case.starts_with("pingress") {
                continue;
            }
            let tmp = tempfile::tempdir().expect("tempdir");
            let file = tmp.path().join("routes");
            let certs = tmp.path().join("certs");
            let t = ["--target", target];
            let plain = synroute(&args_with(
                &case,
                &[
                    &t[..],
                    &[
                        "-o",
                        file.to_str().unwrap(),
                        "--certs-out",
                        certs.to_str().unwrap(),
                        "-q",
                    ],
                ]
                .concat(),
            ));
            if code(&plain) != 0 {
                // Malformed, or refused by --strict: nothing is emitted either.
                continue;
            }
            let ns = secrets_namespace(&case);
            let dir = tmp.path().join("synroute");
            let emitted = synroute(&args_with(
                &case,
                &[
                    &t[..],
                    &[
                        "--emit",
                        "kustomize",
                        "-o",
                        dir.to_str().unwrap(),
                        "--workload-namespace",
                        &ns,
                        "--min-severity",
                        "info",
                    ],
                ]
                .concat(),
            ));
            assert_eq!(code(&emitted), 0, "{case} {target}: {}", stderr(&emitted));
            // The folder is byte-identical from run to run.
            let again = synroute(&args_with(
                &case,
                &[
                    &t[..],
                    &[
                        "--emit",
                        "kustomize",
                        "-o",
                        dir.to_str().unwrap(),
                        "--workload-namespace",
                        &ns,
                        "--check",
                    ],
                ]
                .concat(),
            ));
            assert_eq!(code(&again), 0, "{case} {target}: {}", stderr(&again));
            let said = stderr(&emitted);
            // Secrets not in the input are the cluster's: the file then
            // names their certificates where `render -o` could not.
            let in_cluster = said.contains(&format!("[{}]", "SR1411"));
            let written: BTreeSet<String> = fs::read_dir(&certs)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .map(|e| e.file_name().to_string_lossy().to_string())
                        .filter(|n| !n.starts_with('.'))
                        .collect()
                })
                .unwrap_or_default();
            let cm = fs::read_to_string(dir.join("configmap.yaml")).expect("configmap");
            let hash = run(
                &[
                    "hash",
                    dir.join("configmap.yaml").to_str().unwrap(),
                    "--ignore-configmap-keys",
                    "",
                    "--label-selector",
                    "app.kubernetes.io/managed-by=synroute",
                ],
                None,
                &[],
            );
            let hash = stdout(&hash)
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            assert!(
                cm.contains("app.kubernetes.io/managed-by: synroute"),
                "{cm}"
            );
            if !kustomize {
                continue;
            }
            let app = if target == "pingress" {
                "pingress"
            } else {
                "synapse"
            };
            let base = overlay(tmp.path(), &dir, &ns, app);
            let (routing, paths, stamped) = built(&base);
            if !in_cluster {
                assert_eq!(
                    routing,
                    fs::read_to_string(&file).expect("routes"),
                    "{case} {target}"
                );
                assert_eq!(paths, written, "{case} {target}: the projected files");
            } else {
                // Every file --certs-out wrote is projected too.
                assert!(
                    paths.is_superset(&written),
                    "{case} {target}: {paths:?} {written:?}"
                );
            }
            assert!(
                !stamped.is_empty() && stamped == hash,
                "{case} {target}: {stamped} vs {hash}"
            );
            checked += 1;
        }
    }
    if kustomize {
        assert!(checked >= 100, "only {checked} folders built");
    }
}

/// A Secret in another namespace than the workload cannot be projected:
/// said per TLS entry (SR1702), left out of the volume and of the file.
#[test]
fn a_secret_of_another_namespace_is_said_and_left_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("out");
    let o = run(
        &[
            "render",
            "fixtures/demo",
            "--emit",
            "kustomize",
            "-o",
            dir.to_str().unwrap(),
            "--workload-namespace",
            "edge",
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    for host in ["shop.example.com", "api.example.com"] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("warning[{}]", "SR1702"))
                    && l.contains(host)
                    && l.contains("shop/shop-tls")),
            "{host}: {err}"
        );
    }
    let workload = fs::read_to_string(dir.join("workload.yaml")).expect("workload");
    assert!(
        !workload.contains("projected") && !workload.contains("shop-tls"),
        "{workload}"
    );
    let cm = fs::read_to_string(dir.join("configmap.yaml")).expect("configmap");
    assert!(!cm.contains("certificate:"), "{cm}");
    assert!(cm.contains("namespace: edge"), "{cm}");
}

/// A Secret the input does not hold (cert-manager's, in the cluster) is
/// projected all the same, and the host names its certificate.
#[test]
fn a_secret_the_cluster_holds_is_projected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("out");
    let o = run(
        &[
            "render",
            "fixtures/tls-secret-missing",
            "--emit",
            "kustomize",
            "-o",
            dir.to_str().unwrap(),
            "--workload-namespace",
            "shop",
            "--min-severity",
            "info",
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("info[{}]", "SR1411")), "{err}");
    assert!(!err.contains("SR1401"), "{err}");
    let workload = fs::read_to_string(dir.join("workload.yaml")).expect("workload");
    assert!(
        workload.contains("projected") && workload.contains("optional: true"),
        "{workload}"
    );
    // Plain `render -o` still says the Secret is missing.
    let plain = run(&["render", "fixtures/tls-secret-missing"], None, &[]);
    assert!(stderr(&plain).contains("SR1401"), "{}", stderr(&plain));
}

/// `--emit configmap`: one document, stdout or -o FILE, the empty-render
/// guard and --check as for the routing file; usage errors named.
#[test]
fn emit_configmap_and_the_usage_it_refuses() {
    let o = run(
        &["render", "fixtures/demo", "--emit", "configmap", "-q"],
        None,
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc = stdout(&o);
    assert!(
        doc.starts_with("# Generated by synroute") && doc.contains("kind: ConfigMap"),
        "{doc}"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("cm.yaml");
    let f = file.to_str().unwrap();
    let o = run(
        &[
            "render",
            "fixtures/demo",
            "--emit",
            "configmap",
            "-o",
            f,
            "-q",
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&file).expect("read"), doc);
    let o = run(
        &[
            "render",
            "fixtures/demo",
            "--emit",
            "configmap",
            "-o",
            f,
            "--check",
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A render that routes nothing does not replace it.
    let o = run(
        &[
            "render",
            "fixtures/demo",
            "--emit",
            "configmap",
            "-o",
            f,
            "--ingress-class",
            "nope",
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("[{}]", "SR1701")),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(&file).expect("read"), doc);
    for (bad, says) in [
        (&["--emit", "kustomize"][..], "-o DIR"),
        (&["--emit", "configmap", "--certs-out", "x"], "--certs-out"),
        (
            &[
                "--emit",
                "kustomize",
                "-o",
                "x",
                "--workload",
                "Pod/synapse",
            ],
            "--workload",
        ),
        (
            &["--emit", "kustomize", "-o", "x", "--routes-dir", "routes"],
            "absolute",
        ),
        (
            &[
                "--emit",
                "kustomize",
                "-o",
                "x",
                "--target",
                "pingress",
                "--certs-dir",
                "/elsewhere",
            ],
            "--keys-dir",
        ),
    ] {
        let args: Vec<&str> = ["render", "fixtures/demo"]
            .into_iter()
            .chain(bad.iter().copied())
            .collect();
        let o = run(&args, None, &[]);
        assert_eq!(code(&o), 2, "{bad:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{bad:?}: {}", stderr(&o));
    }
}

/// `diff` of two emitted folders is a route diff.
#[test]
fn diff_of_emitted_folders_reads_routes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (case, dir) in [
        ("route-conflict-first-writer-wins", &a),
        ("route-conflict-creation-timestamp-order", &b),
    ] {
        let o = run(
            &[
                "render",
                &format!("fixtures/{case}"),
                "--emit",
                "kustomize",
                "-o",
                dir.to_str().unwrap(),
                "-q",
            ],
            None,
            &[],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let o = run(
        &["diff", a.to_str().unwrap(), b.to_str().unwrap()],
        None,
        &[],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("~ servers changed a.example.com/"), "{text}");
    assert!(
        !text.contains("configmap") && !text.contains("data:"),
        "{text}"
    );
}

/// docs/gitops.md's shell blocks, run in order as the doc says, from a
/// repository whose `k8s/` is the demo: `synroute` is the binary under
/// test, and `kubectl apply` stands in by `kubectl kustomize` (no cluster).
#[test]
fn the_documented_pipelines_run_without_a_cluster() {
    if !kubectl() {
        return;
    }
    let doc = fs::read_to_string("docs/gitops.md").expect("docs/gitops.md");
    let blocks: Vec<&str> = doc
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(blocks.len() >= 4, "{} blocks", blocks.len());
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    let bin = tmp.path().join("bin");
    fs::create_dir_all(repo.join("k8s")).expect("mkdir");
    fs::create_dir_all(&bin).expect("mkdir");
    for e in fs::read_dir("fixtures/demo").expect("demo") {
        let e = e.expect("entry");
        fs::copy(e.path(), repo.join("k8s").join(e.file_name())).expect("copy");
    }
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v kubectl"])
            .output()
            .expect("kubectl path")
            .stdout,
    )
    .expect("utf-8");
    let real = real.trim();
    fs::write(
        bin.join("kubectl"),
        format!(
            "#!/bin/sh\n# kubectl, but `apply` only builds what it would apply.\nif [ \"$1\" = apply ]; then\n  if [ \"$2\" = -k ]; then exec {real} kustomize \"$3\" > /dev/null; fi\n  cat > /dev/null; exit 0\nfi\nexec {real} \"$@\"\n"
        ),
    )
    .expect("write");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_synroute"), bin.join("synroute"))
        .expect("symlink");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(bin.join("kubectl"), fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (i, block) in blocks.iter().enumerate() {
        let o = Command::new("bash")
            .args(["-e", "-c", block])
            .current_dir(&repo)
            .env("PATH", &path)
            .output()
            .expect("bash");
        assert!(
            o.status.success(),
            "block {i} failed:\n{block}\n--- stdout:\n{}\n--- stderr:\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // What the pipelines applied: the workload with the routes and certs.
    let o = Command::new(real)
        .args(["kustomize", "overlay/"])
        .current_dir(&repo)
        .output()
        .expect("kubectl kustomize");
    let built = String::from_utf8_lossy(&o.stdout);
    assert!(
        built.contains("synroute-certs") && built.contains("shop.example.com.crt"),
        "{built}"
    );
}
