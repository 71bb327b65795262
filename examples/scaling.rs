//! Scaling benchmark: one shape of input grown from n to 4n.
//!
//! `cargo run --profile profiling --example scaling -- [--n 2000] [--runs 3] [--reference-apps 50000] [--only TEXT]`
//!
//! The 50k-app benchmark (`examples/bench.rs`) spreads the work evenly:
//! every app brings its own Ingress. Real platforms concentrate it — one
//! Gateway with thousands of listeners or ListenerSets, one generated
//! Ingress with thousands of rules, TLS entries or annotations, a
//! ReferenceGrant per tenant — and a CI lint reads files anyone can open
//! a pull request with. This generates each such shape at n and 4n (and
//! the synthetic app corpus as the reference), renders each in a fresh
//! child process, and prints the median time of the whole process (start
//! to exit, as `render -o` is seen), the growth n → 4n (linear is about
//! 4), the cost per MB against the reference's, and peak RSS.
//! Nothing here is asserted: measurements belong in a benchmark.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
#[path = "../tests/support/synth.rs"]
mod synth;

synroute::global_allocator!();

const CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: synapse}\nspec: {controllerName: gen0sec.com/synapse}\n---\n";

fn service(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{ports: [{{port: 80}}]}}\n---\n"
    )
}

fn route(ns: &str, name: &str, parent: &str, host: &str, backend: (&str, &str)) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  parentRefs: [{parent}]\n  hostnames: [\"{host}\"]\n  rules:\n  - backendRefs: [{{name: {}, namespace: {}, port: 80}}]\n---\n",
        backend.1, backend.0
    )
}

/// One Gateway, n listeners with hostnames, n HTTPRoutes without a
/// sectionName (each reaches the Gateway's every listener by hostname).
fn gateway_listeners(n: usize) -> String {
    let mut s = String::from(CLASS);
    s.push_str("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: edge, namespace: infra}\nspec:\n  gatewayClassName: synapse\n  listeners:\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "  - {{name: l{i}, protocol: HTTP, port: 80, hostname: h{i}.example.com}}"
        );
    }
    s.push_str("---\n");
    s.push_str(&service("infra", "web"));
    for i in 0..n {
        s.push_str(&route(
            "infra",
            &format!("r{i}"),
            "{name: edge}",
            &format!("h{i}.example.com"),
            ("infra", "web"),
        ));
    }
    s
}

/// One Gateway admitting ListenerSets, n XListenerSets of one listener,
/// a route on each.
fn listener_sets(n: usize) -> String {
    let mut s = String::from(CLASS);
    s.push_str("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: edge, namespace: infra}\nspec:\n  gatewayClassName: synapse\n  allowedListeners: {namespaces: {from: All}}\n  listeners:\n  - {name: main, protocol: HTTP, port: 80}\n---\n");
    s.push_str(&service("infra", "web"));
    for i in 0..n {
        let _ = write!(
            s,
            "apiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XListenerSet\nmetadata: {{name: ls{i}, namespace: infra}}\nspec:\n  parentRef: {{name: edge}}\n  listeners:\n  - {{name: l, protocol: HTTP, port: 80, hostname: h{i}.example.com}}\n---\n"
        );
        s.push_str(&route(
            "infra",
            &format!("r{i}"),
            &format!("{{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls{i}}}"),
            &format!("h{i}.example.com"),
            ("infra", "web"),
        ));
    }
    s
}

fn ingress_head(s: &mut String, annotations: &str) {
    let _ = write!(
        s,
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: big\n  namespace: shop\n{annotations}spec:\n  ingressClassName: synapse\n"
    );
}

/// One Ingress with n rules, each its own host.
fn ingress_rules(n: usize) -> String {
    let mut s = service("shop", "web");
    ingress_head(&mut s, "");
    s.push_str("  rules:\n");
    for i in 0..n {
        let _ = write!(
            s,
            "  - host: h{i}.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: web\n            port:\n              number: 80\n"
        );
    }
    s
}

/// One Ingress with n TLS entries (one host and Secret each) and its rules.
fn ingress_tls(n: usize) -> String {
    let mut s = ingress_rules(n);
    s.push_str("  tls:\n");
    for i in 0..n {
        let _ = write!(s, "  - hosts: [h{i}.example.com]\n    secretName: tls{i}\n");
    }
    s
}

/// One Ingress with n annotations.
fn ingress_annotations(n: usize) -> String {
    let mut ann = String::from("  annotations:\n");
    for i in 0..n {
        let _ = writeln!(ann, "    example.com/a{i}: \"v{i}\"");
    }
    let mut s = service("shop", "web");
    ingress_head(&mut s, &ann);
    s.push_str("  rules:\n  - host: a.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: web\n            port:\n              number: 80\n");
    s
}

/// n routes whose backend is in a namespace of its own, each allowed by a
/// ReferenceGrant of that namespace.
fn reference_grants(n: usize) -> String {
    let mut s = String::from(CLASS);
    s.push_str("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: edge, namespace: infra}\nspec:\n  gatewayClassName: synapse\n  listeners:\n  - {name: main, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}\n---\n");
    for i in 0..n {
        let ns = format!("t{i}");
        s.push_str(&service(&ns, "web"));
        let _ = write!(
            s,
            "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {{name: allow, namespace: {ns}}}\nspec:\n  from: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}}]\n  to: [{{group: \"\", kind: Service}}]\n---\n"
        );
        s.push_str(&route(
            "apps",
            &format!("r{i}"),
            "{name: edge, namespace: infra}",
            &format!("h{i}.example.com"),
            (&ns, "web"),
        ));
    }
    s
}

/// n Ingresses on one host, each with a path of its own.
fn one_host(n: usize) -> String {
    let mut s = service("shop", "web");
    for i in 0..n {
        let _ = write!(
            s,
            "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: i{i}, namespace: shop}}\nspec:\n  ingressClassName: synapse\n  rules:\n  - host: a.example.com\n    http:\n      paths:\n      - path: /p{i}\n        pathType: Prefix\n        backend:\n          service:\n            name: web\n            port:\n              number: 80\n"
        );
    }
    s
}

/// A `kind: List` of n Ingresses (what `kubectl get -o yaml` prints), in
/// block style.
fn list_of_ingresses(n: usize) -> String {
    let mut s = service("shop", "web");
    s.push_str("apiVersion: v1\nkind: List\nitems:\n");
    for i in 0..n {
        let _ = write!(
            s,
            "- apiVersion: networking.k8s.io/v1\n  kind: Ingress\n  metadata:\n    name: i{i}\n    namespace: shop\n  spec:\n    ingressClassName: synapse\n    rules:\n    - host: h{i}.example.com\n      http:\n        paths:\n        - path: /\n          pathType: Prefix\n          backend:\n            service:\n              name: web\n              port:\n                number: 80\n"
        );
    }
    s
}

/// A mapping whose value nests n flow sequences.
fn deep_nesting(n: usize) -> String {
    format!("a: {}{}\n", "[".repeat(n), "]".repeat(n))
}

type Shape = (&'static str, fn(usize) -> String, usize);

#[path = "support/proc_status.rs"]
mod proc_status;
use proc_status::peak_rss_kb;

/// In the child: renders `path` as the CLI does (into a file beside it)
/// and prints ms and peak KB.
fn child(path: &str) {
    let out = format!("{path}.out");
    let t = Instant::now();
    let args = [
        "synroute",
        "render",
        path,
        "-o",
        &out,
        "--quiet",
        "--min-severity",
        "error",
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let _ = synroute::cli::run(args, &mut std::io::empty(), &mut out, &mut err);
    println!(
        "{:.1} {}",
        t.elapsed().as_secs_f64() * 1000.0,
        peak_rss_kb()
    );
}

/// Median seconds and the peak RSS (MB) of `runs` renders of `path` (more
/// when they take under half a second together).
fn measure(path: &Path, runs: usize) -> (f64, f64) {
    let exe = std::env::current_exe().expect("current exe");
    let mut times: Vec<f64> = Vec::new();
    let mut rss = 0.0f64;
    // A render of a few ms is run more often: its median would be noise.
    while times.len() < runs || (times.iter().sum::<f64>() < 0.5 && times.len() < 25) {
        // The whole process, start to exit, as a user of `render -o`
        // sees it (the child's own clock leaves out starting and ending).
        let started = Instant::now();
        let out = Command::new(&exe)
            .args(["--child", path.to_str().expect("utf8")])
            .output()
            .expect("run child");
        times.push(started.elapsed().as_secs_f64());
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace().skip(1);
        rss = rss.max(
            parts
                .next()
                .and_then(|x| x.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0,
        );
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    (times[times.len() / 2], rss)
}

fn write(path: &Path, text: &str) -> f64 {
    std::fs::write(path, text).expect("write input");
    text.len() as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2]);
        return;
    }
    let (mut n, mut runs, mut reference_apps) = (2000usize, 3usize, 50_000usize);
    let mut only: Option<String> = None;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let mut num = |d: usize| it.next().and_then(|s| s.parse().ok()).unwrap_or(d);
        match a.as_str() {
            "--n" => n = num(n),
            "--runs" => runs = num(runs),
            "--reference-apps" => reference_apps = num(reference_apps),
            "--only" => only = it.next().cloned(),
            _ => {}
        }
    }
    let dir = PathBuf::from("target/scaling");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // The evenly spread corpus: what the other shapes' cost per MB is held to.
    let reference = dir.join(format!("apps-{reference_apps}.yaml"));
    let ref_mb = write(
        &reference,
        &synth::corpus(synth::Shape {
            apps: reference_apps,
            padding: 0,
            json: false,
            seed: 42,
        }),
    );
    let (ref_s, ref_rss) = measure(&reference, runs);
    let ref_per_mb = ref_s / ref_mb;
    println!(
        "synroute scaling: n = {n}, median of {runs} runs (up to 25 when under 0.5 s together) each in a fresh process; reference: {reference_apps} apps, {ref_mb:.1} MB, {ref_s:.2} s ({:.1} ms/MB), {ref_rss:.0} MB peak\n",
        ref_per_mb * 1000.0
    );
    println!(
        "| shape | MB at 4n | s at n | s at 4n | growth n → 4n | ms/MB at 4n (× reference) | peak RSS MB at 4n |"
    );
    println!("|---|---|---|---|---|---|---|");
    // Each shape with its own multiple of n (the cheap ones need more to
    // be measurable).
    let shapes: [Shape; 9] = [
        (
            "one Gateway, n listeners, n routes without sectionName",
            gateway_listeners,
            1,
        ),
        (
            "one Gateway, n XListenerSets, a route on each",
            listener_sets,
            4,
        ),
        ("one Ingress, n rules", ingress_rules, 4),
        (
            "n backendRefs across namespaces, a ReferenceGrant each",
            reference_grants,
            4,
        ),
        ("one Ingress, n TLS entries", ingress_tls, 1),
        ("one Ingress, n annotations", ingress_annotations, 8),
        ("n Ingresses on one host", one_host, 4),
        ("a List of n Ingresses", list_of_ingresses, 4),
        ("flow nesting n deep (refused)", deep_nesting, 50),
    ];
    for (name, make, k) in shapes {
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let small = dir.join(format!("{}-n.yaml", slug(name)));
        let large = dir.join(format!("{}-4n.yaml", slug(name)));
        write(&small, &make(n * k));
        let mb = write(&large, &make(4 * n * k));
        let (s1, _) = measure(&small, runs);
        let (s4, rss) = measure(&large, runs);
        println!(
            "| {name} (n = {}) | {mb:.1} | {s1:.3} | {s4:.3} | {:.2} | {:.1} ({:.2}×) | {rss:.0} |",
            n * k,
            s4 / s1,
            s4 / mb * 1000.0,
            s4 / mb / ref_per_mb
        );
    }
    // The hostile files of the issue at their own size: each must be
    // answered (refused with a located error, or rendered) in well under
    // a second.
    println!("\n| hostile file | MB | s | peak RSS MB |\n|---|---|---|---|");
    let hostile: [Shape; 2] = [
        ("flow sequences nested 100,000 deep", deep_nesting, 100_000),
        (
            "one Ingress with 200,000 annotations",
            ingress_annotations,
            200_000,
        ),
    ];
    for (name, make, size) in hostile {
        let path = dir.join(format!("hostile-{}.yaml", slug(name)));
        let mb = write(&path, &make(size));
        let (s, rss) = measure(&path, runs);
        println!("| {name} | {mb:.1} | {s:.3} | {rss:.0} |");
    }
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join("-")
}
