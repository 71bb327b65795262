//! Renders every file of the shared corpus (manifests nobody here wrote),
//! each alone and all together: no panic, and every document either loads
//! or yields a diagnostic located inside its file.
//!
//! The corpus is read from `SYNROUTE_CORPUS` (default `../shared/corpus`).
//! When the variable is set and the folder is missing, the test fails;
//! when it is unset and the default is missing, it says so and skips.

mod common;

use std::path::Path;

use synroute::{Options, Source, render};

/// Documents that serde_yaml itself sees, when the whole file parses.
fn independent_count(text: &str) -> Option<usize> {
    let mut n = 0;
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).ok()?;
        if !v.is_null() {
            n += 1;
        }
    }
    Some(n)
}

fn sources(root: &Path) -> Vec<Source> {
    let s =
        synroute::cli::collect_sources(&[root.display().to_string()], &[]).expect("read corpus");
    assert!(
        s.len() > 100,
        "the corpus looks truncated: {} files",
        s.len()
    );
    s
}

#[test]
fn every_corpus_file_renders_alone_without_panic_and_every_document_is_accounted_for() {
    let Some(root) = common::corpus_root() else {
        return;
    };
    let opts = Options::default();
    let mut checked_counts = 0;
    let mut totals = synroute::load::DocStats::default();
    for source in sources(&root) {
        let lines = source.content.iter().filter(|b| **b == b'\n').count() as u32 + 1;
        let r = render(std::slice::from_ref(&source), &opts);
        for d in &r.diagnostics {
            if d.code == synroute::diag::Code::NoObjects {
                continue;
            }
            let loc = d
                .location
                .as_ref()
                .unwrap_or_else(|| panic!("{}: unlocated diagnostic {}", source.name, d.concise()));
            assert_eq!(loc.file, source.name, "{}", d.concise());
            assert!(
                loc.line >= 1 && loc.line <= lines,
                "{}: line out of range: {}",
                source.name,
                d.concise()
            );
        }
        let s = r.stats;
        if s.diagnosed > 0 {
            assert!(
                r.diagnostics.iter().any(|d| d.location.is_some()),
                "{}: a document was diagnosed without a location",
                source.name
            );
        }
        let text = String::from_utf8_lossy(&source.content);
        let is_json = source.name.ends_with(".json");
        if !is_json && let Some(n) = independent_count(&text) {
            let seen = s.used + s.foreign + s.not_objects + s.diagnosed + s.out_of_namespace;
            assert_eq!(
                seen, n,
                "{}: {n} documents, but synroute accounted for {seen} ({s:?})",
                source.name
            );
            checked_counts += 1;
        }
        totals.used += s.used;
        totals.foreign += s.foreign;
        totals.not_objects += s.not_objects;
        totals.empty += s.empty;
        totals.diagnosed += s.diagnosed;
    }
    assert!(
        checked_counts > 100,
        "only {checked_counts} files were counted independently"
    );
    eprintln!(
        "corpus, file by file: {totals:?}; {checked_counts} files' document counts checked against serde_yaml"
    );
}

#[test]
fn the_whole_corpus_renders_together_without_panic() {
    let Some(root) = common::corpus_root() else {
        return;
    };
    let all = sources(&root);
    let r = render(&all, &Options::default());
    // The corpus holds bad input on purpose (invalid examples), so it is
    // refused as a whole; every diagnostic is still located.
    assert!(
        r.diagnostics
            .iter()
            .all(|d| d.location.is_some() || d.code == synroute::diag::Code::NoObjects)
    );
    assert!(r.stats.used > 500, "{:?}", r.stats);
    let with_catch_all = Options {
        catch_all_host: Some("proxy.example.com".into()),
        ingress_class: "nginx".into(),
        ..Options::default()
    };
    let r2 = render(&all, &with_catch_all);
    assert!(!r2.upstreams.is_empty());
    eprintln!(
        "corpus, together: {:?}; {} diagnostics; malformed: {}",
        r.stats,
        r.diagnostics.len(),
        r.malformed
    );
}
