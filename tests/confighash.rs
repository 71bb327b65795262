//! The config hash of the operator's config-sync mode (`synroute hash`):
//! digests checked against an independent computation, stable under any
//! order of the input, changed by any included byte.

mod common;

use common::{code, stderr, stdout};
use proptest::prelude::*;
use synroute::Source;
use synroute::confighash::{HashOptions, config_hash};

const CASE: &str = "fixtures/config-hash";
/// Computed apart from synroute (Python's hashlib, by the appendix of
/// SYNAPSE-FORMATS.md) for fixtures/config-hash.
const SHOP: &str = "a0db58c391fe81f55468a69c86d05fa9d3f1955ff295c90197b4e8ec7525e130";
const EDGE: &str = "ded0904f26116554e8d112dc6f27c60b92c32174b58edea9a3836122e8056d11";

fn sources() -> Vec<Source> {
    common::fixture_sources(CASE)
}

fn digests(sources: &[Source], opts: &HashOptions) -> Vec<(String, String)> {
    config_hash(sources, opts)
        .namespaces
        .into_iter()
        .map(|n| (n.namespace, n.digest))
        .collect()
}

fn synroute(args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    common::run(args, stdin, &[])
}

#[test]
fn the_digests_are_the_appendix_algorithm() {
    let got = digests(&sources(), &HashOptions::default());
    assert_eq!(
        got,
        vec![
            ("edge".to_string(), EDGE.to_string()),
            ("shop".to_string(), SHOP.to_string())
        ]
    );
    // What went into shop's: the ConfigMap with keys left and the Secret;
    // not the one holding only upstreams.yaml, not the unlabelled one.
    let hashed = config_hash(&sources(), &HashOptions::default());
    let shop = &hashed.namespaces[1];
    let names: Vec<&str> = shop.entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["configmap/synapse-config", "secret/synapse-secrets"]
    );
    assert_eq!(shop.workloads.len(), 1, "the Deployment; not the DaemonSet");
}

#[test]
fn hash_output_and_patches_are_pinned() {
    let plain = synroute(&["hash", CASE], None);
    assert_eq!(code(&plain), 0);
    assert_eq!(stdout(&plain), format!("{EDGE}  edge\n{SHOP}  shop\n"));
    let patch = synroute(&["hash", "--patch", "--min-severity", "info", CASE], None);
    assert_eq!(code(&patch), 0);
    let text = format!("{}== stderr\n{}", stdout(&patch), stderr(&patch));
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("synroute hash --patch {CASE}"),
    }, {
        insta::assert_snapshot!("hash__config-hash", text);
    });
    for code in ["SR2201", "SR2202"] {
        assert!(stderr(&patch).contains(&format!("[{code}]")), "{code}");
    }
    assert!(stderr(&patch).contains("warning[SR2201]"));
    assert!(stderr(&patch).contains("info[SR2202]: namespace edge"));
    let doc: serde_yaml::Value =
        serde_yaml::from_str(stdout(&patch).split("\n---\n").next().unwrap_or_default())
            .expect("a workload");
    assert_eq!(
        doc["spec"]["template"]["metadata"]["annotations"]["synapse.gen0sec.com/config-hash"],
        SHOP
    );
    // The operator's flags change what is hashed and where it goes.
    let all_keys = synroute(&["hash", CASE, "--ignore-configmap-keys", ""], None);
    assert!(!stdout(&all_keys).contains(SHOP));
    let other = synroute(
        &[
            "hash",
            "--patch",
            CASE,
            "--config-hash-annotation",
            "example.com/h",
        ],
        None,
    );
    assert!(stdout(&other).contains(&format!("example.com/h: {SHOP}")));
    let narrow = synroute(
        &[
            "hash",
            CASE,
            "--label-selector",
            "app.kubernetes.io/name=synapse,tier=x",
        ],
        None,
    );
    assert_eq!(code(&narrow), 0);
    assert!(stderr(&narrow).contains("warning[SR1006]"));
    assert_eq!(stdout(&narrow), "");
    let one = synroute(&["hash", CASE, "-n", "edge"], None);
    assert_eq!(stdout(&one), format!("{EDGE}  edge\n"));
}

#[test]
fn bad_input_is_exit_2() {
    let bad_selector = synroute(&["hash", CASE, "--label-selector", "tier in edge"], None);
    assert_eq!(code(&bad_selector), 2);
    assert!(stderr(&bad_selector).contains("label selector"));
    let bad_b64 = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  labels: {app.kubernetes.io/name: synapse}\ndata:\n  k: '%%%'\n";
    let out = synroute(&["hash", "-"], Some(bad_b64));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("error[SR1001]") && stdout(&out).is_empty());
}

#[test]
fn the_items_of_a_list_count_as_documents() {
    let want = digests(&sources(), &HashOptions::default());
    for json in [false, true] {
        let list = [common::as_list(&sources(), json)];
        assert_eq!(digests(&list, &HashOptions::default()), want, "json {json}");
    }
    // A malformed item is located at its own line in the List.
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n    labels: {app.kubernetes.io/name: synapse}\n  data: [not, a, map]\n";
    let out = synroute(&["hash", "-"], Some(text.as_bytes()));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("-:9:"), "{}", stderr(&out));
}

/// Documents dealt into new files in an order `seed` decides, a Secret's
/// `data` keys reversed.
fn dealt(sources: &[Source], seed: u64) -> Vec<Source> {
    common::dealt(sources, seed, 2, |d| {
        d.replace(
            "  api-key: c2VjcmV0\n  token: b2xk\n",
            "  token: b2xk\n  api-key: c2VjcmV0\n",
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_hash_does_not_depend_on_order(seed in any::<u64>()) {
        let base = digests(&sources(), &HashOptions::default());
        prop_assert_eq!(base, digests(&dealt(&sources(), seed), &HashOptions::default()));
    }

    /// Any byte of an included value changes the hash; a byte of an
    /// ignored key's value does not.
    #[test]
    fn an_included_byte_changes_it(pick in 0usize..1000, byte in any::<u8>()) {
        let base = digests(&sources(), &HashOptions::default());
        // (where, the value's bytes that go into the hash)
        let included = [
            ("    server:", "server"),
            ("      port: 443", "443"),
            ("  logo.bin: AAEC", "AAEC"),
            ("  api-key: c2VjcmV0", "c2VjcmV0"),
            ("  token: new", "new"),
            ("  api-key: edge", "edge"),
        ];
        let (context, value) = included[pick % included.len()];
        let mut changed = sources();
        for s in &mut changed {
            let text = String::from_utf8_lossy(&s.content).into_owned();
            if let Some(at) = text.find(context) {
                let start = at + context.find(value).unwrap_or(0);
                let i = start + (pick / included.len()) % value.len();
                let old = text.as_bytes()[i];
                // A letter or digit replaced by another of its kind (still
                // valid YAML, still base64).
                let new = if old.is_ascii_digit() {
                    b'0' + (old - b'0' + 1 + byte % 9) % 10
                } else if old.is_ascii_lowercase() {
                    b'a' + (old - b'a' + 1 + byte % 25) % 26
                } else {
                    b'A' + (old - b'A' + 1 + byte % 25) % 26
                };
                let mut bytes = text.into_bytes();
                bytes[i] = new;
                s.content = bytes;
                let after = digests(&changed, &HashOptions::default());
                prop_assert_ne!(&base, &after, "{} at {}", value, i);
                return Ok(());
            }
        }
        prop_assert!(false, "{} not found", context);
    }
}

#[test]
fn an_ignored_key_does_not_change_it() {
    let base = digests(&sources(), &HashOptions::default());
    let changed: Vec<Source> = sources()
        .into_iter()
        .map(|mut s| {
            let t = String::from_utf8_lossy(&s.content)
                .replace("ignored by default", "ignored, and changed")
                .replace("rendered by synroute", "rendered again");
            s.content = t.into_bytes();
            s
        })
        .collect();
    assert_eq!(base, digests(&changed, &HashOptions::default()));
}
