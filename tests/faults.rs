//! Faults while writing: a render killed mid-write, a `--certs-out` that
//! cannot be written, and one that is a symlink. What must hold is what
//! the docs promise: `-o FILE` holds the old file or the new one,
//! never a mixture; a failure to write the certs stops the render before
//! `upstreams.yaml` changes (exit 2); a symlinked `--certs-out` is
//! followed. Nothing here is timed: a kill may land anywhere, and the
//! property must hold wherever it does.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{code, stderr};
#[path = "support/synth.rs"]
mod synth;

fn synroute(args: &[&str]) -> std::process::Output {
    common::run(args, None, &[])
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn a_render_killed_while_writing_leaves_the_old_file_or_the_new_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("apps.yaml");
    let text = synth::corpus(synth::Shape {
        apps: 3000,
        padding: 0,
        json: false,
        seed: 11,
    });
    fs::write(&input, text).expect("write input");
    // The new file, rendered whole once; and how long that takes here, so
    // that the kills below are spread over a whole render.
    let whole = dir.path().join("whole.yaml");
    let started = Instant::now();
    let o = synroute(&["render", path(&input), "-o", path(&whole), "-q"]);
    let took = started.elapsed();
    assert!(code(&o) <= 1, "{}", stderr(&o));
    let new = fs::read(&whole).expect("whole render");
    assert!(new.len() > 1 << 20, "a large write: {} bytes", new.len());

    let out = dir.path().join("upstreams.yaml");
    let old = b"# the upstreams.yaml a previous render wrote\nprovider: file\n".to_vec();
    let (mut kept_old, mut got_new) = (0, 0);
    for step in 0..=12u32 {
        fs::write(&out, &old).expect("old file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_synroute"))
            .args(["render", path(&input), "-o", path(&out), "-q"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(took * step / 10 + Duration::from_millis(u64::from(step)));
        // SIGKILL: no handler runs, no temporary file is cleaned up.
        let _ = child.kill();
        let _ = child.wait();
        let now = fs::read(&out).expect("the output is always there");
        if now == old {
            kept_old += 1;
        } else if now == new {
            got_new += 1;
        } else {
            panic!(
                "killed at step {step}: {} holds {} bytes, neither the old file nor the new one",
                out.display(),
                now.len()
            );
        }
        // What a kill may leave is synroute's own temporary, never a file
        // in the output's place.
        for entry in fs::read_dir(dir.path()).expect("read dir") {
            let name = entry.expect("entry").file_name();
            let name = name.to_string_lossy();
            assert!(
                ["apps.yaml", "whole.yaml", "upstreams.yaml"].contains(&name.as_ref())
                    || (name.starts_with(".upstreams.yaml.synroute-") && name.ends_with(".tmp")),
                "unexpected file {name}"
            );
        }
    }
    eprintln!("13 kills: old file kept {kept_old} times, new file found {got_new} times");
}

/// A render with certificates, for the `--certs-out` cases.
const WITH_CERTS: &str = "fixtures/tls-concrete-hosts";

/// `render WITH_CERTS -o out --certs-out certs` over an `out` holding
/// `old`: the exit code, and whether `out` still holds `old`.
fn render_with_certs(out: &Path, certs: &Path) -> (i32, bool, String) {
    let old = b"# previous\nprovider: file\n";
    fs::write(out, old).expect("old upstreams.yaml");
    let o = synroute(&[
        "render",
        WITH_CERTS,
        "-o",
        path(out),
        "--certs-out",
        path(certs),
        "-q",
    ]);
    let kept = fs::read(out).expect("upstreams.yaml") == old;
    (code(&o), kept, stderr(&o))
}

#[test]
fn certs_out_that_cannot_be_written_stops_before_upstreams_yaml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("upstreams.yaml");

    // A file where the folder should be, and a folder under a file.
    let file = dir.path().join("a-file");
    fs::write(&file, "x").expect("file");
    for certs in [file.clone(), file.join("certs")] {
        let (code, kept, err) = render_with_certs(&out, &certs);
        assert_eq!(code, 2, "{}: {err}", certs.display());
        assert!(kept, "{}: upstreams.yaml changed", certs.display());
        assert!(err.contains("cannot"), "{err}");
    }

    // A folder that cannot be written to: read-only by its mode, or (where
    // the tests run as root, which modes do not stop) /sys, which no one
    // writes files into.
    let ro = dir.path().join("read-only");
    fs::create_dir(&ro).expect("mkdir");
    set_mode(&ro, 0o555);
    let unwritable = if fs::write(ro.join("probe"), "x").is_err() {
        Some(ro.clone())
    } else if Path::new("/sys").is_dir() && fs::write("/sys/synroute-probe", "x").is_err() {
        Some("/sys".into())
    } else {
        None
    };
    match unwritable {
        Some(certs) => {
            let (code, kept, err) = render_with_certs(&out, &certs);
            assert_eq!(code, 2, "{}: {err}", certs.display());
            assert!(kept, "{}: upstreams.yaml changed", certs.display());
        }
        None => eprintln!("skipping the read-only case: every folder is writable here"),
    }
    set_mode(&ro, 0o755);
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn a_missing_certs_out_is_created_and_a_symlinked_one_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("upstreams.yaml");

    // Missing, with missing parents: created.
    let missing = dir.path().join("new/deeper/certs");
    let (code, kept, err) = render_with_certs(&out, &missing);
    assert_eq!(code, 0, "{err}");
    assert!(!kept, "upstreams.yaml was not written");
    let crt = |d: &Path| {
        fs::read_dir(d)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".crt"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert!(crt(&missing) > 0, "no cert written in the created folder");

    // A symlink to a folder: followed, the files land in its target.
    let target = dir.path().join("real-certs");
    fs::create_dir(&target).expect("mkdir");
    let link = dir.path().join("certs-link");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let (code, _, err) = render_with_certs(&out, &link);
    assert_eq!(code, 0, "{err}");
    assert!(crt(&target) > 0, "the symlink's target holds no cert");
    assert!(
        fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink(),
        "the symlink was replaced"
    );

    // A dangling symlink: nothing to follow, nothing created in its
    // place; exit 2 and upstreams.yaml as it was.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).expect("symlink");
    let (code, kept, err) = render_with_certs(&out, &dangling);
    assert_eq!(code, 2, "{err}");
    assert!(kept, "upstreams.yaml changed");
}
