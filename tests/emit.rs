//! The direct `upstreams.yaml` writer against serde_yaml's: the same bytes
//! for every fixture and for tables full of awkward strings, and a file
//! that reads back to the same routes.

use std::collections::BTreeMap;

use proptest::prelude::*;
use synroute::emit::upstreams::{emit, emit_reference, parse};
use synroute::ir::{HostEntry, PathEntry, PathSettings, Provenance, RouteTable, Server};

fn table_with(strings: &[String], weighted: bool) -> RouteTable {
    let origin = std::sync::Arc::new(synroute::model::Origin::stand_in(
        synroute::model::Kind::Ingress,
        "ns",
        "n",
    ));
    let mut t = RouteTable::default();
    for (i, s) in strings.iter().enumerate() {
        let entry = PathEntry {
            servers: std::sync::Arc::from([Server::at(s.clone(), weighted.then_some(i as u32))]),
            settings: std::sync::Arc::new(PathSettings {
                request_headers: vec![s.clone()],
                read_timeout: Some(i as u64),
                http2_enabled: Some(i % 2 == 0),
                ..PathSettings::default()
            }),
            provenance: Provenance {
                origin: origin.clone(),
                field: synroute::model::FieldPath::root(),
            },
            conditional: false,
            seq: 0,
        };
        let host = t
            .hosts
            .entry(synroute::ir::HostKey::new(s.as_str()))
            .or_insert_with(HostEntry::default);
        host.certificate = (i % 3 == 0).then(|| s.clone());
        host.paths.insert(s.clone(), entry.clone());
        t.internal_paths.insert(format!("/x{s}"), entry);
    }
    t
}

#[test]
fn every_fixture_matches_serde_yaml() {
    let sources = synroute::cli::collect_sources(&["fixtures".to_string()], &[]).expect("fixtures");
    for s in sources {
        let r = synroute::render(std::slice::from_ref(&s), &synroute::Options::default());
        assert_eq!(
            String::from_utf8_lossy(&emit(&r.table)),
            String::from_utf8_lossy(&emit_reference(&r.table)),
            "{}",
            s.name
        );
    }
    let empty = RouteTable::default();
    assert_eq!(emit(&empty), emit_reference(&empty));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn awkward_strings_match_serde_yaml(
        strings in proptest::collection::vec("[a-zA-Z0-9 :#*&!@%`'\"|>?,\\[\\]{}=+~/._-]{0,12}", 1..8),
        weighted in any::<bool>(),
    ) {
        let t = table_with(&strings, weighted);
        let (fast, reference) = (emit(&t), emit_reference(&t));
        prop_assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&reference));
    }

    #[test]
    fn control_characters_still_read_back(strings in proptest::collection::vec("[a-z\\t\\n\\r\\u{1}: ]{1,8}", 1..4)) {
        let t = table_with(&strings, false);
        let bytes = emit(&t);
        let text = String::from_utf8(bytes).expect("utf8");
        let parsed = parse(&text).expect("reads back");
        let want: BTreeMap<_, _> = t.hosts.keys().map(|h| (h.to_string(), ())).collect();
        let got: BTreeMap<_, _> = parsed.upstreams.keys().map(|h| (h.clone(), ())).collect();
        prop_assert_eq!(want, got);
    }
}
