//! A fuzzer for load + render that builds on stable Rust.
//!
//! `cargo run --profile profiling --example fuzz -- [--seconds 60] [--seed 1] [--corpus DIR]`
//!
//! Mutational: each case takes one to three files of `fixtures/` and the
//! corpus (`--corpus`, else `SYNROUTE_CORPUS`, else `../shared/corpus`),
//! joins them as one stream, applies one to six of the edits of
//! `synth::mutate` (tokens inserted, bytes cut, lines repeated,
//! dropped, swapped, re-indented, values rewritten in flow style) and
//! renders the result for a target picked in turn. A case fails when
//!
//! - `render` panics;
//! - a diagnostic has no location (every problem inside a manifest has a
//!   file:line);
//! - the fast YAML reader reads a document otherwise than serde_yaml.
//!
//! Every fourth case is a routing file instead: one the fixtures render
//! for some target (Pingress's `proxy.json` included), edited the same
//! way and given to the readers `check`, `diff` and `explain` use
//! (`tests/support/routing_fuzz.rs`): it fails when one panics or when
//! they disagree (the model reads a file the format check refuses, or
//! `diff` cannot read it).
//!
//! A failing input is saved under `target/fuzz/` and the run exits 1. The
//! slowest cases per MB are saved too and printed, to look at by hand:
//! speed is reported here, never asserted. Deterministic for a seed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use synroute::target::Target;
use synroute::{Options, Source, render};
#[path = "../tests/support/routing_fuzz.rs"]
mod routing_fuzz;
#[path = "../tests/support/synth.rs"]
mod synth;

synroute::global_allocator!();

/// xorshift64*: enough randomness for picking edits, with no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds(corpus: Option<PathBuf>) -> Vec<(String, String)> {
    let mut roots = vec![PathBuf::from("fixtures")];
    roots.extend(corpus);
    let mut out = Vec::new();
    for root in roots {
        for entry in walkdir::WalkDir::new(&root)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
        {
            let p = entry.path();
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "yaml" | "yml" | "json") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(p) {
                out.push((p.display().to_string(), text));
            }
        }
    }
    out
}

/// Why a case failed, if it did.
fn check(name: &str, text: &str, target: Target) -> Option<String> {
    let opts = Options {
        target,
        jobs: 1,
        ..Options::default()
    };
    let sources = [Source::new(name.to_string(), text.as_bytes().to_vec())];
    let rendered = match std::panic::catch_unwind(|| render(&sources, &opts)) {
        Ok(r) => r,
        Err(e) => {
            return Some(format!(
                "render panicked: {}",
                routing_fuzz::panic_text(e.as_ref())
            ));
        }
    };
    if let Some(d) = rendered
        .diagnostics
        .iter()
        .find(|d| d.location.is_none() && d.code != synroute::diag::Code::NoObjects)
    {
        return Some(format!("unlocated diagnostic: {}", d.concise()));
    }
    for (line, fast, general) in synroute::load::fast_path_readings(text) {
        if fast.is_some_and(|f| f != general) {
            return Some(format!(
                "the fast reader disagrees with serde_yaml at line {line}"
            ));
        }
    }
    None
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: u64 = value("--seconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seed: u64 = value("--seed").and_then(|v| v.parse().ok()).unwrap_or(1);
    let corpus = value("--corpus")
        .or_else(|| std::env::var("SYNROUTE_CORPUS").ok())
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("../shared/corpus")))
        .filter(|p| p.is_dir());
    let seeds = seeds(corpus);
    if seeds.is_empty() {
        eprintln!("fuzz: no seed files (run from the repository's root)");
        std::process::exit(2);
    }
    let out = Path::new("target/fuzz");
    let _ = std::fs::create_dir_all(out);
    let targets = [Target::V1, Target::V02, Target::V2];
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut cases, mut failures, mut bytes) = (0u64, 0u64, 0usize);
    // The slowest cases by ms per MB, kept for a look.
    let mut slowest: Vec<(f64, String)> = Vec::new();
    let routing = routing_fuzz::rendered_files();
    let mut routing_cases = 0u64;
    while Instant::now() < deadline {
        if cases % 4 == 3
            && let Some((target, file)) = routing.get(rng.below(routing.len()))
        {
            let ops: Vec<(u8, usize, u8)> = (0..=rng.below(6))
                .map(|_| (rng.next() as u8, rng.next() as usize, rng.next() as u8))
                .collect();
            let text = synth::mutate(file, &ops);
            cases += 1;
            routing_cases += 1;
            bytes += text.len();
            if let Some(why) = routing_fuzz::check(*target, &text) {
                failures += 1;
                let path = out.join(format!("failure-{seed}-{cases}.{target}"));
                let _ = std::fs::write(&path, &text);
                eprintln!(
                    "fuzz: case {cases} (a {target} file): {why}; input in {}",
                    path.display()
                );
            }
            continue;
        }
        let mut text = String::new();
        for _ in 0..=rng.below(3) {
            if let Some((_, t)) = seeds.get(rng.below(seeds.len())) {
                text.push_str(t);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str("---\n");
            }
        }
        let ops: Vec<(u8, usize, u8)> = (0..=rng.below(6))
            .map(|_| (rng.next() as u8, rng.next() as usize, rng.next() as u8))
            .collect();
        let text = synth::mutate(&text, &ops);
        let target = targets[cases as usize % targets.len()];
        let started = Instant::now();
        let failed = check("fuzz.yaml", &text, target);
        let took = started.elapsed().as_secs_f64();
        cases += 1;
        bytes += text.len();
        if let Some(why) = failed {
            failures += 1;
            let path = out.join(format!("failure-{seed}-{cases}.yaml"));
            let _ = std::fs::write(&path, &text);
            eprintln!(
                "fuzz: case {cases} ({target:?}): {why}; input in {}",
                path.display()
            );
        }
        let per_mb = took * 1000.0 / (text.len().max(1) as f64 / 1e6);
        let kept_fewer = slowest.len() < 3 || slowest.first().is_some_and(|(s, _)| per_mb > *s);
        if text.len() > 20_000 && kept_fewer {
            slowest.push((per_mb, text));
            slowest.sort_by(|a, b| a.0.total_cmp(&b.0));
            if slowest.len() > 3 {
                slowest.remove(0);
            }
        }
    }
    for (i, (per_mb, text)) in slowest.iter().rev().enumerate() {
        let path = out.join(format!("slow-{i}.yaml"));
        let _ = std::fs::write(&path, text);
        println!(
            "slow {i}: {per_mb:.0} ms/MB, {} bytes, in {}",
            text.len(),
            path.display()
        );
    }
    println!(
        "fuzz: seed {seed}, {cases} cases ({routing_cases} of them routing files; {:.1} MB) in {seconds} s from {} seed files and {} rendered routing files, {failures} failures",
        bytes as f64 / 1e6,
        seeds.len(),
        routing.len()
    );
    if failures > 0 {
        std::process::exit(1);
    }
}
