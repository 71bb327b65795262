//! What ships beside the renderer: the `--version` line and `version
//! --json`, shell completions, the man pages, and the JSON Schemas
//! committed under `schema/` (kept equal to what the types generate).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{code, stdout};
use synroute::emit::json_schema::{file_name, json_schema};
use synroute::target::Target;

/// Every command of the binary (the default build's).
const COMMANDS: [&str; 10] = [
    "render",
    "check",
    "diff",
    "explain",
    "listeners",
    "hash",
    "version",
    "completions",
    "man",
    "schema",
];

fn synroute(args: &[&str]) -> std::process::Output {
    common::run(args, None, &[])
}

/// The commit of the checkout the tests run in, as build.rs reads it; None
/// outside git.
fn head_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn features() -> &'static str {
    if cfg!(feature = "watch") {
        "watch"
    } else {
        "none"
    }
}

#[test]
fn version_line_names_commit_features_and_target() {
    let out = synroute(&["--version"]);
    assert_eq!(code(&out), 0);
    let line = stdout(&out);
    assert_eq!(line.lines().count(), 1, "{line}");
    let commit = head_commit().unwrap_or_else(|| "unknown".to_string());
    let want = format!(
        "synroute {} (commit {commit}, features {}, target {}, formats v1 0.2 v2 pingress)\n",
        env!("CARGO_PKG_VERSION"),
        features(),
        synroute::cli::BUILD_TARGET,
    );
    assert_eq!(line, want);
    assert!(synroute::cli::BUILD_TARGET.contains('-'));
    // `version` says the same as `--version`.
    assert_eq!(stdout(&synroute(&["version"])), want);
}

#[test]
fn version_json_holds_the_same_facts() {
    let out = synroute(&["version", "--json"]);
    assert_eq!(code(&out), 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["name"], "synroute");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let commit = head_commit().unwrap_or_else(|| "unknown".to_string());
    assert_eq!(v["commit"], commit.as_str());
    let want: Vec<&str> = features().split(',').filter(|f| *f != "none").collect();
    assert_eq!(v["features"], serde_json::json!(want));
    assert_eq!(v["target"], synroute::cli::BUILD_TARGET);
    assert_eq!(
        v["formats"],
        serde_json::json!(["v1", "0.2", "v2", "pingress"])
    );
    assert_eq!(v["default_format"], "v1");
    assert!(v["rustc"].as_str().is_some_and(|r| r.starts_with("rustc ")));
}

/// Runs `shell -n` (parse, do not run) on `script`: Some(stderr) when the
/// shell is installed, None when it is not.
fn parses_with(shell: &str, script: &[u8]) -> Option<(bool, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("completion");
    fs::write(&file, script).expect("write");
    let out = Command::new(shell)
        .arg("-n")
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn completions_are_scripts_their_shells_parse() {
    let mut parsed = Vec::new();
    for (shell, program, marker) in [
        ("bash", "bash", "complete -F _synroute"),
        ("zsh", "zsh", "#compdef synroute"),
        ("fish", "fish", "complete -c synroute"),
        ("powershell", "pwsh", "Register-ArgumentCompleter"),
        (
            "elvish",
            "elvish",
            "edit:completion:arg-completer[synroute]",
        ),
    ] {
        let out = synroute(&["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}");
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        // Every command is offered.
        for sub in COMMANDS {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        if shell == "powershell" {
            continue; // `pwsh -n` is not a parse check.
        }
        match parses_with(program, script.as_bytes()) {
            Some((ok, err)) => {
                assert!(ok && err.is_empty(), "{shell} -n: {err}");
                parsed.push(program);
            }
            None => eprintln!("{program} is not installed: its completion is not parsed"),
        }
    }
    // bash is on every machine synroute is built on.
    assert!(
        parsed.contains(&"bash"),
        "bash did not parse its completion"
    );
    eprintln!("completion scripts parsed by {parsed:?}");
    // A parse that could fail: a broken script is refused.
    let broken = parses_with("bash", b"_synroute() { if then; }\n").expect("bash");
    assert!(!broken.0);
    assert_eq!(code(&synroute(&["completions", "tcsh"])), 2);
}

#[test]
fn man_pages_are_roff_that_groff_reads_without_warnings() {
    let out = synroute(&["man"]);
    assert_eq!(code(&out), 0);
    let page = stdout(&out);
    assert!(page.contains(".TH synroute 1"), "{page}");
    for sub in COMMANDS {
        assert!(
            page.contains(&format!("synroute\\-{sub}")),
            "no {sub} in the page"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("man1");
    let dir_arg = pages.to_string_lossy().into_owned();
    assert_eq!(code(&synroute(&["man", "--dir", &dir_arg])), 0);
    let mut names: Vec<String> = fs::read_dir(&pages)
        .expect("man1")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for want in [
        "synroute.1",
        "synroute-render.1",
        "synroute-check.1",
        "synroute-schema.1",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    // -k: UTF-8 input through preconv, as man(1) reads pages.
    let groff = Command::new("groff").arg("--version").output();
    if groff.is_err() {
        eprintln!("groff is not installed: the pages are not typeset");
        return;
    }
    for name in &names {
        let out = Command::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
            .arg(pages.join(name))
            .output()
            .expect("groff");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && err.is_empty(), "{name}: {err}");
    }
}

/// The files under schema/ are what `synroute schema` prints. With
/// SYNROUTE_UPDATE_SCHEMA=1 they are rewritten instead.
#[test]
fn committed_schemas_are_up_to_date() {
    let update = std::env::var_os("SYNROUTE_UPDATE_SCHEMA").is_some();
    let mut stale = Vec::new();
    for t in Target::ALL {
        let path = Path::new("schema").join(file_name(t));
        let want = json_schema(t);
        let printed = stdout(&synroute(&["schema", "--target", t.as_str()]));
        assert_eq!(
            printed, want,
            "{t}: `synroute schema` prints the generated schema"
        );
        let have = fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if update {
                fs::write(&path, &want).expect("write schema");
            } else {
                stale.push(format!(
                    "{} is stale: run `synroute schema --target {t} > {}` (or SYNROUTE_UPDATE_SCHEMA=1 cargo test --test ship)",
                    path.display(),
                    path.display()
                ));
            }
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

/// action.yml run as a GitHub runner runs a composite action: each step's
/// `env` with its `${{ … }}` expressions filled in, its script through
/// `bash --noprofile --norc -eo pipefail`, GITHUB_PATH and GITHUB_OUTPUT
/// carried between steps. The exit code of the first failing step (or 0)
/// and the stdout of all, and the outputs written.
fn run_action(inputs: &[(&str, &str)]) -> (i32, String, String) {
    let text = fs::read_to_string("action.yml").expect("action.yml");
    let action: serde_yaml::Value = serde_yaml::from_str(&text).expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let given = |name: &str| -> String {
        inputs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .or_else(|| {
                action["inputs"][name]["default"]
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no input {name} in action.yml"))
    };
    let here = std::env::current_dir().expect("cwd");
    let fill = |s: &str| -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${{") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find("}}").expect("closed expression") + i;
            let expr = rest[i + 3..end].trim();
            out.push_str(&match expr.strip_prefix("inputs.") {
                Some(name) => given(name),
                None if expr == "github.action_path" => here.to_string_lossy().into_owned(),
                None => panic!("action.yml uses {expr}, which this runner does not fill"),
            });
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    };
    let temp = tempfile::tempdir().expect("tempdir");
    let github_path = temp.path().join("path");
    let github_output = temp.path().join("output");
    fs::write(&github_path, "").expect("path file");
    fs::write(&github_output, "").expect("output file");
    let mut stdout_all = String::new();
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    assert!(!steps.is_empty());
    for step in steps {
        let script = step["run"].as_str().expect("every step runs a script");
        // Inputs reach scripts through env, never pasted into the script.
        assert!(
            !script.contains("${{"),
            "a script expands an expression: {script}"
        );
        assert_eq!(step["shell"].as_str(), Some("bash"));
        let mut path: Vec<String> = fs::read_to_string(&github_path)
            .expect("path")
            .lines()
            .rev()
            .map(str::to_string)
            .collect();
        path.push(std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .env("PATH", path.join(":"))
            .env("RUNNER_TEMP", temp.path())
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_OUTPUT", &github_output)
            .env("GITHUB_ACTIONS", "true")
            .stdin(Stdio::null());
        if let Some(env) = step["env"].as_mapping() {
            for (k, v) in env {
                let k = k.as_str().expect("env name");
                cmd.env(k, fill(v.as_str().unwrap_or_default()));
            }
        }
        let out = cmd.output().expect("bash");
        stdout_all.push_str(&String::from_utf8_lossy(&out.stdout));
        let code = out.status.code().unwrap_or(-1);
        if code != 0 {
            let err = String::from_utf8_lossy(&out.stderr);
            stdout_all.push_str(&err);
            return (code, stdout_all, String::new());
        }
    }
    let outputs = fs::read_to_string(&github_output).expect("outputs");
    (0, stdout_all, outputs)
}

#[test]
fn the_action_checks_with_annotations_and_fails_as_asked() {
    let bin = env!("CARGO_BIN_EXE_synroute");
    let version = stdout(&synroute(&["--version"]));
    // A clean tree passes, and the binary that ran says its version.
    let (code, out, outputs) = run_action(&[("binary", bin), ("paths", "fixtures/demo")]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("::warning file=fixtures/demo/ingresses.yaml,line=41,col=9,title=SR1202"),
        "{out}"
    );
    assert_eq!(outputs, format!("version={version}"));
    // --fail-on warning through `args`, two paths through `paths`.
    let (code, out, _) = run_action(&[
        ("binary", bin),
        (
            "paths",
            "fixtures/demo fixtures/kustomize-base-without-namespace",
        ),
        ("args", "--fail-on warning"),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("title=SR2002"), "{out}");
    assert!(out.contains("title=SR1008"), "{out}");
    // The download path, from a file:// URL (curl reads those too).
    if Command::new("curl").arg("--version").output().is_ok() {
        let url = format!("file://{bin}");
        let (code, out, outputs) = run_action(&[("url", &url), ("paths", "fixtures/demo")]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(outputs, format!("version={version}"));
    } else {
        eprintln!("curl is not installed: the action's download is not run");
    }
}

/// Nothing tells a user to fetch synroute from a home the project does
/// not have: no GitHub/GitLab URL of a `synroute` repository, no
/// `uses: OWNER/synroute@…`, in what users read or run — but the one
/// place that names the home, Cargo.toml's `repository`, when it is set.
#[test]
fn no_file_names_a_home_the_project_does_not_have() {
    let cargo = std::fs::read_to_string("Cargo.toml").expect("Cargo.toml");
    let home = cargo
        .lines()
        .find_map(|l| l.trim().strip_prefix("repository = "))
        .map(|v| v.trim_matches('"').to_string());
    let mut files: Vec<std::path::PathBuf> = ["README.md", "action.yml", ".pre-commit-hooks.yaml"]
        .iter()
        .map(std::path::PathBuf::from)
        .collect();
    for dir in ["docs", "deploy", "src", "schema"] {
        files.extend(
            walkdir::WalkDir::new(dir)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.path().to_path_buf()),
        );
    }
    let hosts = [
        "github.com/",
        "gitlab.com/",
        "raw.githubusercontent.com/",
        "codeberg.org/",
    ];
    let mut found = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let named = hosts.iter().any(|h| {
                line.match_indices(h).any(|(i, _)| {
                    let rest = &line[i + h.len()..];
                    let mut parts = rest.split('/');
                    let _owner = parts.next();
                    parts.next().is_some_and(|repo| {
                        repo.trim_end_matches(|c: char| !c.is_alphanumeric()) == "synroute"
                    })
                })
            });
            let action = line
                .split("uses:")
                .nth(1)
                .map(str::trim)
                .is_some_and(|u| !u.starts_with('.') && u.contains("/synroute@"));
            let allowed = home
                .as_deref()
                .is_some_and(|h| !h.is_empty() && line.contains(h));
            if (named || action) && !allowed {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the project has no such home (set Cargo.toml's repository when it has one):\n{}",
        found.join("\n")
    );
}

/// README and docs/ stand alone: `../shared` (beside the checkout, not in
/// it) is named only as where tests find their inputs, never as a
/// document to read. A paragraph naming it says it is a test's.
#[test]
fn the_docs_name_shared_only_as_test_input() {
    let mut files = vec![std::path::PathBuf::from("README.md")];
    files.extend(
        walkdir::WalkDir::new("docs")
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().to_path_buf()),
    );
    let mut leaning = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        for paragraph in text.split("\n\n") {
            if paragraph.contains("../shared") && !paragraph.contains("test") {
                leaning.push(format!(
                    "{}: {}",
                    f.display(),
                    paragraph
                        .lines()
                        .find(|l| l.contains("../shared"))
                        .unwrap_or("")
                ));
            }
        }
    }
    assert!(
        leaning.is_empty(),
        "the docs send readers outside the repository:\n{}",
        leaning.join("\n")
    );
}

/// deploy/Containerfile (what CI builds with buildah from the static
/// binary) is the Dockerfile's runtime stage, line for line.
#[test]
fn the_containerfile_is_the_dockerfiles_runtime_stage() {
    let stage = |text: &str| -> Vec<String> {
        let lines: Vec<&str> = text.lines().collect();
        let from = lines
            .iter()
            .rposition(|l| l.starts_with("FROM "))
            .expect("a FROM line");
        lines[from..]
            .iter()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.replace("COPY --from=build /synroute ", "COPY synroute "))
            .collect()
    };
    let docker = std::fs::read_to_string("deploy/Dockerfile").expect("Dockerfile");
    let container = std::fs::read_to_string("deploy/Containerfile").expect("Containerfile");
    assert_eq!(stage(&docker), stage(&container));
    assert_eq!(
        stage(&container).first().map(String::as_str),
        Some("FROM scratch")
    );
}
