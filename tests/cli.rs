//! The command line as a user runs it: inputs, exit codes, and what is (and
//! is not) written to disk.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{code, stderr, stdout};

fn synroute(args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    common::run(args, stdin, &[])
}

fn mtime(p: &Path) -> SystemTime {
    fs::metadata(p).and_then(|m| m.modified()).expect("mtime")
}

fn set_old_mtime(p: &Path) -> SystemTime {
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800);
    fs::File::options()
        .write(true)
        .open(p)
        .expect("open")
        .set_modified(old)
        .expect("set mtime");
    old
}

const INGRESS: &str = "\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: synapse
  rules:
  - host: stdin.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
";

#[test]
fn reads_stdin() {
    let o = synroute(&["render", "-"], Some(INGRESS.as_bytes()));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("stdin.example.com:"));
    assert!(stdout(&o).contains("- web.shop.svc.cluster.local:80"));
}

#[test]
fn reads_folders_json_and_lists() {
    let o = synroute(&["render", "fixtures/demo"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("shop.example.com:"));
    let o = synroute(&["render", "fixtures/json-input/objects.json"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("- web.shop.svc.cluster.local:8080"));
    let o = synroute(&["render", "fixtures/list-input"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("- api.shop.svc.cluster.local:80"));
}

#[test]
fn order_of_paths_does_not_change_output() {
    let a = synroute(
        &[
            "render",
            "fixtures/demo/services.yaml",
            "fixtures/demo/ingresses.yaml",
        ],
        None,
    );
    let b = synroute(
        &[
            "render",
            "fixtures/demo/ingresses.yaml",
            "fixtures/demo/services.yaml",
        ],
        None,
    );
    assert_eq!(code(&a), 0);
    assert_eq!(a.stdout, b.stdout);
}

/// A file reached more than once — named twice, inside a folder also
/// named, through a symlink or a hard link — is read once: its objects are
/// not reported as defined twice.
#[test]
fn one_file_reached_several_ways_is_read_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ingress.yaml");
    fs::write(&file, INGRESS).expect("write");
    std::os::unix::fs::symlink(&file, dir.path().join("link.yaml")).expect("symlink");
    fs::hard_link(&file, dir.path().join("hard.yaml")).expect("hard link");
    let (folder, named) = (dir.path().display().to_string(), file.display().to_string());
    let o = synroute(&["render", &named, &folder, &named], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("SR1003"), "{}", stderr(&o));
    assert!(stdout(&o).contains("stdin.example.com:"));
    // A copy is another file: its objects are duplicates.
    fs::write(dir.path().join("copy.yaml"), INGRESS).expect("write");
    let o = synroute(&["render", &folder], None);
    assert!(stderr(&o).contains("SR1003"), "{}", stderr(&o));
}

/// Files are read in parallel, but of several unreadable paths the first
/// named is the one reported, as when they were read one by one.
#[test]
fn the_first_unreadable_path_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A socket is listed as a file but cannot be opened.
    let socket = dir.path().join("socket.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let missing = dir.path().join("missing.yaml");
    let good = dir.path().join("good.yaml");
    fs::write(&good, INGRESS).expect("write");
    let (socket, missing, good) = (
        socket.display().to_string(),
        missing.display().to_string(),
        good.display().to_string(),
    );
    for (args, named) in [
        ([&good, &socket, &missing], &socket),
        ([&good, &missing, &socket], &missing),
    ] {
        let mut argv = vec!["render"];
        argv.extend(args.iter().map(|a| a.as_str()));
        let o = synroute(&argv, None);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("cannot read {named}")),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn exit_codes() {
    assert_eq!(code(&synroute(&["render", "fixtures/demo"], None)), 0);
    assert_eq!(
        code(&synroute(&["render", "fixtures/malformed-yaml"], None)),
        2
    );
    assert_eq!(code(&synroute(&["render", "no/such/path"], None)), 2);
    assert_eq!(
        code(&synroute(
            &["render", "--no-such-flag", "fixtures/demo"],
            None
        )),
        2
    );
    assert_eq!(code(&synroute(&["frobnicate"], None)), 2);
    // --strict: a warning refuses the render.
    assert_eq!(
        code(&synroute(&["render", "--strict", "fixtures/demo"], None)),
        1
    );
    assert_eq!(
        code(&synroute(
            &["render", "--strict", "fixtures/named-port-resolved"],
            None
        )),
        0
    );
    // explain: 0 when an entry answers, 1 when Synapse would 404.
    assert_eq!(
        code(&synroute(
            &["explain", "https://shop.example.com/x", "fixtures/demo"],
            None
        )),
        0
    );
    assert_eq!(
        code(&synroute(
            &["explain", "https://nope.example.com/", "fixtures/demo"],
            None
        )),
        1
    );
    assert_eq!(
        code(&synroute(&["explain", "ftp://x/", "fixtures/demo"], None)),
        2
    );
}

#[test]
fn malformed_input_reports_every_bad_document_with_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad1 = dir.path().join("one.yaml");
    let bad2 = dir.path().join("two.yaml");
    fs::write(
        &bad1,
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: 80\n",
    )
    .expect("write");
    fs::write(
        &bad2,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n  labels: [oops\n",
    )
    .expect("write");
    let o = synroute(&["render", dir.path().to_str().expect("utf8")], None);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("one.yaml:5:10: error[SR1001]"), "{err}");
    assert!(
        err.contains("two.yaml:6:1: error[SR1001]") || err.contains("two.yaml:5:"),
        "{err}"
    );
    assert!(err.contains("nothing was written"));
}

#[test]
fn malformed_input_leaves_existing_output_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("upstreams.yaml");
    fs::write(&out, "previous good render\n").expect("write");
    let old = set_old_mtime(&out);
    let certs = dir.path().join("certs");
    let o = synroute(
        &[
            "render",
            "fixtures/malformed-yaml",
            "fixtures/demo",
            "-o",
            out.to_str().expect("utf8"),
            "--certs-out",
            certs.to_str().expect("utf8"),
        ],
        None,
    );
    assert_eq!(code(&o), 2);
    assert_eq!(fs::read(&out).expect("read"), b"previous good render\n");
    assert_eq!(mtime(&out), old);
    assert!(!certs.exists(), "no certs folder may be created");
}

#[test]
fn unchanged_output_is_not_rewritten_and_changed_output_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("upstreams.yaml");
    let certs = dir.path().join("certs");
    let args = |input: &str| -> Vec<String> {
        vec![
            "render".into(),
            input.into(),
            "-o".into(),
            out.display().to_string(),
            "--certs-out".into(),
            certs.display().to_string(),
        ]
    };
    let run = |input: &str| {
        let a = args(input);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = synroute(&refs, None);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    };
    run("fixtures/demo");
    let crt = certs.join("shop.example.com.crt");
    let old_out = set_old_mtime(&out);
    let old_crt = set_old_mtime(&crt);
    run("fixtures/demo");
    assert_eq!(
        mtime(&out),
        old_out,
        "unchanged upstreams.yaml was rewritten"
    );
    assert_eq!(mtime(&crt), old_crt, "unchanged cert was rewritten");
    run("fixtures/tls-concrete-hosts");
    assert_ne!(mtime(&out), old_out);
    assert!(
        fs::read_to_string(&out)
            .expect("read")
            .contains("c.example.com")
    );
    // No temporary file is left behind next to the output.
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[cfg(unix)]
#[test]
fn key_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().join("certs");
    let o = synroute(
        &[
            "render",
            "fixtures/demo",
            "--certs-out",
            certs.to_str().expect("utf8"),
        ],
        None,
    );
    assert_eq!(code(&o), 0);
    let mode = |p: PathBuf| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(certs.join("shop.example.com.key")), 0o600);
    assert_eq!(mode(certs.join("shop.example.com.crt")), 0o644);
}

#[test]
fn pruning_removes_only_what_synroute_wrote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().join("certs");
    fs::create_dir_all(&certs).expect("mkdir");
    fs::write(certs.join("default.crt"), "mounted by hand").expect("write");
    fs::write(certs.join("notes.txt"), "keep me").expect("write");
    let c = certs.to_str().expect("utf8");
    assert_eq!(
        code(&synroute(
            &["render", "fixtures/demo", "--certs-out", c],
            None
        )),
        0
    );
    assert!(certs.join("shop.example.com.crt").exists());
    assert!(certs.join("api.example.com.key").exists());
    assert_eq!(
        code(&synroute(
            &["render", "fixtures/tls-string-data", "--certs-out", c],
            None
        )),
        0
    );
    assert!(
        !certs.join("shop.example.com.crt").exists(),
        "stale cert kept"
    );
    assert!(
        !certs.join("api.example.com.key").exists(),
        "stale key kept"
    );
    assert!(certs.join("a.example.com.crt").exists());
    assert_eq!(
        fs::read_to_string(certs.join("default.crt")).expect("read"),
        "mounted by hand"
    );
    assert_eq!(
        fs::read_to_string(certs.join("notes.txt")).expect("read"),
        "keep me"
    );
    let owned = fs::read_to_string(certs.join(".synroute-owned")).expect("owned list");
    assert!(owned.contains("a.example.com.crt") && !owned.contains("shop.example.com"));
}

#[cfg(unix)]
#[test]
fn no_cert_file_is_written_outside_certs_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().join("certs");
    fs::create_dir_all(&certs).expect("mkdir");
    let outside = dir.path().join("outside.txt");
    fs::write(&outside, "precious").expect("write");
    // A symlink planted where a cert will go must not be followed.
    std::os::unix::fs::symlink(&outside, certs.join("shop.example.com.crt")).expect("symlink");
    // A forged owned list must not make synroute delete files outside.
    fs::write(
        certs.join(".synroute-owned"),
        "../outside.txt\n/etc/passwd\n",
    )
    .expect("write");
    let o = synroute(
        &[
            "render",
            "fixtures/demo",
            "--certs-out",
            certs.to_str().expect("utf8"),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&outside).expect("read"), "precious");
    let crt = certs.join("shop.example.com.crt");
    assert!(
        !fs::symlink_metadata(&crt)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::read_to_string(&crt)
            .expect("read")
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    // Everything written is directly inside the folder.
    let mut names: Vec<String> = fs::read_dir(&certs)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ".synroute-owned",
            "api.example.com.crt",
            "api.example.com.key",
            "shop.example.com.crt",
            "shop.example.com.key"
        ]
    );
    let top: Vec<_> = fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(
        top.len(),
        2,
        "something was written beside the certs folder"
    );
}

#[test]
fn explain_names_the_entry_and_its_source() {
    let o = synroute(
        &[
            "explain",
            "https://api.example.com/v1/orders/7",
            "fixtures/demo",
        ],
        None,
    );
    let out = stdout(&o);
    assert!(out.contains("entry    /v1"), "{out}");
    assert!(out.contains("api-v1.shop.svc.cluster.local:8080"));
    assert!(
        out.contains("Ingress shop/api at fixtures/demo/ingresses.yaml:67"),
        "{out}"
    );
    let o = synroute(
        &[
            "explain",
            "http://x.example.org/.well-known/acme-challenge/Zx9kQp2vN4rT",
            "fixtures/demo",
        ],
        None,
    );
    assert!(stdout(&o).contains("internal_paths"));
}

/// `explain --target v2` picks the route v2's Synapse would: an expression
/// route in key order (with the method), a wildcard host by its longest
/// suffix, and 404 where v2 has no fallback from the host it chose.
#[test]
fn explain_v2_picks_expression_routes_and_wildcard_hosts() {
    let case = "fixtures/target-v2-expression-routes";
    let explain = |url: &str, method: &str| {
        synroute(
            &["explain", url, case, "--target", "v2", "-X", method],
            None,
        )
    };
    let o = explain("https://app.example.com/api/orders", "POST");
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.contains("writer.infra.svc.cluster.local:80"), "{out}");
    assert!(
        out.contains("matches  (http.request.path eq \"/api\"") && out.contains("\"POST\""),
        "{out}"
    );
    // The same path as a GET: the method route does not hold.
    let out = stdout(&explain("https://app.example.com/api/orders", "GET"));
    assert!(out.contains("web.infra.svc.cluster.local:80"), "{out}");
    // Exact: only the path itself.
    let out = stdout(&explain("https://app.example.com/login", "GET"));
    assert!(out.contains("auth.infra.svc.cluster.local:80"), "{out}");
    let out = stdout(&explain("https://app.example.com/login/x", "GET"));
    assert!(out.contains("web.infra.svc.cluster.local:80"), "{out}");
    // A wildcard host serves every name under it, one label or more.
    let o = explain("https://a.b.example.com/x", "GET");
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.contains("host     *.example.com"), "{out}");
    assert!(out.contains("tenants.infra.svc.cluster.local:80"), "{out}");
    // Never the suffix itself; v1 has no wildcard host at all.
    assert_eq!(code(&explain("https://example.com/", "GET")), 1);
    let o = synroute(&["explain", "https://a.example.com/", case], None);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
}

#[test]
fn excluded_folders_are_skipped() {
    let o = synroute(
        &[
            "render",
            "fixtures/duplicate-object",
            "--exclude",
            "b-archive.yaml",
        ],
        None,
    );
    assert_eq!(code(&o), 0);
    assert!(!stderr(&o).contains("SR1003"), "{}", stderr(&o));
    let o = synroute(&["render", "fixtures/duplicate-object"], None);
    assert!(stderr(&o).contains("SR1003"));
    // A glob that does not parse is a usage error naming it, before any read.
    let o = synroute(
        &["render", "fixtures/duplicate-object", "--exclude", "b-[ar"],
        None,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--exclude \"b-[ar\""), "{}", stderr(&o));
}

#[test]
fn explain_follows_httproutes_and_says_why_a_host_is_missing() {
    let o = synroute(
        &[
            "explain",
            "https://app.example.com/api/v1",
            "fixtures/gateway-basic-httproute",
        ],
        None,
    );
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.contains("entry    /api"), "{out}");
    assert!(out.contains("from     HTTPRoute infra/web at fixtures/gateway-basic-httproute/route.yaml:16 (spec.rules[1].matches[0])"), "{out}");
    let o = synroute(
        &["explain", "https://admin.example.com/", "fixtures/demo"],
        None,
    );
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("see: fixtures/demo/ingresses.yaml"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("SR1201"));
    let o = synroute(
        &[
            "explain",
            "https://shop.example.org/",
            "fixtures/httproute-hostname-mismatch",
        ],
        None,
    );
    assert!(stdout(&o).contains("SR2005"), "{}", stdout(&o));
}

#[test]
fn render_check_reports_stale_output_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("upstreams.yaml");
    let certs = dir.path().join("certs");
    let (o, c) = (out.to_str().expect("utf8"), certs.to_str().expect("utf8"));
    let check = |input: &str| {
        synroute(
            &["render", "--check", input, "-o", o, "--certs-out", c],
            None,
        )
    };
    // Nothing on disk yet: stale, and --check creates nothing.
    assert_eq!(code(&check("fixtures/demo")), 1);
    assert!(!out.exists() && !certs.exists());
    assert_eq!(
        code(&synroute(
            &["render", "fixtures/demo", "-o", o, "--certs-out", c],
            None
        )),
        0
    );
    let r = check("fixtures/demo");
    assert_eq!(code(&r), 0, "{}", stderr(&r));
    // An edited manifest makes the committed output stale.
    let r = check("fixtures/tls-string-data");
    assert_eq!(code(&r), 1);
    assert!(
        stderr(&r).contains("upstreams.yaml differs"),
        "{}",
        stderr(&r)
    );
    assert!(
        stderr(&r).contains("shop.example.com.crt is no longer needed"),
        "{}",
        stderr(&r)
    );
    assert_eq!(
        code(&synroute(&["render", "--check", "fixtures/demo"], None)),
        2
    );
    assert_eq!(
        code(&synroute(
            &["render", "--check", "fixtures/malformed-yaml", "-o", o],
            None
        )),
        2
    );
}

/// upstreams.yaml is written and compared as it is emitted, never held
/// whole: an output that only gains or loses trailing bytes is still seen
/// as different, an identical one is left alone.
#[test]
fn output_compared_while_streamed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("upstreams.yaml");
    let o = out.to_str().expect("utf8");
    let render = || synroute(&["render", "fixtures/demo", "-o", o, "--quiet"], None);
    assert_eq!(code(&render()), 0);
    let want = fs::read(&out).expect("written");
    let printed = synroute(&["render", "fixtures/demo", "--quiet"], None);
    assert_eq!(printed.stdout, want, "stdout and file hold the same bytes");
    let check = || synroute(&["render", "--check", "fixtures/demo", "-o", o], None);
    assert_eq!(code(&check()), 0);
    // Same bytes: not rewritten.
    let old = set_old_mtime(&out);
    assert_eq!(code(&render()), 0);
    assert_eq!(mtime(&out), old);
    // One byte more, or one fewer: stale for --check, rewritten by render.
    let longer = [want.as_slice(), b"\n"].concat();
    let shorter = want.get(..want.len() - 1).expect("non-empty").to_vec();
    for edited in [longer, shorter] {
        fs::write(&out, &edited).expect("edit");
        assert_eq!(code(&check()), 1);
        assert_eq!(
            fs::read(&out).expect("kept"),
            edited,
            "--check writes nothing"
        );
        assert_eq!(code(&render()), 0);
        assert_eq!(fs::read(&out).expect("rewritten"), want);
    }
}

/// `--catch-all-host '*'` is v1's default host (it serves every name no
/// other host has); 0.2 and v2 have none, so it is a usage error there.
#[test]
fn the_default_host_is_v1s_alone() {
    let case = "fixtures/host-less-rule-with-catch-all-host";
    let o = synroute(&["render", case, "--catch-all-host", "*"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("\n  '*':\n"), "{}", stdout(&o));
    for target in ["0.2", "v2"] {
        let o = synroute(
            &["render", case, "--catch-all-host", "*", "--target", target],
            None,
        );
        assert_eq!(code(&o), 2, "{target}");
        assert!(stderr(&o).contains("default host"), "{}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
}

/// `-o` naming a device writes to it, and leaves it a device: an atomic
/// write's rename would put a regular file in its place (as root,
/// `/dev/null` itself, for every program of the machine).
#[cfg(unix)]
#[test]
fn output_to_a_device_is_written_not_replaced() {
    use std::os::unix::fs::FileTypeExt as _;
    let null = std::path::Path::new("/dev/null");
    if !std::fs::metadata(null).is_ok_and(|m| m.file_type().is_char_device()) {
        eprintln!("skipping: /dev/null is not a device here");
        return;
    }
    let o = synroute(&["render", "fixtures/demo", "-o", "/dev/null", "-q"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let kind = std::fs::metadata(null).expect("/dev/null").file_type();
    assert!(kind.is_char_device(), "/dev/null was replaced");
}

/// A raw kustomize base (objects without metadata.namespace, the namespace
/// set by kustomization.yaml) is told where its Gateway is and how to
/// render what kustomize applies; `--namespace` of the base renders it.
#[test]
fn a_kustomize_base_is_told_where_its_gateway_is() {
    let dir = "fixtures/kustomize-base-without-namespace";
    let out = synroute(&["check", dir], None);
    assert_eq!(code(&out), 0);
    let err = stdout(&out) + &stderr(&out);
    assert!(
        err.contains("parentRef Gateway network-system/envoy-external/http is not in the input")
            && err.contains(
                "Gateway envoy-external is in the input in namespace default, which sets no metadata.namespace"
            ),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "note: {dir}/gateway.yaml:8:1: Gateway envoy-external is here, with no metadata.namespace"
        )),
        "{err}"
    );
    assert!(
        err.contains("kustomize build DIR | synroute render -"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{dir}/kustomization.yaml:5:1: info[SR1008]: this kustomization sets namespace network-system"
        )),
        "{err}"
    );
    // As written: nothing routed. In the base's namespace: the route.
    let as_written = synroute(&["render", dir], None);
    assert!(!stdout(&as_written).contains("echo.example.com"));
    let applied = synroute(&["render", "--namespace", "network-system", dir], None);
    assert_eq!(code(&applied), 0);
    let file = stdout(&applied);
    assert!(
        file.contains("echo.example.com")
            && file.contains("echo.network-system.svc.cluster.local:80"),
        "{file}"
    );
}

/// The empty-render guard: a render that routes no host is not written
/// over a file that routes some — for every target — unless
/// `--allow-empty`; nothing else (certs) is written either. A file that
/// routes nothing, or none at all, is no reason to refuse.
#[test]
fn an_empty_render_never_replaces_a_file_that_routes_hosts() {
    for target in ["v1", "0.2", "v2", "pingress"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("routes");
        let certs = dir.path().join("certs");
        let (o_, c_) = (out.to_str().expect("utf8"), certs.to_str().expect("utf8"));
        // The demo's Ingresses (of class synapse, for Pingress too).
        let full = [
            "render",
            "fixtures/demo",
            "--target",
            target,
            "--ingress-class",
            "synapse",
        ];
        let o = synroute(&[&full[..], &["-o", o_, "-q"]].concat(), None);
        assert_eq!(code(&o), 0, "{target}: {}", stderr(&o));
        let good = fs::read(&out).expect("read");
        let old = set_old_mtime(&out);
        // The same input under a class nobody uses: it routes nothing.
        let empty = [
            "render",
            "fixtures/demo",
            "--target",
            target,
            "--ingress-class",
            "nope",
        ];
        let o = synroute(&[&empty[..], &["-o", o_, "--certs-out", c_]].concat(), None);
        assert_eq!(code(&o), 1, "{target}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{o_}:1: error[{}]", "SR1701"))
                && err.contains("routes no host")
                && err.contains("--allow-empty"),
            "{target}: {err}"
        );
        assert_eq!(fs::read(&out).expect("read"), good, "{target}");
        assert_eq!(mtime(&out), old, "{target}");
        assert!(!certs.exists(), "{target}: no certs folder may be created");
        // Asked for: written, and from then on an empty file is no reason
        // to refuse the next empty render.
        for _ in 0..2 {
            let o = synroute(
                &[&empty[..], &["-o", o_, "--allow-empty", "-q"]].concat(),
                None,
            );
            assert_eq!(code(&o), 0, "{target}: {}", stderr(&o));
            assert_ne!(fs::read(&out).expect("read"), good, "{target}");
            let o = synroute(&[&empty[..], &["-o", o_, "-q"]].concat(), None);
            assert_eq!(code(&o), 0, "{target}: {}", stderr(&o));
        }
    }
}

/// Two identical renders touch nothing: every file of -o and --certs-out
/// (the ownership list included) keeps its inode and mtime, for every
/// target — a rewrite restarts Pingress's proxy and wakes Synapse's
/// watchers for nothing.
#[test]
fn an_identical_render_touches_no_file() {
    for target in ["v1", "0.2", "v2", "pingress"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("routes");
        let certs = dir.path().join("certs");
        let (o_, c_) = (out.to_str().expect("utf8"), certs.to_str().expect("utf8"));
        let (case, class) = if target == "pingress" {
            ("fixtures/pingress-rules-and-tls-files", "pingress")
        } else {
            ("fixtures/demo", "synapse")
        };
        let args = [
            "render",
            case,
            "--target",
            target,
            "--ingress-class",
            class,
            "-o",
            o_,
            "--certs-out",
            c_,
            "-q",
        ];
        let o = synroute(&args, None);
        assert_eq!(code(&o), 0, "{target}: {}", stderr(&o));
        let mut files: Vec<PathBuf> = vec![out.clone()];
        files.extend(
            fs::read_dir(&certs)
                .expect("certs")
                .map(|e| e.expect("entry").path()),
        );
        assert!(files.len() >= 4, "{target}: {files:?}");
        // The inode (no rename), the mtime (no write) and the ctime (no
        // chmod either: the Pingress proxy restarts on a metadata change
        // in its watched folder).
        let before: Vec<(u64, SystemTime, (i64, i64))> = files
            .iter()
            .map(|f| {
                use std::os::unix::fs::MetadataExt;
                let old = set_old_mtime(f);
                let m = fs::metadata(f).expect("stat");
                (m.ino(), old, (m.ctime(), m.ctime_nsec()))
            })
            .collect();
        let o = synroute(&args, None);
        assert_eq!(code(&o), 0, "{target}: {}", stderr(&o));
        for (f, (ino, old, ctime)) in files.iter().zip(before) {
            use std::os::unix::fs::MetadataExt;
            let m = fs::metadata(f).expect("stat");
            assert_eq!(
                (m.ino(), mtime(f), (m.ctime(), m.ctime_nsec())),
                (ino, old, ctime),
                "{target}: {} was touched",
                f.display()
            );
        }
    }
}
