//! The routing-file readers under mutation, shared by tests/robustness.rs
//! (proptest) and examples/fuzz.rs: the rendered files of the fixtures,
//! for every target, edited, then read by each reader `check`, `diff` and
//! `explain` use. None may panic, and they must agree: a file the model
//! of the proxy reads (`Routing::read`) is one the format check does not
//! call refused, `diff` reads it too, and the sniff names its format.
#![allow(dead_code)]

use synroute::target::Target;

/// The routing file of every fixture for every target, rendered.
pub fn rendered_files() -> Vec<(Target, String)> {
    let mut out = Vec::new();
    let dirs = std::fs::read_dir("fixtures").expect("fixtures");
    let mut cases: Vec<_> = dirs.filter_map(Result::ok).map(|e| e.path()).collect();
    cases.sort();
    for case in cases.iter().filter(|c| c.is_dir()) {
        let Ok(sources) = synroute::cli::collect_sources(&[case.display().to_string()], &[]) else {
            continue;
        };
        for target in Target::ALL {
            let class = if target == Target::Pingress {
                "pingress"
            } else {
                "synapse"
            };
            let opts = synroute::Options {
                target,
                ingress_class: class.to_string(),
                ..synroute::Options::default()
            };
            let r = synroute::render(&sources, &opts);
            if !r.malformed && !r.upstreams.is_empty() {
                out.push((target, String::from_utf8_lossy(&r.upstreams).into_owned()));
            }
        }
    }
    out
}

/// What a caught panic said.
pub fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Why the readers fail on `text`, a routing file of `target` edited, if
/// they do.
pub fn check(target: Target, text: &str) -> Option<String> {
    let run = std::panic::catch_unwind(|| {
        let sniffed = synroute::emit::schema::sniff(text);
        let findings = synroute::emit::schema::validate(target, text);
        let read = synroute::route::file::Routing::read(target, text);
        let side = synroute::diff::Side::from_routing_file(text, Some(target));
        (sniffed, findings, read, side)
    });
    let (sniffed, findings, read, side) = match run {
        Ok(r) => r,
        Err(e) => {
            return Some(format!(
                "a routing-file reader panicked: {}",
                panic_text(e.as_ref())
            ));
        }
    };
    if read.is_ok() {
        if let Some(f) = findings.iter().find(|f| f.refuses()) {
            return Some(format!(
                "the model reads it, the format check refuses it: {}",
                f.message
            ));
        }
        if let Err(e) = side {
            return Some(format!("the model reads it, diff does not: {e}"));
        }
    }
    let _ = sniffed;
    None
}
