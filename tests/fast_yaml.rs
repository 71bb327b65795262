//! The fast YAML reader must read every document exactly as serde_yaml
//! does, or give up on it: over the fixtures, the corpus and the synthetic
//! benchmark corpus, each object the fast reader produces is compared with
//! serde_yaml's reading of the same document.

mod common;

use std::path::Path;

use synroute::load::fast_path_readings;
use synroute::synth::{Shape, corpus};

/// (documents compared, documents the fast reader took).
fn check(name: &str, text: &str) -> (usize, usize) {
    let (mut seen, mut fast) = (0, 0);
    for (line, f, general) in fast_path_readings(text) {
        seen += 1;
        if let Some(f) = f {
            fast += 1;
            assert_eq!(
                f, general,
                "{name}:{line}: the fast reader disagrees with serde_yaml"
            );
        }
    }
    (seen, fast)
}

fn yaml_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn agrees_with_serde_yaml_on_fixtures_and_corpus() {
    let mut roots = vec![std::path::PathBuf::from("fixtures")];
    roots.extend(common::corpus_root());
    let (mut seen, mut fast) = (0, 0);
    for root in roots {
        for file in yaml_files(&root) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let (s, f) = check(&file.display().to_string(), &text);
            seen += s;
            fast += f;
        }
    }
    eprintln!("fast reader took {fast} of {seen} documents");
    // The reader must actually be used on real manifests, not only give up.
    assert!(
        fast * 2 > seen,
        "fast reader took {fast} of {seen} documents"
    );
}

#[test]
fn agrees_with_serde_yaml_on_the_benchmark_corpus() {
    let text = corpus(Shape {
        apps: 200,
        padding: 1,
        json: false,
        seed: 3,
    });
    let (seen, fast) = check("synthetic", &text);
    assert!(seen > 400);
    assert_eq!(fast, seen, "every synthetic document is plain block YAML");
}
