//! Build facts for `synroute --version` and `synroute version --json`: the
//! git commit the binary was built from ("unknown" outside a git checkout,
//! or SYNROUTE_COMMIT when a packager sets it), the cargo features built in,
//! the target triple and the compiler. Nothing else is generated.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SYNROUTE_COMMIT");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = std::env::var("SYNROUTE_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().to_string())
        .or_else(|| git_commit(&dir))
        .unwrap_or_else(|| "unknown".to_string());

    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| k.strip_prefix("CARGO_FEATURE_").map(str::to_string))
        .map(|f| f.to_ascii_lowercase().replace('_', "-"))
        .filter(|f| f != "default")
        .collect();
    features.sort();
    let features = if features.is_empty() {
        "none".to_string()
    } else {
        features.join(",")
    };

    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    let rustc = std::env::var_os("RUSTC")
        .and_then(|r| Command::new(r).arg("--version").output().ok())
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());

    println!("cargo:rustc-env=SYNROUTE_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=SYNROUTE_BUILD_FEATURES={features}");
    println!("cargo:rustc-env=SYNROUTE_BUILD_TARGET={target}");
    println!("cargo:rustc-env=SYNROUTE_BUILD_RUSTC={rustc}");
}

/// The checked-out commit, 12 hex digits; None when `dir` is not in a git
/// work tree or git is not installed. Cargo is told to look again when
/// HEAD moves (a commit, a checkout), not on every build.
fn git_commit(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (!s.is_empty()).then_some(s)
    };
    let git_dir = PathBuf::from(git(&["rev-parse", "--absolute-git-dir"])?);
    // Only files that exist: cargo reruns a script whose watched file is
    // missing on every build.
    let mut watched = vec![git_dir.join("HEAD"), git_dir.join("packed-refs")];
    if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git_dir.join(head));
    }
    for file in watched.iter().filter(|f| f.exists()) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    git(&["rev-parse", "--short=12", "HEAD"])
}
