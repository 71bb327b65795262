//! Render benchmark at GitOps scale.
//!
//! `cargo run --profile profiling --example bench -- [--apps 1000,10000,50000] [--runs 3]`
//!
//! Generates synthetic corpora (`synroute::synth`) under
//! `target/bench-corpus/`, then times, each in a fresh child process so
//! that peak RSS is its own: a plain typed `serde_yaml` parse of the same
//! bytes (the floor), `render` with `--jobs 1` and with every core, the
//! same objects as JSON, the corpus padded with 4 foreign objects per app,
//! the same objects grouped by kind as `helm template` writes them, the
//! same objects as a file per app, and `kubectl annotate --local` when
//! kubectl is on the PATH. Prints
//! medians and ratios. Nothing here is asserted: measurements belong in a
//! benchmark, not in a timed test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use synth::{Shape, corpus, corpus_files, corpus_list};
#[path = "../tests/support/synth.rs"]
mod synth;

// The binary's allocator, so that the render and the floor here run as
// `synroute` does.
synroute::global_allocator!();

#[path = "support/proc_status.rs"]
mod proc_status;
use proc_status::peak_rss_kb;

/// A typed parse of every document with the types a Kubernetes tool uses.
/// The values are only held, so that peak memory is that of a real parse.
#[allow(dead_code)]
enum Parsed {
    Ingress(Box<k8s_openapi::api::networking::v1::Ingress>),
    Service(Box<k8s_openapi::api::core::v1::Service>),
    Secret(Box<k8s_openapi::api::core::v1::Secret>),
    Deployment(Box<k8s_openapi::api::apps::v1::Deployment>),
    ConfigMap(Box<k8s_openapi::api::core::v1::ConfigMap>),
    IngressClass(Box<k8s_openapi::api::networking::v1::IngressClass>),
    Crd(Box<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>),
    HttpRoute(Box<gateway_api::httproutes::HttpRoute>),
    Gateway(Box<gateway_api::gateways::Gateway>),
    GatewayClass(Box<gateway_api::gatewayclasses::GatewayClass>),
    Other(Box<serde_yaml::Value>),
}

/// The floor the issue names: each document deserialised straight into its
/// type (the kind read from the document's text first, as any loader must).
fn typed_floor(text: &str) -> usize {
    use serde::Deserialize;
    let mut kept: Vec<Parsed> = Vec::new();
    for chunk in split_docs(text) {
        let kind = chunk
            .lines()
            .find_map(|l| l.strip_prefix("kind:"))
            .map(str::trim)
            .unwrap_or("");
        let de = serde_yaml::Deserializer::from_str(chunk);
        let p = match kind {
            "Ingress" => k8s_openapi::api::networking::v1::Ingress::deserialize(de)
                .map(|x| Parsed::Ingress(Box::new(x)))
                .ok(),
            "Service" => k8s_openapi::api::core::v1::Service::deserialize(de)
                .map(|x| Parsed::Service(Box::new(x)))
                .ok(),
            "Secret" => k8s_openapi::api::core::v1::Secret::deserialize(de)
                .map(|x| Parsed::Secret(Box::new(x)))
                .ok(),
            "Deployment" => k8s_openapi::api::apps::v1::Deployment::deserialize(de)
                .map(|x| Parsed::Deployment(Box::new(x)))
                .ok(),
            "ConfigMap" => k8s_openapi::api::core::v1::ConfigMap::deserialize(de)
                .map(|x| Parsed::ConfigMap(Box::new(x)))
                .ok(),
            _ => serde_yaml::Value::deserialize(de)
                .map(|x| Parsed::Other(Box::new(x)))
                .ok(),
        };
        kept.extend(p);
    }
    kept.len()
}

fn split_docs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            if offset > start {
                out.push(&text[start..offset]);
            }
            start = offset + line.len();
        }
        offset += line.len();
    }
    if text.len() > start {
        out.push(&text[start..]);
    }
    out
}

/// The documents of `text` in the order `helm template` writes them: by
/// kind, in Helm's install order (Secrets before Services before
/// Ingresses); kinds it does not know, Gateway API's among them, last.
fn grouped_by_kind(text: &str) -> String {
    const ORDER: &[&str] = &[
        "Namespace",
        "Secret",
        "ConfigMap",
        "CustomResourceDefinition",
        "Service",
        "Deployment",
        "IngressClass",
        "Ingress",
    ];
    let rank = |doc: &str| {
        doc.lines()
            .find_map(|l| l.strip_prefix("kind: "))
            .and_then(|k| ORDER.iter().position(|o| *o == k.trim()))
            .unwrap_or(ORDER.len())
    };
    let mut docs = split_docs(text);
    docs.sort_by_key(|d| rank(d));
    docs.join("---\n")
}

/// Child process: one measurement, printed as `ms objects rss_kb`.
/// The floor reads the file and parses it; the render runs the CLI itself
/// (`cli::run`: read, render, write the output file), as a user runs it.
fn child(mode: &str, path: &str, jobs: usize) {
    let t = Instant::now();
    let objects = match mode {
        "floor" => {
            let text = std::fs::read_to_string(path).expect("read corpus");
            typed_floor(&text)
        }
        _ => {
            let out =
                std::env::temp_dir().join(format!("synroute-bench-{}.yaml", std::process::id()));
            let args = [
                "synroute".to_string(),
                "render".to_string(),
                path.to_string(),
                "-o".to_string(),
                out.display().to_string(),
                "--jobs".to_string(),
                jobs.to_string(),
                "--quiet".to_string(),
                "--min-severity".to_string(),
                "error".to_string(),
            ];
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            let code = synroute::cli::run(args, &mut std::io::empty(), &mut stdout, &mut stderr);
            assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
            let _ = std::fs::remove_file(&out);
            // The floor's child counts the documents.
            0
        }
    };
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("{ms:.1} {objects} {}", peak_rss_kb());
}

struct Measure {
    secs: f64,
    objects: usize,
    rss_mb: f64,
}

fn measure(mode: &str, path: &Path, jobs: usize, runs: usize) -> Measure {
    let exe = std::env::current_exe().expect("current exe");
    let mut times = Vec::new();
    let (mut objects, mut rss) = (0, 0.0);
    for _ in 0..runs {
        let out = Command::new(&exe)
            .args([
                "--child",
                mode,
                path.to_str().expect("utf8"),
                &jobs.to_string(),
            ])
            .output()
            .expect("run child");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        let ms: f64 = parts
            .next()
            .and_then(|x| x.parse().ok())
            .unwrap_or(f64::NAN);
        objects = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        rss = parts
            .next()
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0;
        times.push(ms / 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Measure {
        secs: times[times.len() / 2],
        objects,
        rss_mb: rss,
    }
}

fn kubectl(path: &Path, runs: usize) -> Option<f64> {
    let ok = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .ok()?
        .status
        .success();
    if !ok {
        return None;
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        Command::new("kubectl")
            .args([
                "annotate",
                "--local",
                "-f",
                path.to_str()?,
                "-R",
                "k=v",
                "-o",
                "name",
            ])
            .output()
            .ok()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Some(times[times.len() / 2])
}

fn ensure(path: &Path, make: impl FnOnce() -> String) -> f64 {
    if !path.exists() {
        std::fs::write(path, make()).expect("write corpus");
    }
    std::fs::metadata(path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(
            &args[2],
            &args[3],
            args.get(4).and_then(|j| j.parse().ok()).unwrap_or(0),
        );
        return;
    }
    let mut apps = vec![1_000usize, 10_000, 50_000];
    let mut runs = 3;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--apps" => {
                apps = it
                    .next()
                    .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
                    .unwrap_or(apps)
            }
            "--runs" => runs = it.next().and_then(|s| s.parse().ok()).unwrap_or(runs),
            _ => {}
        }
    }
    let dir = PathBuf::from("target/bench-corpus");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!("synroute bench: {cores} cores, median of {runs} runs, each in a fresh process\n");
    println!(
        "| apps | MB | objects | typed parse s | render -j1 s (×) | render -j{cores} s (×) | objects/s | MB/s | peak RSS MB (× input) | JSON render s (YAML/JSON) | padded ×4 s (× unpadded) | grouped by kind s (× interleaved) | file per app s (× one file) | file per app peak RSS MB (× input) | kubectl s (× synroute) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut all_cores_time = Vec::new();
    for n in apps {
        let shape = Shape {
            apps: n,
            padding: 0,
            json: false,
            seed: 42,
        };
        let yaml = dir.join(format!("apps-{n}.yaml"));
        let json = dir.join(format!("apps-{n}.json"));
        let padded = dir.join(format!("apps-{n}-pad4.yaml"));
        let grouped = dir.join(format!("apps-{n}-grouped.yaml"));
        let mb = ensure(&yaml, || corpus(shape));
        ensure(&grouped, || grouped_by_kind(&corpus(shape)));
        let tree = dir.join(format!("apps-{n}-files"));
        if !tree.exists() {
            for (name, text) in corpus_files(shape) {
                let path = tree.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).expect("mkdir");
                }
                std::fs::write(path, text).expect("write corpus file");
            }
        }
        ensure(&json, || {
            corpus(Shape {
                json: true,
                ..shape
            })
        });
        ensure(&padded, || {
            corpus(Shape {
                padding: 4,
                ..shape
            })
        });
        // The same objects as one `kind: List`, as `kubectl get -o yaml`
        // and `-o json` write a cluster's objects (timed in pairs below).
        ensure(&dir.join(format!("apps-{n}-list.yaml")), || {
            corpus_list(shape)
        });
        ensure(&dir.join(format!("apps-{n}-list.json")), || {
            corpus_list(Shape {
                json: true,
                ..shape
            })
        });
        let fl = measure("floor", &yaml, 1, runs);
        let r1 = measure("render", &yaml, 1, runs);
        let rn = measure("render", &yaml, 0, runs);
        let js = measure("render", &json, 0, runs);
        let pd = measure("render", &padded, 0, runs);
        let gr = measure("render", &grouped, 0, runs);
        let tr = measure("render", &tree, 0, runs);
        let kc = kubectl(&yaml, runs.min(1));
        all_cores_time.push((n, rn.secs));
        println!(
            "| {n} | {mb:.1} | {} | {:.2} | {:.2} ({:.2}×) | {:.2} ({:.2}×) | {:.0} | {:.1} | {:.0} ({:.2}×) | {:.2} ({:.1}×) | {:.2} ({:.2}×) | {:.2} ({:.2}×) | {:.2} ({:.2}×) | {:.0} ({:.2}×) | {} |",
            fl.objects,
            fl.secs,
            r1.secs,
            r1.secs / fl.secs,
            rn.secs,
            rn.secs / fl.secs,
            fl.objects as f64 / rn.secs,
            mb / rn.secs,
            rn.rss_mb,
            rn.rss_mb / mb,
            js.secs,
            rn.secs / js.secs,
            pd.secs,
            pd.secs / rn.secs,
            gr.secs,
            gr.secs / rn.secs,
            tr.secs,
            tr.secs / rn.secs,
            tr.rss_mb,
            tr.rss_mb / mb,
            kc.map_or("not on PATH".to_string(), |k| format!(
                "{k:.2} ({:.1}×)",
                k / rn.secs
            )),
        );
    }
    if let (Some(a), Some(b)) = (
        all_cores_time.iter().find(|(n, _)| *n == 10_000),
        all_cores_time.iter().find(|(n, _)| *n == 50_000),
    ) {
        println!(
            "\nscaling: time(50k) / time(10k) = {:.2} (medians above)",
            b.1 / a.1
        );
        // The medians above were taken minutes apart; on a shared machine
        // the load drifts in between. Pairs of runs back to back, 10k then
        // 50k, see the same machine: the median of their ratios.
        let pairs = runs.max(5);
        let (small, large) = (dir.join("apps-10000.yaml"), dir.join("apps-50000.yaml"));
        println!(
            "scaling, paired runs (10k then 50k, all cores, {pairs} pairs): {}",
            paired(&small, &large, pairs)
        );
    }
    // The same drift blurs the table's other ratios: each variant of the
    // largest corpus is also timed right after the plain file, in pairs.
    if let Some(&(n, _)) = all_cores_time.last() {
        let pairs = runs.max(5);
        let plain = dir.join(format!("apps-{n}.yaml"));
        let json = dir.join(format!("apps-{n}.json"));
        println!(
            "\npaired runs at {n} apps (all cores, {pairs} pairs, the two renders of each pair back to back):"
        );
        println!(
            "  YAML / JSON (the JSON first): {}",
            paired(&json, &plain, pairs)
        );
        for (label, variant) in [
            ("padded ×4 / plain", format!("apps-{n}-pad4.yaml")),
            (
                "grouped by kind / interleaved",
                format!("apps-{n}-grouped.yaml"),
            ),
            ("file per app / one file", format!("apps-{n}-files")),
            ("kind: List in YAML / stream", format!("apps-{n}-list.yaml")),
            (
                "kind: List in JSON / YAML stream",
                format!("apps-{n}-list.json"),
            ),
        ] {
            println!("  {label}: {}", paired(&plain, &dir.join(variant), pairs));
        }
    }
}

/// `pairs` renders of `first` then `second` on all cores, back to back:
/// the median of the ratios time(second) / time(first), and their range.
fn paired(first: &Path, second: &Path, pairs: usize) -> String {
    let mut ratios: Vec<f64> = (0..pairs)
        .map(|_| {
            let a = measure("render", first, 0, 1).secs;
            let b = measure("render", second, 0, 1).secs;
            b / a
        })
        .collect();
    ratios.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    match (ratios.first(), ratios.get(ratios.len() / 2), ratios.last()) {
        (Some(lo), Some(mid), Some(hi)) => format!("median {mid:.2}, range {lo:.2}–{hi:.2}"),
        _ => "no pairs".to_string(),
    }
}
