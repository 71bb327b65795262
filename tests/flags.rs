//! Every flag a command accepts means something to it. The test walks
//! the clap definition of every subcommand and, for each flag, runs the
//! command with and without it on one input tree (the demo, the
//! config-hash, WrappedGateway and Gateway fixtures, and a few objects of
//! its own): what the command prints, writes or exits with must change.
//! A flag with no case here fails the test, so a new flag comes with the
//! proof that its command reads it. The per-command `--help` texts are
//! snapshotted beside.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Objects the fixtures lack: a rule without host (--catch-all-host) and
/// an HTTPRoute header match Synapse v1 cannot carry (check --strict).
const EXTRA: &str = r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: everything
  namespace: shop
spec:
  ingressClassName: synapse
  rules:
  - http:
      paths:
      - path: /anywhere
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: by-header
  namespace: infra
spec:
  parentRefs:
  - name: edge
  hostnames: [app.example.com]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /beta}
      headers:
      - name: x-beta
        value: "1"
    backendRefs:
    - name: web
      port: 80
"#;

/// The input tree, an empty tree (diff's old side), and a folder each run
/// writes into (emptied before every run).
struct World {
    tmp: tempfile::TempDir,
    input: PathBuf,
    empty: PathBuf,
    out: PathBuf,
    /// A routing file of the demo's hosts, for `{seeded}`.
    seed: Vec<u8>,
}

fn copy_fixture(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(&from).expect("fixture") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
        }
    }
}

fn world() -> World {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    for (fixture, folder) in [
        ("demo", "demo"),
        ("config-hash", "hash"),
        ("listeners-wrapped-gateway", "listeners"),
        ("gateway-basic-httproute", "gateway"),
    ] {
        copy_fixture(fixture, &input.join(folder));
    }
    fs::write(input.join("extra.yaml"), EXTRA).expect("extra");
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).expect("mkdir");
    fs::write(empty.join("none.yaml"), "# nothing\n").expect("empty");
    fs::write(tmp.path().join("key"), "master\n").expect("key");
    let out = tmp.path().join("out");
    let mut seed = Vec::new();
    let code = synroute::cli::run(
        [
            "synroute",
            "render",
            "-q",
            &input.join("demo").display().to_string(),
        ],
        &mut &b""[..],
        &mut seed,
        &mut Vec::new(),
    );
    assert_eq!(code, 0, "the demo renders");
    World {
        tmp,
        input,
        empty,
        out,
        seed,
    }
}

/// What one run shows: exit code, stdout, stderr (timestamps and the
/// temporary folder's path taken out), the files it wrote, and for
/// `watch` the settings its loop would run with.
#[derive(Debug, PartialEq)]
struct Seen {
    code: u8,
    stdout: String,
    stderr: String,
    files: BTreeMap<String, Vec<u8>>,
    settings: String,
}

fn files_under(dir: &Path, base: &Path, into: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files_under(&path, base, into);
        } else {
            let name = path
                .strip_prefix(base)
                .expect("below")
                .display()
                .to_string();
            into.insert(name, fs::read(&path).expect("read"));
        }
    }
}

/// Drops the `"ts":"…"` of watch's log lines.
fn without_times(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"ts\":\"") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 6..];
        rest = after.find('"').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

fn run(w: &World, args: &[String]) -> Seen {
    let _ = fs::remove_dir_all(&w.out);
    fs::create_dir_all(&w.out).expect("out");
    if args.iter().any(|a| a == "{seeded}") {
        fs::write(w.out.join("up.yaml"), &w.seed).expect("seed");
    }
    let fill = |a: &String| {
        a.replace("{in}", &w.input.display().to_string())
            .replace("{empty}", &w.empty.display().to_string())
            .replace("{out}", &w.out.display().to_string())
            .replace("{seeded}", &w.out.join("up.yaml").display().to_string())
            .replace("{key}", &w.tmp.path().join("key").display().to_string())
    };
    let args: Vec<String> = args.iter().map(fill).collect();
    let settings = if args.first().map(String::as_str) == Some("watch") {
        watch_settings(&args[1..])
    } else {
        String::new()
    };
    // A watch without --once would run until killed: its settings say
    // what it would do. Every watch that runs here has --no-reload (or
    // renders nothing): a test signals no process.
    let runs =
        args.first().map(String::as_str) != Some("watch") || args.iter().any(|a| a == "--once");
    assert!(
        !runs
            || args.first().map(String::as_str) != Some("watch")
            || args.contains(&"--no-reload".to_string()),
        "a watch run here must not signal: {args:?}"
    );
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = if runs {
        let argv = std::iter::once("synroute".to_string()).chain(args.iter().cloned());
        synroute::cli::run(argv, &mut &b""[..], &mut stdout, &mut stderr)
    } else {
        u8::MAX
    };
    let clean = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        without_times(&text)
            .replace(&w.tmp.path().display().to_string(), "{tmp}")
            .replace(&format!("{}", w.out.display()), "{out}")
    };
    let mut files = BTreeMap::new();
    files_under(&w.out, &w.out, &mut files);
    Seen {
        code,
        stdout: clean(&stdout),
        stderr: clean(&stderr),
        files,
        settings,
    }
}

#[cfg(feature = "watch")]
fn watch_settings(args: &[String]) -> String {
    match synroute::cli::watch_settings_for(args) {
        Ok(s) => format!("{s:?}"),
        Err(e) => format!("error: {e}"),
    }
}

#[cfg(not(feature = "watch"))]
fn watch_settings(_: &[String]) -> String {
    String::new()
}

/// The flags of each subcommand, by long name (positionals and help
/// left out).
fn surfaces() -> BTreeMap<String, Vec<String>> {
    let cli = synroute::cli::command();
    cli.get_subcommands()
        .map(|sub| {
            let flags = sub
                .get_arguments()
                .filter(|a| !a.is_positional())
                .filter_map(|a| a.get_long().map(str::to_string))
                .filter(|l| l != "help")
                .collect();
            (sub.get_name().to_string(), flags)
        })
        .collect()
}

/// A command's arguments when no case asks otherwise.
fn base(command: &str) -> Vec<&'static str> {
    match command {
        "render" | "check" | "hash" | "listeners" => vec!["{in}"],
        "explain" => vec!["https://shop.example.com/", "{in}"],
        "diff" => vec!["{empty}", "{in}"],
        "watch" => vec!["{in}", "-o", "{out}/up.yaml", "--once", "--no-reload"],
        "completions" => vec!["bash"],
        _ => vec![],
    }
}

/// A kustomize render whose workload is in the namespace of the demo's
/// TLS Secret (so the certificate is projected).
const KUSTOMIZE: [&str; 6] = [
    "--emit",
    "kustomize",
    "-o",
    "{out}/k",
    "--workload-namespace",
    "shop",
];

/// One flag shown to matter: the arguments without it, and what is
/// added to them.
struct Case {
    base: Vec<&'static str>,
    with: Vec<&'static str>,
}

fn case(command: &str, flag: &str) -> Option<Case> {
    let b = base(command);
    let plus = |extra: &[&'static str], with: &[&'static str]| {
        let mut base = b.clone();
        base.extend_from_slice(extra);
        Some(Case {
            base,
            with: with.to_vec(),
        })
    };
    let only = |base: &[&'static str], with: &[&'static str]| {
        Some(Case {
            base: base.to_vec(),
            with: with.to_vec(),
        })
    };
    match (command, flag) {
        // Input and selection, wherever they are taken.
        (_, "exclude") => plus(&[], &["--exclude", "*.yaml"]),
        (_, "namespace") => plus(&[], &["--namespace", "nowhere"]),
        (_, "ingress-class") => plus(&[], &["--ingress-class", "nginx"]),
        // The demo's Ingresses name their class; the Gateway's class is
        // ours by its controller.
        ("explain", "controller-name") => only(
            &["http://app.example.com/api/", "{in}"],
            &["--controller-name", "example.com/other"],
        ),
        (_, "controller-name") => plus(&[], &["--controller-name", "example.com/other"]),
        (_, "cluster-domain") => plus(&[], &["--cluster-domain", "c.test"]),
        ("explain", "catch-all-host") => only(
            &["http://any.example.com/anywhere", "{in}"],
            &["--catch-all-host", "any.example.com"],
        ),
        (_, "catch-all-host") => plus(&[], &["--catch-all-host", "any.example.com"]),
        ("explain", "gateway") => only(
            &["http://app.example.com/api/", "{in}"],
            &["--gateway", "infra/other"],
        ),
        (_, "gateway") => plus(&[], &["--gateway", "infra/other"]),
        (_, "target") => plus(&[], &["--target", "v2"]),
        // Pingress reads Ingresses of class pingress by default.
        ("diff", "keys-dir") => plus(
            &[
                "--target",
                "pingress",
                "--ingress-class",
                "synapse",
                "--unified",
            ],
            &["--keys-dir", "/k"],
        ),
        (_, "keys-dir") => plus(
            &["--target", "pingress", "--ingress-class", "synapse"],
            &["--keys-dir", "/k"],
        ),
        (_, "now") => plus(&[], &["--now", "2026-01-01T00:00:00Z"]),
        (_, "expiry-warning") => plus(&[], &["--expiry-warning", "40000"]),
        // Reporting.
        (_, "strict") => plus(&[], &["--strict"]),
        (_, "min-severity") if command == "check" => plus(&[], &["--min-severity", "error"]),
        ("hash", "min-severity") => plus(&["--patch"], &["--min-severity", "error"]),
        (_, "min-severity") => plus(&[], &["--min-severity", "info"]),
        (_, "quiet") => plus(&[], &["--quiet"]),
        ("check", "format") => plus(&[], &["--format", "json"]),
        ("diff", "format") => plus(&[], &["--format", "json"]),
        // The demo alone has warnings and no error.
        ("check", "fail-on") => only(&["{in}/demo"], &["--fail-on", "warning"]),
        ("check", "severity") => plus(&[], &["--severity", "SR1202=error"]),
        ("check", "ignore") => plus(&[], &["--ignore", "SR1202"]),
        ("check", "explain") => only(&[], &["--explain", "SR1202"]),
        ("check", "list-codes") => only(&[], &["--list-codes"]),
        // Writing.
        // watch cannot run without -o: the case moves it.
        ("watch", "output") => only(
            &["{in}", "--once", "--no-reload", "-o", "{out}/up.yaml"],
            &["-o", "{out}/other.yaml"],
        ),
        (_, "output") => plus(&[], &["-o", "{out}/file"]),
        (_, "certs-out") => plus(&[], &["--certs-out", "{out}/certs"]),
        // `{seeded}`: -o FILE already routes the demo's hosts.
        ("render", "allow-empty") => only(&["{empty}", "-o", "{seeded}"], &["--allow-empty"]),
        ("watch", "allow-empty") => only(
            &["{empty}", "-o", "{seeded}", "--once", "--no-reload"],
            &["--allow-empty"],
        ),
        ("render", "check") => plus(&["-o", "{out}/up.yaml"], &["--check"]),
        ("render", "emit") => plus(&[], &["--emit", "configmap"]),
        ("render", "configmap") => plus(&["--emit", "configmap"], &["--configmap", "routes"]),
        ("render", "workload-namespace") => {
            plus(&["--emit", "configmap"], &["--workload-namespace", "edge"])
        }
        ("render", "workload") => plus(&KUSTOMIZE, &["--workload", "DaemonSet/proxy"]),
        ("render", "container") => plus(&KUSTOMIZE, &["--container", "proxy"]),
        ("render", "routes-dir") => plus(&KUSTOMIZE, &["--routes-dir", "/routes"]),
        ("render", "certs-dir") => plus(&KUSTOMIZE, &["--certs-dir", "/certs"]),
        (_, "from-cluster") => plus(&[], &["--from-cluster"]),
        // Commands of their own.
        ("explain", "method") => only(
            &["https://shop.example.com/", "{in}", "--target", "v2"],
            &["-X", "POST"],
        ),
        ("diff", "unified") => plus(&[], &["--unified"]),
        ("diff", "old-target") => only(&["{in}", "{in}"], &["--old-target", "v2"]),
        ("hash", "label-selector") => plus(&[], &["--label-selector", "app=none"]),
        ("hash", "config-hash-annotation") => plus(
            &["--patch"],
            &["--config-hash-annotation", "example.com/hash"],
        ),
        ("hash", "ignore-configmap-keys") => plus(&[], &["--ignore-configmap-keys", "config.yaml"]),
        ("hash", "ignore-secret-keys") => plus(&[], &["--ignore-secret-keys", "api-key"]),
        ("hash", "patch") => plus(&[], &["--patch"]),
        ("watch", "debounce") => plus(&[], &["--debounce", "2s"]),
        // Without --once the loop is not run (its settings are compared):
        // a test signals no process.
        ("watch", "reload-process-name") => only(
            &["{in}", "-o", "{out}/up.yaml"],
            &["--reload-process-name", "proxy"],
        ),
        ("watch", "reload-pid-file") => only(
            &["{in}", "-o", "{out}/up.yaml"],
            &["--reload-pid-file", "{out}/pid"],
        ),
        ("watch", "synapse-api") => only(
            &["{in}", "-o", "{out}/up.yaml", "--target", "0.2"],
            &["--synapse-api", "http://127.0.0.1:9"],
        ),
        ("watch", "synapse-api-key-file") => only(
            &[
                "{in}",
                "-o",
                "{out}/up.yaml",
                "--target",
                "0.2",
                "--synapse-api",
                "http://127.0.0.1:9",
            ],
            &["--synapse-api-key-file", "{key}"],
        ),
        ("watch", "reload-repeat") => plus(&[], &["--reload-repeat", "9s"]),
        ("watch", "no-reload") => only(&["{in}", "-o", "{out}/up.yaml"], &["--no-reload"]),
        ("watch", "ready-file") => plus(&[], &["--ready-file", "{out}/ready"]),
        ("watch", "once") => only(&["{in}", "-o", "{out}/up.yaml", "--no-reload"], &["--once"]),
        ("watch", "max-renders") => only(
            &["{in}", "-o", "{out}/up.yaml", "--no-reload"],
            &["--max-renders", "3"],
        ),
        ("version", "json") => plus(&[], &["--json"]),
        ("man", "dir") => plus(&[], &["--dir", "{out}/man"]),
        _ => None,
    }
}

/// Flags whose effect no offline run can show, each with the reason; the
/// list is held to the commands that have them.
const NOT_SHOWN_HERE: &[(&str, &str, &str)] = &[
    (
        "*",
        "jobs",
        "changes only the time: the output is the same whatever it is (asserted below)",
    ),
    (
        "watch",
        "crd-recheck",
        "needs a cluster whose CRDs come and go (tests/watch.rs drives a fake API)",
    ),
];

fn not_shown(command: &str, flag: &str) -> bool {
    NOT_SHOWN_HERE
        .iter()
        .any(|(c, f, _)| (*c == "*" || *c == command) && *f == flag)
}

fn args(command: &str, parts: &[&[&str]]) -> Vec<String> {
    std::iter::once(command)
        .chain(parts.iter().flat_map(|p| p.iter().copied()))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_flag_a_command_accepts_changes_what_it_does() {
    let w = world();
    let mut unread = Vec::new();
    let mut missing = Vec::new();
    let mut shown = 0;
    for (command, flags) in surfaces() {
        for flag in &flags {
            if not_shown(&command, flag) {
                continue;
            }
            let Some(c) = case(&command, flag) else {
                missing.push(format!("{command} --{flag}"));
                continue;
            };
            let without = run(&w, &args(&command, &[&c.base]));
            let with = run(&w, &args(&command, &[&c.base, &c.with]));
            if without == with {
                unread.push(format!(
                    "{command} {} (exit {}, stdout {} bytes, stderr: {})",
                    c.with.join(" "),
                    with.code,
                    with.stdout.len(),
                    with.stderr.lines().next().unwrap_or("")
                ));
            }
            shown += 1;
        }
    }
    assert!(
        missing.is_empty(),
        "flags with no case showing their command reads them: {missing:?}"
    );
    assert!(
        unread.is_empty(),
        "flags accepted and ignored (the run is the same without them):\n{}",
        unread.join("\n")
    );
    assert!(shown >= 75, "only {shown} flags were tried");
}

#[test]
fn jobs_changes_nothing_but_the_time() {
    let w = world();
    for (command, flags) in surfaces() {
        if !flags.iter().any(|f| f == "jobs") {
            continue;
        }
        let b = base(&command);
        let one = run(&w, &args(&command, &[&b, &["-j", "1"]]));
        let many = run(&w, &args(&command, &[&b, &["-j", "3"]]));
        assert_eq!(one, many, "{command}: -j 1 and -j 3 differ");
    }
}

#[test]
fn the_flags_not_shown_here_exist() {
    let surfaces = surfaces();
    for (command, flag, _) in NOT_SHOWN_HERE {
        let found = surfaces
            .iter()
            .filter(|(c, _)| *command == "*" || c.as_str() == *command)
            .any(|(_, flags)| flags.iter().any(|f| f == flag));
        // Under the default features `watch` is not built.
        let watch_only = *command == "watch" && !surfaces.contains_key("watch");
        assert!(
            found || watch_only,
            "{command} --{flag} is not a flag any more"
        );
    }
}

/// A flag given to a command it means nothing to is a usage error that
/// names it.
#[test]
fn a_flag_of_another_command_is_a_usage_error() {
    for (command, flag) in [
        ("hash", "--catch-all-host"),
        ("hash", "--target"),
        ("hash", "--now"),
        ("listeners", "--gateway"),
        ("listeners", "--expiry-warning"),
        ("diff", "--now"),
        ("explain", "--expiry-warning"),
    ] {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = synroute::cli::run(
            ["synroute", command, flag, "x", "fixtures/demo"],
            &mut &b""[..],
            &mut out,
            &mut err,
        );
        let err = String::from_utf8_lossy(&err);
        assert_eq!(code, 2, "{command} {flag}: {err}");
        assert!(err.contains(flag), "{command} {flag}: {err}");
    }
}

/// What each command's `--help` says: its real surface, reviewed when it
/// changes.
#[test]
fn help_of_every_command() {
    let mut cli = synroute::cli::command();
    for sub in cli.get_subcommands_mut() {
        let name = sub.get_name().to_string();
        // The `watch` feature adds a command and render's --from-cluster.
        let name = match name.as_str() {
            "render" | "watch" if cfg!(feature = "watch") => format!("{name}__watch"),
            _ => name,
        };
        let help = sub.render_long_help().to_string();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(format!("help__{name}"), help));
    }
}
