//! The fast YAML reader must read every document exactly as serde_yaml
//! does, or give up on it: over the fixtures, the corpus and the synthetic
//! benchmark corpus, each object the fast reader produces is compared with
//! serde_yaml's reading of the same document.

mod common;

use std::path::Path;

use synroute::load::fast_path_readings;
use synth::{Shape, corpus};
#[path = "support/synth.rs"]
mod synth;

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

mod generated {
    //! Random documents in and around the subset: wherever the fast reader
    //! answers, its answer is serde_yaml's.
    use proptest::prelude::*;
    use synroute::load::fast_yaml_value;

    /// The i-th key of a mapping, in one of the forms keys take.
    fn key(form: u8, i: usize) -> String {
        match form % 4 {
            0 => format!("k{i}"),
            1 => format!("app.kubernetes.io/part-{i}"),
            2 => format!("\"quoted key {i}\""),
            _ => format!("'single {i}'"),
        }
    }

    fn scalar() -> impl Strategy<Value = String> {
        // Values the fast reader takes, tricky ones among them…
        let taken = prop_oneof![
            "[a-zA-Z][a-zA-Z0-9 ._/-]{0,10}",
            "[1-9][0-9]{0,4}",
            Just("0".to_string()),
            Just("http://a.b:80/c".into()),
            Just("a#b".into()),
            Just("a # comment".into()),
            Just("\"dq \\\" \\\\ \\n \\u00e9\"".into()),
            Just("\"dq # not a comment\"".into()),
            Just("'sq '' it'".into()),
            Just("\"\"".into()),
            Just("''".into()),
            Just("[]".into()),
            Just("{}".into()),
            Just("é ü".into()),
        ];
        // …and values it must leave to serde_yaml, or read exactly as it.
        let traps = prop_oneof![
            Just("007".to_string()),
            Just("-1".into()),
            Just("+1".into()),
            Just("1.5".into()),
            Just("1e3".into()),
            Just("0x1F".into()),
            Just("0o17".into()),
            Just(".inf".into()),
            Just("true".into()),
            Just("False".into()),
            Just("yes".into()),
            Just("null".into()),
            Just("~".into()),
            Just("a: b".into()),
            Just("a:".into()),
            Just("[a, b]".into()),
            Just("&anchor x".into()),
            Just("*alias".into()),
            Just("!!str 5".into()),
            Just("- x".into()),
            Just("?x".into()),
            Just("@x".into()),
            Just("x\t".into()),
        ];
        prop_oneof![12 => taken, 1 => traps, 3 => flow(2)]
    }

    /// A one-line flow collection, or a string that looks like one.
    fn flow(depth: u32) -> BoxedStrategy<String> {
        let entry = prop_oneof![
            "[a-z][a-z0-9 ./-]{0,6}",
            "[1-9][0-9]{0,3}",
            Just("\"q, ] }\"".to_string()),
            Just("'s '' q'".into()),
            Just("true".into()),
            Just("~".into()),
            Just("-1".into()),
            Just("007".into()),
        ];
        let traps = prop_oneof![
            Just("[a, ]".to_string()),
            Just("{a: }".into()),
            Just("{a : b}".into()),
            Just("{a:b}".into()),
            Just("[a: b]".into()),
            Just("{a, b}".into()),
            Just("[a #c]".into()),
            Just("{\"a\" : 1}".into()),
            Just("{\"a\":1}".into()),
            Just("[&x a]".into()),
            Just("[*x]".into()),
            Just("{? a : b}".into()),
            Just("[a]x".into()),
            Just("[a] # c".into()),
            Just("{a: 1, a: 2}".into()),
            Just("[- a]".into()),
            Just("[http://x]".into()),
            Just("[ ]".into()),
            Just("{ }".into()),
            Just("[,]".into()),
            Just("[a,,b]".into()),
            Just("{a: b}}".into()),
            Just("[a".into()),
            Just("[!!str 1]".into()),
            Just("{a: [b, {c: d}]}".into()),
        ];
        let leaf = prop_oneof![4 => entry, 1 => traps].boxed();
        if depth == 0 {
            return leaf;
        }
        let inner = prop_oneof![3 => leaf.clone(), 1 => flow(depth - 1)];
        prop_oneof![
            1 => leaf,
            2 => prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            2 => prop::collection::vec(("[a-z]{1,3}|\"k[a-z ]{0,2}\"", inner), 0..4).prop_map(|v| {
                let pairs: Vec<String> = v.into_iter().map(|(k, x)| format!("{k}: {x}")).collect();
                format!("{{{}}}", pairs.join(", "))
            }),
        ]
        .boxed()
    }

    /// A node: a one-line scalar (`Leaf`) or lines of a block
    /// (mapping, sequence, literal) relative to indentation 0.
    #[derive(Clone, Debug)]
    enum N {
        Leaf(String),
        Block(Vec<(usize, String)>),
    }

    fn node(depth: u32) -> BoxedStrategy<N> {
        let leaf = scalar().prop_map(N::Leaf).boxed();
        if depth == 0 {
            return leaf;
        }
        prop_oneof![
            3 => leaf,
            3 => map(depth - 1),
            2 => (prop::collection::vec(node(depth - 1), 1..4), any::<bool>()).prop_map(|(items, compact)| {
                let mut lines = Vec::new();
                for item in items {
                    match item {
                        N::Leaf(v) => lines.push((0, format!("- {v}"))),
                        N::Block(b) if compact && !b.first().is_some_and(|(_, t)| t.starts_with('-') || t == "|") => {
                            // `- key: value`, the rest aligned under the key.
                            for (i, (ind, t)) in b.into_iter().enumerate() {
                                lines.push(if i == 0 { (ind, format!("- {t}")) } else { (ind + 2, t) });
                            }
                        }
                        N::Block(b) => {
                            lines.push((0, "-".to_string()));
                            lines.extend(b.into_iter().map(|(i, t)| (i + 2, t)));
                        }
                    }
                }
                N::Block(lines)
            }),
            1 => Just(N::Block(vec![(0, "|".to_string()), (2, "literal".to_string()), (2, "  more".to_string())])),
        ]
        .boxed()
    }

    fn map(depth: u32) -> BoxedStrategy<N> {
        prop::collection::vec((any::<u8>(), node(depth), any::<bool>()), 1..4)
            .prop_map(|entries| {
                let mut lines = Vec::new();
                for (i, (form, v, comment)) in entries.into_iter().enumerate() {
                    let head = format!("{}:", key(form, i));
                    let tail = if comment { " # c" } else { "" };
                    match v {
                        N::Leaf(v) => lines.push((0, format!("{head} {v}{tail}"))),
                        N::Block(b) if b.first().is_some_and(|(_, t)| t == "|") => {
                            lines.push((0, format!("{head} |")));
                            lines.extend(b.into_iter().skip(1));
                        }
                        N::Block(b) => {
                            lines.push((0, format!("{head}{tail}")));
                            lines.extend(b.into_iter().map(|(i, t)| (i + 2, t)));
                        }
                    }
                }
                N::Block(lines)
            })
            .boxed()
    }

    fn render(lines: &[(usize, String)]) -> String {
        let mut out = String::new();
        for (i, t) in lines {
            out.push_str(&" ".repeat(*i));
            out.push_str(t);
            out.push('\n');
        }
        out
    }

    /// The generator must reach the subset often, or the property above
    /// would hold vacuously.
    #[test]
    fn generated_documents_are_often_in_the_subset() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let strategy = map(3);
        let (mut taken, total) = (0, 1000);
        for _ in 0..total {
            let N::Block(lines) = strategy.new_tree(&mut runner).expect("generate").current()
            else {
                continue;
            };
            if fast_yaml_value(&render(&lines)).is_some() {
                taken += 1;
            } else if std::env::var_os("SHOW_REJECTED").is_some() {
                eprintln!("---\n{}", render(&lines));
            }
        }
        eprintln!("fast reader took {taken} of {total} generated documents");
        assert!(taken * 3 > total, "only {taken} of {total}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn fast_reader_agrees_or_gives_up(doc in map(3)) {
            let N::Block(lines) = doc else { return Ok(()) };
            let text = render(&lines);
            if let Some(fast) = fast_yaml_value(&text) {
                let general: Result<serde_yaml::Value, _> = serde_yaml::from_str(&text);
                match general {
                    Ok(g) => prop_assert_eq!(fast, g, "document:\n{}", text),
                    Err(e) => prop_assert!(false, "fast reader accepted what serde_yaml refuses ({}):\n{}", e, text),
                }
            }
        }
    }
}

mod mutated {
    //! Real documents (every one of fixtures/ and the corpus), mutated a
    //! few bytes or lines at a time: wherever the fast reader still
    //! answers, its answer — the YAML value and the typed object — is
    //! serde_yaml's; where it gives up, serde_yaml alone decides (so the
    //! two never disagree). `SYNROUTE_DIFF_CASES` sets how many cases run
    //! (1,500 by default; docs/performance.md's longer run uses 200,000).
    use crate::synth::mutate;
    use proptest::prelude::*;
    use std::sync::OnceLock;
    use synroute::load::{fast_path_readings, fast_yaml_value};

    fn seeds() -> &'static [String] {
        static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
        SEEDS.get_or_init(|| {
            let mut roots = vec![std::path::PathBuf::from("fixtures")];
            roots.extend(super::common::corpus_root());
            let mut docs = Vec::new();
            for root in roots {
                for file in super::yaml_files(&root) {
                    let Ok(text) = std::fs::read_to_string(&file) else {
                        continue;
                    };
                    let mut doc = String::new();
                    for line in text.lines().chain(std::iter::once("---")) {
                        if line == "---" {
                            if !doc.trim().is_empty() {
                                docs.push(std::mem::take(&mut doc));
                            }
                            doc.clear();
                        } else {
                            doc.push_str(line);
                            doc.push('\n');
                        }
                    }
                }
            }
            docs
        })
    }

    fn cases() -> u32 {
        std::env::var("SYNROUTE_DIFF_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1500)
    }

    /// The mutations must leave many documents in the fast reader's
    /// subset, or the property below would hold vacuously.
    #[test]
    fn mutated_documents_are_often_still_read_fast() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        assert!(seeds().len() > 100, "{} seed documents", seeds().len());
        let strategy = (
            any::<usize>(),
            prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
        );
        let mut runner = TestRunner::deterministic();
        let (mut taken, total) = (0, 1000);
        for _ in 0..total {
            let (seed, ops) = strategy.new_tree(&mut runner).expect("generate").current();
            let text = mutate(&seeds()[seed % seeds().len()], &ops);
            if fast_yaml_value(&text).is_some() {
                taken += 1;
            }
        }
        eprintln!("fast reader took {taken} of {total} mutated documents");
        assert!(taken * 4 > total, "only {taken} of {total}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]
        #[test]
        fn mutated_documents_read_alike(
            seed in any::<usize>(),
            ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
        ) {
            let seeds = seeds();
            prop_assume!(!seeds.is_empty());
            let text = mutate(&seeds[seed % seeds.len()], &ops);
            if let Some(fast) = fast_yaml_value(&text) {
                match serde_yaml::from_str::<serde_yaml::Value>(&text) {
                    Ok(general) => prop_assert_eq!(fast, general, "document:\n{}", text),
                    Err(e) => prop_assert!(false, "the fast reader read what serde_yaml refuses ({}):\n{}", e, text),
                }
            }
            for (line, fast, general) in fast_path_readings(&text) {
                if let Some(fast) = fast {
                    prop_assert_eq!(fast, general, "document at line {}:\n{}", line, text);
                }
            }
        }
    }
}
