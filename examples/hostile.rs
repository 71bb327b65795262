//! Every command on every hostile input (tests/support/hostile.rs, the
//! set tests/hostile.rs runs): seconds and peak RSS of each, the median
//! of `--runs` runs, each a fresh process timed from start to exit.
//!
//! `cargo run --profile profiling --example hostile [--features watch] -- [--runs 3] [--only TEXT]`
//!
//! Prints a Markdown table: a row per input, a column per command, each
//! cell `seconds / peak MB`. Nothing is asserted: measurements belong in a
//! benchmark (docs/performance.md quotes them).

use std::process::Command;
use std::time::Instant;

#[path = "../tests/support/hostile.rs"]
mod hostile;

synroute::global_allocator!();

#[path = "support/proc_status.rs"]
mod proc_status;
use proc_status::peak_rss_kb;

/// In the child: runs the command as the binary would, then prints its
/// exit code and peak KB.
fn child(args: &[String]) {
    let mut argv = vec!["synroute".to_string()];
    argv.extend(args.iter().cloned());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = synroute::cli::run(argv, &mut std::io::empty(), &mut out, &mut err);
    println!("{code} {}", peak_rss_kb());
}

/// Median seconds, the exit code and the peak RSS (MB) of `runs` runs.
fn measure(args: &[String], runs: usize) -> (f64, u8, f64) {
    let exe = std::env::current_exe().expect("current exe");
    let mut times = Vec::new();
    let (mut code, mut rss) = (0u8, 0.0f64);
    for _ in 0..runs {
        let started = Instant::now();
        let out = Command::new(&exe)
            .arg("--child")
            .args(args)
            .output()
            .expect("run child");
        times.push(started.elapsed().as_secs_f64());
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        code = parts.next().and_then(|c| c.parse().ok()).unwrap_or(255);
        let kb = parts
            .next()
            .and_then(|k| k.parse::<f64>().ok())
            .unwrap_or(0.0);
        rss = rss.max(kb / 1024.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    (times[times.len() / 2], code, rss)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2..]);
        return;
    }
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let runs: usize = flag("--runs").and_then(|r| r.parse().ok()).unwrap_or(3);
    let only = flag("--only");
    let dir = std::env::temp_dir().join(format!("synroute-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let commands = hostile::commands(cfg!(feature = "watch"));
    let mut header = String::from("| input | MB |");
    let mut rule = String::from("|---|---|");
    for (label, _) in &commands {
        header.push_str(&format!(" {label} |"));
        rule.push_str("---|");
    }
    println!("{header}\n{rule}");
    let mut worst = (0.0f64, String::new());
    for input in hostile::inputs() {
        if only.as_deref().is_some_and(|o| !input.name.contains(o)) {
            continue;
        }
        let file = dir.join(input.name);
        std::fs::write(&file, &input.bytes).expect("write input");
        let f = file.to_str().expect("utf-8").to_string();
        let mb = input.bytes.len() as f64 / 1e6;
        let mut row = format!("| {} | {mb:.1} |", input.name);
        for (label, template) in &commands {
            let out = dir.join("out");
            let _ = std::fs::remove_file(&out);
            let a: Vec<String> = template
                .iter()
                .map(|t| match *t {
                    "{f}" => f.clone(),
                    "{o}" => out.to_str().expect("utf-8").to_string(),
                    t => t.to_string(),
                })
                .collect();
            let (s, code, rss) = measure(&a, runs);
            row.push_str(&format!(" {s:.3} / {rss:.0} ({code}) |"));
            if mb < 1.0 && s > worst.0 {
                worst = (s, format!("{} × {label}", input.name));
            }
        }
        println!("{row}");
        let _ = std::fs::remove_file(&file);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\nslowest cell for an input under 1 MB: {:.3} s ({})",
        worst.0, worst.1
    );
}
