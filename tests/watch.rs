//! `synroute watch PATH...` for real, on a temp folder (feature `watch`):
//! the output follows edits, additions and deletions within the debounce,
//! a malformed edit keeps the last good file, and a process that counts
//! SIGHUPs gets exactly one per render that changed a file.
#![cfg(feature = "watch")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  ports:\n  - port: 80\n";

fn ingress(host: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  ingressClassName: synapse\n  rules:\n  - host: {host}\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: web\n            port:\n              number: 80\n"
    )
}

/// Kills the child when the test ends, whatever happens.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `synroute watch --debounce 100ms ARGS...`, killed when the guard drops.
fn watch(args: &[&std::ffi::OsStr]) -> Guard {
    let child = Command::new(env!("CARGO_BIN_EXE_synroute"))
        .args(["watch", "--debounce", "100ms"])
        .args(args)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn synroute watch");
    Guard(child)
}

/// A shell that appends a line to `count` on every SIGHUP and writes its
/// PID to `pid`.
fn hup_counter(dir: &Path) -> (Guard, PathBuf, PathBuf) {
    let count = dir.join("hups");
    let pid = dir.join("counter.pid");
    let script = format!(
        "trap 'echo hup >> {}' HUP; echo $$ > {}.tmp; mv {}.tmp {}; while :; do sleep 0.05; done",
        count.display(),
        pid.display(),
        pid.display(),
        pid.display()
    );
    // A shell cannot trap a signal that was ignored when it started (a
    // harness under `nohup` ignores SIGHUP): coreutils' env resets it.
    let resets = Command::new("env")
        .args(["--default-signal=HUP", "true"])
        .status()
        .is_ok_and(|s| s.success());
    let mut cmd = if resets {
        let mut c = Command::new("env");
        c.args(["--default-signal=HUP", "sh"]);
        c
    } else {
        Command::new("sh")
    };
    let child = cmd.arg("-c").arg(script).spawn().expect("spawn sh");
    wait_for(|| pid.exists(), "the counter's pid file");
    (Guard(child), count, pid)
}

fn hups(count: &Path) -> usize {
    std::fs::read_to_string(count)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn wait_for(mut ok: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn output_follows_the_folder_and_each_change_signals_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifests = tmp.path().join("manifests");
    std::fs::create_dir(&manifests).expect("mkdir");
    std::fs::write(manifests.join("svc.yaml"), SERVICE).expect("write");
    std::fs::write(manifests.join("ing.yaml"), ingress("a.example.com")).expect("write");
    let (_counter, count, pid) = hup_counter(tmp.path());
    let out = tmp.path().join("upstreams.yaml");
    let ready = tmp.path().join("ready");
    let _watcher = watch(&[
        "-o".as_ref(),
        out.as_ref(),
        "--reload-pid-file".as_ref(),
        pid.as_ref(),
        "--ready-file".as_ref(),
        ready.as_ref(),
        manifests.as_ref(),
    ]);

    // The first render writes the file, marks ready and signals once.
    wait_for(|| read(&out).contains("a.example.com"), "the first render");
    wait_for(|| ready.exists(), "the ready file");
    wait_for(|| hups(&count) == 1, "the first SIGHUP");

    // An edit.
    std::fs::write(manifests.join("ing.yaml"), ingress("b.example.com")).expect("write");
    wait_for(|| read(&out).contains("b.example.com"), "the edit");
    wait_for(|| hups(&count) == 2, "the second SIGHUP");

    // An addition.
    let second =
        ingress("c.example.com").replace("name: web\n  namespace", "name: web2\n  namespace");
    std::fs::write(manifests.join("ing2.yaml"), second).expect("write");
    wait_for(|| read(&out).contains("c.example.com"), "the addition");
    wait_for(|| hups(&count) == 3, "the third SIGHUP");

    // A burst of edits renders once, with the final state.
    for i in 0..5 {
        std::fs::write(
            manifests.join("ing.yaml"),
            ingress(&format!("burst{i}.example.com")),
        )
        .expect("write");
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_for(|| read(&out).contains("burst4.example.com"), "the burst");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(hups(&count), 4, "one signal for the whole burst");

    // A change that renders the same bytes writes nothing and signals nothing.
    let same = format!("# a comment\n{}", ingress("burst4.example.com"));
    std::fs::write(manifests.join("ing.yaml"), same).expect("write");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(hups(&count), 4, "no signal for an unchanged render");

    // A malformed edit keeps the last good file and sends nothing.
    let before = read(&out);
    std::fs::write(
        manifests.join("ing.yaml"),
        "kind: Ingress\napiVersion: networking.k8s.io/v1\nspec: [\n",
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(read(&out), before, "the last good file stays");
    assert_eq!(hups(&count), 4);

    // A deletion.
    std::fs::remove_file(manifests.join("ing.yaml")).expect("rm");
    wait_for(
        || !read(&out).contains("burst4.example.com"),
        "the deletion",
    );
    assert!(read(&out).contains("c.example.com"));
    wait_for(|| hups(&count) == 5, "the fifth SIGHUP");
}

/// `watch --target v2` keeps the v2 file, and follows an edit in it.
#[test]
fn watch_writes_the_target_format() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifests = tmp.path().join("manifests");
    std::fs::create_dir(&manifests).expect("mkdir");
    std::fs::write(manifests.join("svc.yaml"), SERVICE).expect("write");
    std::fs::write(manifests.join("ing.yaml"), ingress("a.example.com")).expect("write");
    let out = tmp.path().join("upstreams.yaml");
    let _watcher = watch(&[
        "--target".as_ref(),
        "v2".as_ref(),
        "--no-reload".as_ref(),
        "-o".as_ref(),
        out.as_ref(),
        manifests.as_ref(),
    ]);
    wait_for(|| read(&out).contains("a.example.com"), "the first render");
    let text = read(&out);
    assert!(text.contains("version: 2\n"), "{text}");
    assert!(
        synroute::emit::schema::validate(synroute::target::Target::V2, &text).is_empty(),
        "{text}"
    );
    std::fs::write(manifests.join("ing.yaml"), ingress("b.example.com")).expect("write");
    wait_for(|| read(&out).contains("b.example.com"), "the edit");
    assert!(read(&out).contains("upstream: web.shop.svc.cluster.local:80"));
}

#[test]
fn watch_refuses_stdin_and_needs_an_output() {
    let out = Command::new(env!("CARGO_BIN_EXE_synroute"))
        .args(["watch", "-o", "/tmp/never-written.yaml", "-"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_synroute"))
        .args(["watch", "fixtures/demo"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "no -o FILE");
}

/// Kubernetes updates a ConfigMap volume by swapping the `..data` symlink
/// to a new hidden folder; the files are symlinks through it. The watcher
/// must see the swap and render the new content.
#[test]
fn follows_a_configmap_volume_update() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().expect("tempdir");
    let vol = tmp.path().join("routes");
    std::fs::create_dir_all(vol.join("..v1")).expect("mkdir");
    std::fs::write(vol.join("..v1/ing.yaml"), ingress("one.example.com")).expect("write");
    std::fs::write(vol.join("..v1/svc.yaml"), SERVICE).expect("write");
    symlink("..v1", vol.join("..data")).expect("symlink");
    symlink("..data/ing.yaml", vol.join("ing.yaml")).expect("symlink");
    symlink("..data/svc.yaml", vol.join("svc.yaml")).expect("symlink");
    let out = tmp.path().join("upstreams.yaml");
    let _watcher = watch(&[
        "--no-reload".as_ref(),
        "-o".as_ref(),
        out.as_ref(),
        vol.as_ref(),
    ]);
    wait_for(
        || read(&out).contains("one.example.com"),
        "the first render",
    );

    // The kubelet's update: a new folder, a new symlink renamed over `..data`.
    std::fs::create_dir_all(vol.join("..v2")).expect("mkdir");
    std::fs::write(vol.join("..v2/ing.yaml"), ingress("two.example.com")).expect("write");
    std::fs::write(vol.join("..v2/svc.yaml"), SERVICE).expect("write");
    symlink("..v2", vol.join("..data_tmp")).expect("symlink");
    std::fs::rename(vol.join("..data_tmp"), vol.join("..data")).expect("rename");
    wait_for(
        || read(&out).contains("two.example.com"),
        "the swapped content",
    );
    assert!(!read(&out).contains("one.example.com"));
}

/// The manifests as they are "now"; each message replaces them.
struct Script(Vec<synroute::Source>);

impl synroute::watch::Input for Script {
    type Msg = Option<Vec<synroute::Source>>;
    fn initial(&self) -> Vec<String> {
        vec!["script".into()]
    }
    fn feed(&mut self, msg: Self::Msg, _: &mut dyn std::io::Write) -> Vec<synroute::watch::Event> {
        match msg {
            None => vec![synroute::watch::Event::Listed("script".into())],
            Some(sources) => {
                self.0 = sources;
                vec![synroute::watch::Event::Changed]
            }
        }
    }
    fn sources(&mut self) -> std::io::Result<Vec<synroute::Source>> {
        Ok(self.0.clone())
    }
}

fn state(host: &str) -> Vec<synroute::Source> {
    vec![
        synroute::Source::new("svc.yaml", SERVICE),
        synroute::Source::new("ing.yaml", ingress(host)),
    ]
}

/// The loop with the CLI's own render step (render, write, signal),
/// driven by synthetic input changes instead of a watcher.
#[test]
fn changed_renders_write_and_signal_unchanged_and_failed_ones_do_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("upstreams.yaml");
    let (_counter, count, pid) = hup_counter(tmp.path());
    let args: Vec<String> = [
        "--debounce",
        "50ms",
        "--max-renders",
        "5",
        "--reload-pid-file",
        &pid.display().to_string(),
        "-o",
        &out.display().to_string(),
        "unused",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let settings = synroute::cli::watch_settings_for(&args).expect("watch arguments");

    let (tx, rx) = std::sync::mpsc::channel();
    let file = out.clone();
    let sender = std::thread::spawn(move || {
        let settle = || std::thread::sleep(Duration::from_millis(300));
        let _ = tx.send(None);
        settle();
        let first = read(&file);
        // A burst: one render, with the last state.
        for host in ["b.example.com", "c.example.com", "d.example.com"] {
            let _ = tx.send(Some(state(host)));
        }
        settle();
        let burst = read(&file);
        // The same routes from different bytes: an unchanged render.
        let mut same = state("d.example.com");
        same.push(synroute::Source::new("note.yaml", "# only a comment\n"));
        let _ = tx.send(Some(same));
        settle();
        // Malformed: the render fails, the last good file stays.
        let _ = tx.send(Some(vec![synroute::Source::new(
            "ing.yaml",
            "kind: Ingress\nspec: [\n",
        )]));
        settle();
        let after_failure = read(&file);
        let _ = tx.send(Some(state("e.example.com")));
        settle();
        (first, burst, after_failure)
    });
    let mut log = Vec::new();
    synroute::watch::run(settings, Script(state("a.example.com")), rx, &mut log).expect("the loop");
    let (first, burst, after_failure) = sender.join().expect("sender");
    let signals = hups(&count);

    let log = String::from_utf8(log).expect("utf-8 log");
    let outcomes: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split("\"outcome\":\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(
        outcomes,
        ["changed", "changed", "unchanged", "failed", "changed"],
        "{log}"
    );
    assert!(first.contains("a.example.com"), "{first}");
    assert!(burst.contains("d.example.com") && !burst.contains("c.example.com"));
    assert_eq!(after_failure, burst, "the last good file stays");
    assert!(read(&out).contains("e.example.com"));
    assert_eq!(signals, 3, "one SIGHUP per changed render: {log}");
}

/// The loop with the CLI's render step, fed `states` one after another
/// (the first is the initial one): the log, and the file after each state.
fn drive(extra: &[&str], out: &Path, states: Vec<Vec<synroute::Source>>) -> (String, Vec<String>) {
    let mut args: Vec<String> = ["--debounce", "50ms", "--no-reload", "-o"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.push(out.display().to_string());
    args.extend(extra.iter().map(|a| a.to_string()));
    args.extend([
        "--max-renders".to_string(),
        states.len().to_string(),
        "unused".into(),
    ]);
    let settings = synroute::cli::watch_settings_for(&args).expect("watch arguments");
    let mut states = states.into_iter();
    let first = states.next().unwrap_or_default();
    let (tx, rx) = std::sync::mpsc::channel();
    let file = out.to_path_buf();
    let sender = std::thread::spawn(move || {
        let settle = || std::thread::sleep(Duration::from_millis(300));
        let _ = tx.send(None);
        settle();
        let mut files = vec![read(&file)];
        for state in states {
            let _ = tx.send(Some(state));
            settle();
            files.push(read(&file));
        }
        files
    });
    let mut log = Vec::new();
    synroute::watch::run(settings, Script(first), rx, &mut log).expect("the loop");
    let files = sender.join().expect("sender");
    (String::from_utf8(log).expect("utf-8 log"), files)
}

/// An Ingress of a class nobody renders: the input routes nothing.
fn foreign_state() -> Vec<synroute::Source> {
    vec![
        synroute::Source::new("svc.yaml", SERVICE),
        synroute::Source::new(
            "ing.yaml",
            ingress("a.example.com")
                .replace("ingressClassName: synapse", "ingressClassName: other"),
        ),
    ]
}

/// The empty-render guard in the loop: a render that routes nothing is
/// refused with SR1701 and the file Synapse reads stays as it was (its
/// bytes, and no reload), until --allow-empty; a render that routes again
/// is written as usual.
#[test]
fn watch_never_replaces_routes_with_an_empty_render() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("upstreams.yaml");
    let states = vec![
        state("a.example.com"),
        foreign_state(),
        state("b.example.com"),
    ];
    let (log, files) = drive(&[], &out, states.clone());
    assert!(files[0].contains("a.example.com"), "{}", files[0]);
    assert_eq!(
        files[1], files[0],
        "the refused render left the file: {log}"
    );
    assert!(files[2].contains("b.example.com"), "{}", files[2]);
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"event\":\"refused\""))
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(
        refused[0].contains("\"code\":\"SR1701\"")
            && refused[0].contains(&format!("{}:1", out.display()))
            && refused[0].contains("--allow-empty"),
        "{log}"
    );
    assert!(log.contains("\"outcome\":\"failed\""), "{log}");
    // Asked for: the empty render is written.
    std::fs::remove_file(&out).expect("rm");
    let (log, files) = drive(&["--allow-empty"], &out, states);
    assert!(!log.contains("\"refused\""), "{log}");
    assert!(
        !files[1].contains("a.example.com") && files[1].contains("upstreams: {}"),
        "{}",
        files[1]
    );
}

// ---------------------------------------------------------------------
// `--from-cluster`, against the in-process fake API server.

#[path = "watch_support/fake_api.rs"]
mod fake_api;

use fake_api::{FakeApi, kubeconfig_for, resource_of};
use serde_json::Value;

/// The objects of a fixture folder as the API server would hold them:
/// only kinds it serves, every namespaced object in a namespace.
fn cluster_objects(dir: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for yaml in common::yaml_documents(&common::fixture_sources(dir)) {
        let Ok(mut obj) = serde_json::to_value(yaml) else {
            continue;
        };
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let Some((_, namespaced)) = resource_of(&api_version, &kind) else {
            continue;
        };
        if namespaced && obj["metadata"]["namespace"].is_null() {
            obj["metadata"]["namespace"] = "default".into();
        }
        out.push(obj);
    }
    out
}

fn fake_with(dirs: &[&str], crds: bool) -> FakeApi {
    let api = FakeApi::start();
    api.set_crds(crds);
    for dir in dirs {
        for obj in cluster_objects(dir) {
            api.apply(obj);
        }
    }
    api
}

fn write_kubeconfig(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

/// synroute with KUBECONFIG set (and no in-cluster environment).
fn synroute_with(kubeconfig: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synroute"));
    cmd.env("KUBECONFIG", kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT");
    cmd
}

/// `synroute render ARGS` from files: the bytes the cluster render must match.
fn render_files(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let mut render = Command::new(env!("CARGO_BIN_EXE_synroute"));
    succeeds(render.arg("render").args(args), "render from files").stdout
}

/// Runs `cmd`, which must exit 0 (else: `what` and its stderr).
fn succeeds(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd.output().expect("run synroute");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn render_from_cluster_writes_what_render_writes_from_the_same_files() {
    let fixtures = [
        "fixtures/demo",
        "fixtures/httproute-cross-namespace-with-grant",
        "fixtures/gateway-tls-cross-namespace-cert",
        "fixtures/httproute-allowed-routes-selector",
    ];
    for fixture in fixtures {
        let api = fake_with(&[fixture], true);
        // Not a TLS Secret: never asked for, never rendered.
        api.apply(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "db-password", "namespace": "default"},
            "data": {"password": "aHVudGVyMg=="}
        }));
        let tmp = tempfile::tempdir().expect("tempdir");
        let kubeconfig = write_kubeconfig(tmp.path(), &api.kubeconfig());
        let (out, certs) = (tmp.path().join("upstreams.yaml"), tmp.path().join("certs"));
        succeeds(
            synroute_with(&kubeconfig)
                .args(["render", "--from-cluster", "-q", "-o"])
                .arg(&out)
                .arg("--certs-out")
                .arg(&certs),
            fixture,
        );
        let files_certs = tmp.path().join("file-certs");
        let expected = render_files(&[
            fixture.as_ref(),
            "--certs-out".as_ref(),
            files_certs.as_ref(),
        ]);
        assert!(expected.len() > 100, "{fixture} renders routes");
        assert_eq!(
            String::from_utf8_lossy(&std::fs::read(&out).expect("output")),
            String::from_utf8_lossy(&expected),
            "{fixture}"
        );
        assert_eq!(file_names(&certs), file_names(&files_certs), "{fixture}");
        let asked = api.requests();
        assert!(
            asked
                .iter()
                .any(|r| r.contains("/secrets?")
                    && r.contains("fieldSelector=type=kubernetes.io/tls")),
            "{asked:?}"
        );
    }
}

/// A TCPRoute or UDPRoute on a Gateway of ours, listed from the cluster,
/// is said as it is from files (SR2020), not left out of the listing.
#[test]
fn render_from_cluster_says_the_routes_synapse_cannot_carry() {
    let fixture = "fixtures/gateway-other-kinds-and-policies";
    let api = fake_with(&[fixture], true);
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = write_kubeconfig(tmp.path(), &api.kubeconfig());
    let out = succeeds(
        synroute_with(&kubeconfig)
            .args(["render", "--from-cluster", "-o"])
            .arg(tmp.path().join("upstreams.yaml")),
        fixture,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for object in ["(TCPRoute infra/db)", "(UDPRoute infra/dns)"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("[SR2020]") && l.ends_with(object)),
            "{object}: {stderr}"
        );
    }
    let asked = api.requests();
    assert!(asked.iter().any(|r| r.contains("/tcproutes")), "{asked:?}");
}

#[test]
fn render_from_cluster_writes_nothing_when_the_api_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("upstreams.yaml");
    std::fs::write(&out, "old\n").expect("write");
    // Nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let unreachable = write_kubeconfig(tmp.path(), &kubeconfig_for(port));
    // A server that answers every request with 500.
    let api = fake_with(&["fixtures/demo"], true);
    api.fail_next(usize::MAX);
    let failing_dir = tmp.path().join("failing");
    std::fs::create_dir(&failing_dir).expect("mkdir");
    let failing = write_kubeconfig(&failing_dir, &api.kubeconfig());
    for kubeconfig in [unreachable, failing] {
        let run = synroute_with(&kubeconfig)
            .args(["render", "--from-cluster", "-o"])
            .arg(&out)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("synroute: error:"), "{stderr}");
        assert_eq!(read(&out), "old\n", "the old file stays");
    }
}

#[test]
fn render_from_cluster_skips_missing_gateway_crds_with_a_warning() {
    let api = fake_with(
        &["fixtures/demo", "fixtures/gateway-basic-httproute"],
        false,
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = write_kubeconfig(tmp.path(), &api.kubeconfig());
    let run = succeeds(
        synroute_with(&kubeconfig).args(["render", "--from-cluster"]),
        "render --from-cluster",
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("warning: HTTPRoute is not served by the API server"),
        "{stderr}"
    );
    // The Ingress routes render as from the demo alone.
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&render_files(&["fixtures/demo".as_ref()]))
    );
    assert!(!api.requests().iter().any(|r| r.contains("httproutes")));
}

#[test]
fn render_from_cluster_namespace_scopes_every_request() {
    let api = fake_with(&["fixtures/httproute-cross-namespace-with-grant"], true);
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = write_kubeconfig(tmp.path(), &api.kubeconfig());
    let objects = cluster_objects("fixtures/httproute-cross-namespace-with-grant");
    let ns = objects
        .iter()
        .find(|o| o["kind"] == "HTTPRoute")
        .and_then(|o| o["metadata"]["namespace"].as_str())
        .expect("a route namespace")
        .to_string();
    let run = succeeds(
        synroute_with(&kubeconfig).args(["render", "--from-cluster", "--namespace", &ns]),
        "render --from-cluster --namespace",
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&render_files(&[
            "fixtures/httproute-cross-namespace-with-grant".as_ref(),
            "--namespace".as_ref(),
            ns.as_ref(),
        ]))
    );
    for r in api.requests() {
        let path = r.split('?').next().unwrap_or_default();
        let cluster_scoped = ["/ingressclasses", "/gatewayclasses", "/api/v1/namespaces"]
            .iter()
            .any(|k| path.ends_with(k));
        let discovery = path.matches('/').count() <= 3;
        assert!(
            cluster_scoped || discovery || path.contains(&format!("/namespaces/{ns}/")),
            "{r}"
        );
        if path.ends_with("/api/v1/namespaces") {
            assert!(
                r.contains(&format!("fieldSelector=metadata.name={ns}")),
                "{r}"
            );
        }
    }
}

#[test]
fn watch_from_cluster_follows_the_api_and_signals_once_per_change() {
    let api = fake_with(&["fixtures/demo"], false);
    // The first requests fail: the loop backs off and retries.
    api.fail_next(3);
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = write_kubeconfig(tmp.path(), &api.kubeconfig());
    let (_counter, count, pid) = hup_counter(tmp.path());
    let out = tmp.path().join("upstreams.yaml");
    let ready = tmp.path().join("ready");
    let log = std::fs::File::create(tmp.path().join("log")).expect("log file");
    let child = synroute_with(&kubeconfig)
        .args([
            "watch",
            "--from-cluster",
            "--debounce",
            "100ms",
            "--crd-recheck",
            "1s",
        ])
        .arg("-o")
        .arg(&out)
        .arg("--reload-pid-file")
        .arg(&pid)
        .arg("--ready-file")
        .arg(&ready)
        .stderr(log)
        .spawn()
        .expect("spawn watch");
    let _watcher = Guard(child);
    let logged = || read(&tmp.path().join("log"));

    let demo = String::from_utf8(render_files(&["fixtures/demo".as_ref()])).expect("utf-8");
    wait_for(|| read(&out) == demo, "the first render");
    wait_for(|| ready.exists(), "the ready file");
    wait_for(|| hups(&count) == 1, "the first SIGHUP");
    assert!(logged().contains("\"event\":\"warning\""), "{}", logged());
    assert!(logged().contains("injected failure"), "{}", logged());
    assert!(
        logged().contains(r#""event":"listed","kind":"Ingress","objects":4"#),
        "{}",
        logged()
    );

    // An Ingress added through the API.
    let added = |host: &str| {
        serde_json::json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "extra", "namespace": "shop"},
            "spec": {"ingressClassName": "synapse", "rules": [{"host": host, "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}
        })
    };
    api.apply(added("added.example.com"));
    wait_for(|| read(&out).contains("added.example.com"), "the addition");
    wait_for(|| hups(&count) == 2, "the second SIGHUP");

    // A burst of edits: one render with the final state, one signal.
    for i in 0..5 {
        api.apply(added(&format!("burst{i}.example.com")));
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_for(|| read(&out).contains("burst4.example.com"), "the burst");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hups(&count), 3, "one signal for the burst");
    assert!(!read(&out).contains("burst3.example.com"));

    // A change that renders the same bytes writes nothing, signals nothing.
    let mut same = added("burst4.example.com");
    same["metadata"]["labels"] = serde_json::json!({"team": "shop"});
    api.apply(same.clone());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hups(&count), 3, "no signal for an unchanged render");

    // A deletion.
    api.delete(same);
    wait_for(|| read(&out) == demo, "the deletion");
    wait_for(|| hups(&count) == 4, "the fourth SIGHUP");

    // The Gateway API CRDs get installed: found on the next recheck, their
    // objects listed and rendered.
    for obj in cluster_objects("fixtures/gateway-basic-httproute") {
        api.apply(obj);
    }
    api.set_crds(true);
    let both = String::from_utf8(render_files(&[
        "fixtures/demo".as_ref(),
        "fixtures/gateway-basic-httproute".as_ref(),
    ]))
    .expect("utf-8");
    wait_for(|| read(&out) == both, "the Gateway API routes");
    wait_for(|| hups(&count) == 5, "the fifth SIGHUP");

    // The CRDs go away again: their routes go with them.
    api.set_crds(false);
    wait_for(|| read(&out) == demo, "the CRDs' removal");
    wait_for(|| hups(&count) == 6, "the sixth SIGHUP");
}

/// A real cluster, when one is configured; otherwise the reason it is skipped.
#[test]
fn render_from_a_real_cluster_when_kubeconfig_is_set() {
    let Some(kubeconfig) = std::env::var_os("KUBECONFIG") else {
        eprintln!("skipped: KUBECONFIG is not set, so there is no real cluster to read");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("upstreams.yaml");
    succeeds(
        synroute_with(Path::new(&kubeconfig))
            .args(["render", "--from-cluster", "-o"])
            .arg(&out),
        "render --from-cluster from the real cluster",
    );
    let text = read(&out);
    let parsed: Result<serde_yaml::Value, _> = serde_yaml::from_str(&text);
    assert!(parsed.is_ok(), "upstreams.yaml parses: {text}");
}

/// Synapse 0.8 and later reload on SIGHUP; 0.2 is never signalled (the
/// signal ends it): its config API, or a trigger file beside the file;
/// Pingress's proxy restarts itself when its folder changes, so a Pingress
/// watch signals nobody unless told to.
#[test]
fn the_reload_follows_the_target() {
    use synroute::watch::Reload;
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = tmp.path().join("key");
    std::fs::write(&key, "s3cret\n").expect("write");
    let key = key.display().to_string();
    let reload = |extra: &[&str]| {
        let mut args: Vec<String> = vec!["-o".into(), "/shared/out.yaml".into(), "in".into()];
        args.extend(extra.iter().map(|a| a.to_string()));
        synroute::cli::watch_settings_for(&args).map(|s| s.reload)
    };
    assert!(matches!(reload(&[]), Ok(Reload::Name(n)) if n == "synapse"));
    assert!(matches!(reload(&["--target", "v2"]), Ok(Reload::Name(n)) if n == "synapse"));
    assert!(matches!(reload(&["--target", "pingress"]), Ok(Reload::Off)));
    assert!(matches!(
        reload(&["--target", "pingress", "--reload-process-name", "pingress-proxy"]),
        Ok(Reload::Name(n)) if n == "pingress-proxy"
    ));
    // 0.2: a trigger file beside the output by default, the API when
    // given, never a signal.
    assert!(matches!(
        reload(&["--target", "0.2"]),
        Ok(Reload::Trigger(f)) if f == std::path::Path::new("/shared/out.yaml")
    ));
    assert!(matches!(
        reload(&["--target", "0.2", "--synapse-api", "http://127.0.0.1:8080", "--synapse-api-key-file", &key]),
        Ok(Reload::Api(api)) if api.url() == "http://127.0.0.1:8080"
    ));
    assert!(matches!(
        reload(&["--target", "0.2", "--no-reload"]),
        Ok(Reload::Off)
    ));
    for bad in [
        &["--target", "0.2", "--reload-process-name", "synapse"][..],
        &["--target", "0.2", "--reload-pid-file", "/run/synapse.pid"],
        &[
            "--synapse-api",
            "http://127.0.0.1:8080",
            "--synapse-api-key-file",
            &key,
        ],
        &[
            "--target",
            "0.2",
            "--synapse-api",
            "https://127.0.0.1:8080",
            "--synapse-api-key-file",
            &key,
        ],
        &[
            "--target",
            "0.2",
            "--synapse-api",
            "http://127.0.0.1:8080",
            "--synapse-api-key-file",
            "/nonexistent/key",
        ],
    ] {
        assert!(reload(bad).is_err(), "{bad:?}");
    }
}

/// `watch --target 0.2 --reload-process-name …` is a usage error that says
/// why, before anything is read or written.
#[test]
fn watch_refuses_to_signal_synapse_0_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("upstreams.yaml");
    let o = common::run(
        &[
            "watch",
            "fixtures/demo",
            "--target",
            "0.2",
            "--reload-process-name",
            "synapse",
            "-o",
            out.to_str().expect("utf8"),
        ],
        None,
        &[],
    );
    assert_eq!(common::code(&o), 2);
    assert!(
        common::stderr(&o).contains("SIGHUP"),
        "{}",
        common::stderr(&o)
    );
    assert!(!out.exists());
}
