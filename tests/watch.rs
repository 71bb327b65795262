//! `synroute watch PATH...` for real, on a temp folder (feature `watch`):
//! the output follows edits, additions and deletions within the debounce,
//! a malformed edit keeps the last good file, and a process that counts
//! SIGHUPs gets exactly one per render that changed a file.
#![cfg(feature = "watch")]

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
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .spawn()
        .expect("spawn sh");
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
