//! Property: shuffling files, the documents inside them and the keys of
//! every mapping never changes a byte of output (nor any diagnostic but its
//! line numbers).

use std::fs;

use proptest::prelude::*;
use synroute::{Options, Rendered, Source, render};

/// A small deterministic generator, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

fn shuffle_keys(v: serde_yaml::Value, rng: &mut Rng) -> serde_yaml::Value {
    match v {
        serde_yaml::Value::Mapping(m) => {
            let mut entries: Vec<(serde_yaml::Value, serde_yaml::Value)> = m.into_iter().collect();
            rng.shuffle(&mut entries);
            serde_yaml::Value::Mapping(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, shuffle_keys(v, rng)))
                    .collect(),
            )
        }
        serde_yaml::Value::Sequence(s) => {
            // Sequence order is meaning (rule order); only keys move.
            serde_yaml::Value::Sequence(s.into_iter().map(|v| shuffle_keys(v, rng)).collect())
        }
        other => other,
    }
}

/// The fixtures whose inputs are YAML that renders.
fn rendering_cases() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir("fixtures")
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|c| c != "json-input")
        .collect();
    v.sort();
    v
}

fn load_case(case: &str) -> (Vec<Source>, Options) {
    let args: Vec<String> = fs::read_to_string(format!("fixtures/{case}/args"))
        .map(|s| {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let opts = synroute::cli::options_for(&args).expect("args");
    let sources = synroute::cli::collect_sources(&[format!("fixtures/{case}")], &[]).expect("read");
    (sources, opts)
}

fn shuffled(sources: &[Source], seed: u64) -> Vec<Source> {
    let mut rng = Rng(seed | 1);
    let mut out: Vec<Source> = sources
        .iter()
        .map(|s| {
            // A JSON file is one document whose text is its own: it moves
            // among the files, as they all do, but is not rewritten as YAML.
            if s.name.ends_with(".json") {
                return s.clone();
            }
            let text = String::from_utf8_lossy(&s.content);
            let mut docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
                .filter_map(|d| serde::Deserialize::deserialize(d).ok())
                .filter(|v: &serde_yaml::Value| !v.is_null())
                .map(|v| shuffle_keys(v, &mut rng))
                .collect();
            rng.shuffle(&mut docs);
            let body: Vec<String> = docs
                .iter()
                .map(|d| serde_yaml::to_string(d).expect("yaml"))
                .collect();
            Source::new(s.name.clone(), body.join("---\n"))
        })
        .collect();
    rng.shuffle(&mut out);
    out
}

/// What must not change: the files' bytes and the diagnostics' codes,
/// objects and messages.
type Essence = (Vec<u8>, Vec<(String, Vec<u8>)>, Vec<String>);

fn essence(r: &Rendered) -> Essence {
    let certs = r
        .certs
        .iter()
        .map(|(n, f)| (n.clone(), f.bytes.to_vec()))
        .collect();
    let mut diags: Vec<String> = r
        .diagnostics
        .iter()
        .map(|d| format!("{} {:?} {}", d.code.id(), d.object, d.message))
        .collect();
    diags.sort();
    (r.upstreams.clone(), certs, diags)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    /// Also for Pingress's proxy.json and TLS files, from every case's
    /// Ingresses (their class kept).
    fn shuffling_inputs_changes_nothing(case_idx in 0usize..1000, seed in any::<u64>(), pingress in any::<bool>()) {
        let cases = rendering_cases();
        let case = &cases[case_idx % cases.len()];
        let (sources, mut opts) = load_case(case);
        if pingress {
            opts.target = synroute::target::Target::Pingress;
        }
        let base = render(&sources, &opts);
        prop_assume!(!base.malformed);
        let again = render(&shuffled(&sources, seed), &opts);
        prop_assert!(!again.malformed, "{case}: shuffled input did not load: {:?}", again.diagnostics);
        prop_assert_eq!(essence(&base), essence(&again), "{} with seed {}", case, seed);
    }
}

#[test]
fn the_shuffle_really_moves_things() {
    let (sources, _) = load_case("demo");
    let moved = shuffled(&sources, 7);
    let names = |v: &[Source]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    let texts = |v: &[Source]| {
        let mut t: Vec<Vec<u8>> = v.iter().map(|s| s.content.clone()).collect();
        t.sort();
        t
    };
    assert!(names(&moved) != names(&sources) || texts(&moved) != texts(&sources));
    assert_ne!(
        texts(&moved),
        texts(&sources),
        "documents and keys did not move"
    );
}

#[test]
fn every_case_survives_a_fixed_shuffle() {
    // proptest samples; this pass covers every case at least once.
    for case in rendering_cases() {
        let (sources, opts) = load_case(&case);
        let base = render(&sources, &opts);
        if base.malformed {
            continue;
        }
        for seed in [1u64, 0xdead_beef, 42] {
            let again = render(&shuffled(&sources, seed), &opts);
            assert_eq!(essence(&base), essence(&again), "{case} with seed {seed}");
        }
    }
}
