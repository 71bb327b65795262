//! No input makes synroute panic: fixture texts with bytes flipped, lines
//! cut or shuffled, and random YAML-ish text all render to a result, and
//! every diagnostic they produce is located.

use std::fs;

use proptest::prelude::*;
use synroute::{Options, Source, render};

#[path = "support/routing_fuzz.rs"]
mod routing_fuzz;
#[path = "support/synth.rs"]
mod synth;

/// The fixtures' routing files, rendered once for every case.
fn routing_files() -> &'static [(synroute::target::Target, String)] {
    static FILES: std::sync::OnceLock<Vec<(synroute::target::Target, String)>> =
        std::sync::OnceLock::new();
    FILES.get_or_init(routing_fuzz::rendered_files)
}

fn fixture_texts() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let sources = synroute::cli::collect_sources(&["fixtures".to_string()], &[]).expect("fixtures");
    for s in sources {
        out.push((s.name, s.content));
    }
    out.sort();
    out
}

fn check(sources: &[Source]) {
    let r = render(sources, &Options::default());
    for d in &r.diagnostics {
        if d.code != synroute::diag::Code::NoObjects {
            assert!(d.location.is_some(), "unlocated: {}", d.concise());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_fixtures_never_panic(
        pick in 0usize..10_000,
        edits in proptest::collection::vec((0usize..100_000, any::<u8>(), 0u8..4), 1..12),
    ) {
        let texts = fixture_texts();
        let (name, mut bytes) = texts[pick % texts.len()].clone();
        for (pos, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = pos % bytes.len();
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                2 => bytes.insert(i, byte),
                _ => bytes.truncate(i),
            }
        }
        check(&[Source::new(name, bytes)]);
    }

    /// The routing-file readers (`check`, `diff`, `explain` of a file)
    /// on rendered files edited as the manifests are: no panic, and they
    /// agree with one another.
    #[test]
    fn mutated_routing_files_are_read_alike(
        pick in 0usize..10_000,
        ops in proptest::collection::vec((any::<u8>(), 0usize..100_000, any::<u8>()), 1..6),
    ) {
        let files = routing_files();
        let (target, text) = &files[pick % files.len()];
        let edited = synth::mutate(text, &ops);
        if let Some(why) = routing_fuzz::check(*target, &edited) {
            panic!("{why}\n--- {target} file:\n{edited}");
        }
    }

    #[test]
    fn yamlish_text_never_panics(parts in proptest::collection::vec(
        prop_oneof![
            Just("---\n"), Just("apiVersion: networking.k8s.io/v1\n"), Just("kind: Ingress\n"),
            Just("kind: List\n"), Just("apiVersion: v1\n"), Just("kind: Secret\n"), Just("items:\n- "),
            Just("metadata:\n  name: x\n"), Just("spec:\n  rules:\n  - host: a.b\n"), Just("  "),
            Just("- "), Just("{"), Just("}"), Just("["), Just("]"), Just(": "), Just("\"\n"), Just("&a "),
            Just("*a\n"), Just("!!str "), Just("|\n"), Just("\t"), Just("#c\n"), Just("...\n"), Just("\u{feff}"),
            Just("paths:\n    - path: /x\n      pathType: Prefix\n"), Just("data:\n  tls.crt: !!!\n"),
        ],
        0..40,
    )) {
        let text: String = parts.concat();
        check(&[Source::new("gen.yaml", text.clone())]);
        check(&[Source::new("gen.json", text)]);
    }
}

#[test]
fn every_prefix_of_the_demo_renders() {
    // Cutting a file anywhere (a truncated download, a half-written pipe)
    // is one of the commonest bad inputs.
    for entry in fs::read_dir("fixtures/demo").expect("demo") {
        let path = entry.expect("entry").path();
        let bytes = fs::read(&path).expect("read");
        for cut in (0..bytes.len()).step_by(7) {
            check(&[Source::new(
                path.display().to_string(),
                bytes[..cut].to_vec(),
            )]);
        }
    }
}

/// Hostile YAML is answered, not chewed on: a 100,000-deep flow nesting is
/// refused at its line and column before the parser sees it (serde_yaml's
/// scanner takes time quadratic in the depth to refuse it itself); an
/// Ingress with 200,000 annotations renders (duplicate keys are found
/// through a set); a billion-laughs alias expansion is refused. No timing
/// is asserted: a quadratic step shows as a test that does not finish.
#[test]
fn hostile_yaml_is_answered() {
    let opts = synroute::Options::default();
    let deep = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    x: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let r = synroute::render(&[Source::new("deep.yaml", deep)], &opts);
    assert!(r.malformed);
    let d = r.diagnostics.first().expect("a diagnostic");
    assert_eq!(d.code.id(), "SR1001");
    let at = d.location.as_ref().expect("located");
    assert_eq!((at.line, at.column), (6, Some(8 + 128)), "{}", d.concise());

    let mut ing = String::from(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: big\n  namespace: shop\n  annotations:\n",
    );
    for i in 0..200_000 {
        ing.push_str(&format!("    example.com/a{i}: \"v{i}\"\n"));
    }
    ing.push_str("spec:\n  ingressClassName: synapse\n  rules:\n  - host: a.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: web\n            port:\n              number: 80\n");
    let r = synroute::render(&[Source::new("big.yaml", ing)], &opts);
    assert!(!r.malformed);
    assert!(r.table.host("a.example.com").is_some());

    let mut laughs = String::from(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: lol\n  labels:\n    a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        laughs.push_str(&format!(
            "    {name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    let r = synroute::render(&[Source::new("lol.yaml", laughs)], &opts);
    assert!(r.malformed, "the alias expansion was read");
}
