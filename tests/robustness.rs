//! No input makes synroute panic: fixture texts with bytes flipped, lines
//! cut or shuffled, and random YAML-ish text all render to a result, and
//! every diagnostic they produce is located.

use std::fs;

use proptest::prelude::*;
use synroute::{Options, Source, render};

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
