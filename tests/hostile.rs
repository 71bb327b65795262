//! Every command on hostile input (tests/support/hostile.rs): no panic,
//! the exit code docs say, a located SR1001 where the input is refused,
//! and nothing written. No timing is asserted here: docs/performance.md
//! has the times (examples/hostile.rs).

mod common;
#[path = "support/hostile.rs"]
mod hostile;

use std::path::Path;

/// The exit code each command gives each input: 2 where it reads the
/// input and refuses it (SR1001); otherwise what it does with input that
/// holds nothing for it. `hash` reads ConfigMaps, Secrets and workloads
/// alone, `listeners` WrappedGateways and routes alone: other documents
/// are not theirs to parse (docs/confighash.md, docs/listeners.md).
fn expected(input: &hostile::Hostile, command: &str) -> i32 {
    let refused = input.refused;
    match command {
        "hash" if input.hash_refuses => 2,
        "hash" | "listeners" => 0,
        _ if refused => 2,
        // Nothing to render: no output to compare with is stale, no route
        // is found, the demo's routes are all gone.
        "render --check" | "explain" | "diff FILE demo" | "diff demo FILE" => 1,
        _ => 0,
    }
}

/// What was wrong with `label` on `input`, run with `args` (`{o}` in `dir`).
fn run_one(
    input: &hostile::Hostile,
    f: &str,
    dir: &Path,
    label: &str,
    args: &[&str],
) -> Vec<String> {
    let mut wrong = Vec::new();
    let out = dir.join(format!("out-{}", label.replace(' ', "_")));
    let _ = std::fs::remove_file(&out);
    let o_ = out.to_str().expect("utf-8");
    let args: Vec<&str> = args
        .iter()
        .map(|a| match *a {
            "{f}" => f,
            "{o}" => o_,
            a => a,
        })
        .collect();
    let o = common::run(&args, None, &[]);
    let code = common::code(&o);
    let text = format!("{}{}", common::stdout(&o), common::stderr(&o));
    let want = expected(input, label);
    let what = format!("{} × {label}", input.name);
    let head: String = text.chars().take(300).collect();
    if text.contains("panicked") || code == 101 {
        wrong.push(format!("{what}: panicked: {head}"));
        return wrong;
    }
    if code != want {
        wrong.push(format!("{what}: exit {code}, documented {want}: {head}"));
    }
    if code == 2 {
        // Located: the file, a line, and the code.
        let located = text.contains("SR1001")
            && text
                .match_indices(&format!("{f}:"))
                .any(|(i, m)| text[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()));
        if !located {
            wrong.push(format!("{what}: refused without a located SR1001: {head}"));
        }
        if out.exists() {
            wrong.push(format!("{what}: refused, yet {o_} was written"));
        }
    }
    wrong
}

#[test]
fn every_command_answers_hostile_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut wrong = Vec::new();
    for input in hostile::inputs() {
        let f = dir.path().join(input.name);
        std::fs::write(&f, &input.bytes).expect("write the input");
        let f = f.to_str().expect("utf-8");
        let cmds = hostile::commands(cfg!(feature = "watch"));
        // The commands of one input side by side: each writes its own out.
        std::thread::scope(|s| {
            let runs: Vec<_> = cmds
                .iter()
                .map(|(label, args)| s.spawn(|| run_one(&input, f, dir.path(), label, args)))
                .collect();
            for r in runs {
                wrong.extend(r.join().expect("a command's thread"));
            }
        });
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
