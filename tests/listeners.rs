//! Listener synthesis (gateway-route-sync offline): the Gateways that
//! WrappedGateways generate, as `synroute listeners` prints them and as
//! `render` reads them.

mod common;

use std::fs;
use std::path::Path;

use common::{code, stderr, stdout};
use proptest::prelude::*;
use synroute::listeners::synthesize;
use synroute::target::Target;
use synroute::{Options, Source, render};

const CASE: &str = "fixtures/listeners-wrapped-gateway";

fn sources(dir: &str) -> Vec<Source> {
    common::fixture_sources(dir)
}

/// The stream and its diagnostics, as one text.
fn listeners_text(sources: &[Source]) -> String {
    let s = synthesize(sources, &Options::default());
    let mut text = s.stream();
    text.push_str("== diagnostics\n");
    for d in &s.diagnostics {
        text.push_str(&d.concise());
        text.push('\n');
    }
    text
}

/// A listener: name, hostname, port, protocol, certificate Secret.
type Row = (String, Option<String>, u64, String, Option<String>);

#[test]
fn listeners_are_what_the_seed_describes() {
    let text = listeners_text(&sources(CASE));
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("synroute listeners {CASE}"),
    }, {
        insta::assert_snapshot!("listeners__listeners-wrapped-gateway", text);
    });
    let s = synthesize(&sources(CASE), &Options::default());
    assert_eq!(s.gateways.len(), 1, "legacy has no route: not generated");
    let gw: serde_yaml::Value = serde_yaml::from_str(&s.gateways[0].yaml).expect("YAML");
    let listeners: Vec<Row> = gw["spec"]["listeners"]
        .as_sequence()
        .expect("listeners")
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap_or_default().to_string(),
                l["hostname"].as_str().map(str::to_string),
                l["port"].as_u64().unwrap_or_default(),
                l["protocol"].as_str().unwrap_or_default().to_string(),
                l["tls"]["certificateRefs"][0]["name"]
                    .as_str()
                    .map(str::to_string),
            )
        })
        .collect();
    let l = |n: &str, h: Option<&str>, p: u64, proto: &str, secret: Option<&str>| {
        (
            n.to_string(),
            h.map(str::to_string),
            p,
            proto.to_string(),
            secret.map(str::to_string),
        )
    };
    assert_eq!(
        listeners,
        vec![
            // TCPRoute: the annotation's port, no hostname annotation.
            l("tcp-22", None, 22, "TCP", None),
            // UDPRoute: port and hostname from the annotations.
            l(
                "udp-53-dns-example-com",
                Some("dns.example.com"),
                53,
                "UDP",
                None
            ),
            // HTTPRoute with the ports annotation: 443 and 8443.
            l(
                "https-443-api-example-com",
                Some("api.example.com"),
                443,
                "HTTPS",
                Some("api-example-com-tls")
            ),
            // One listener per hostname of an HTTPRoute.
            l(
                "https-443-app-example-com",
                Some("app.example.com"),
                443,
                "HTTPS",
                Some("app-example-com-tls")
            ),
            // Another namespace's route still asks (SR2106).
            l(
                "https-443-blog-example-com",
                Some("blog.example.com"),
                443,
                "HTTPS",
                Some("blog-example-com-tls")
            ),
            // GRPCRoute: HTTPS on 443.
            l(
                "https-443-grpc-example-com",
                Some("grpc.example.com"),
                443,
                "HTTPS",
                Some("grpc-example-com-tls")
            ),
            l(
                "https-443-www-example-com",
                Some("www.example.com"),
                443,
                "HTTPS",
                Some("www-example-com-tls")
            ),
            // TLSRoute: TLS on 443, terminated.
            l(
                "tls-443-db-example-com",
                Some("db.example.com"),
                443,
                "TLS",
                Some("db-example-com-tls")
            ),
            // The valid one of "70000, abc ,8080".
            l(
                "https-8080-badport-example-com",
                Some("badport.example.com"),
                8080,
                "HTTPS",
                Some("badport-example-com-tls")
            ),
            l(
                "https-8443-api-example-com",
                Some("api.example.com"),
                8443,
                "HTTPS",
                Some("api-example-com-tls")
            ),
        ]
    );
    // shop.example.com:443 is asked for as HTTPS and TLS: neither is made.
    assert!(!s.gateways[0].yaml.contains("shop.example.com"));
    // The WrappedGateway's spec and annotations are the Gateway's.
    assert_eq!(gw["spec"]["gatewayClassName"], "synapse");
    assert_eq!(gw["spec"]["addresses"][0]["value"], "10.0.0.1");
    assert_eq!(
        gw["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        "letsencrypt"
    );
}

/// The same objects as the items of a `kind: List` (YAML or JSON), as
/// `kubectl get -o yaml` writes them, make the same Gateways.
#[test]
fn the_items_of_a_list_are_read() {
    let gateways = |sources: &[Source]| synthesize(sources, &Options::default()).stream();
    let want = gateways(&sources(CASE));
    assert!(want.contains("kind: Gateway"));
    for json in [false, true] {
        let list = [common::as_list(&sources(CASE), json)];
        assert_eq!(gateways(&list), want, "json {json}");
    }
}

/// The tree with the WrappedGateways, and the same tree with the Gateways
/// they generate committed in their place, render the same files.
#[test]
fn a_wrapped_gateway_renders_as_its_generated_gateway() {
    let with_wrapped = sources(CASE);
    let generated = synthesize(&with_wrapped, &Options::default()).stream();
    let committed: Vec<Source> = with_wrapped
        .iter()
        .map(|s| {
            if s.name.ends_with("wrapped.yaml") {
                Source::new("gateway.yaml", generated.clone().into_bytes())
            } else {
                s.clone()
            }
        })
        .collect();
    for target in Target::SYNAPSE {
        let opts = Options {
            target,
            ..Options::default()
        };
        let a = render(&with_wrapped, &opts);
        let b = render(&committed, &opts);
        assert!(!a.malformed && !b.malformed);
        assert_eq!(
            String::from_utf8_lossy(&a.upstreams),
            String::from_utf8_lossy(&b.upstreams),
            "{target}"
        );
        assert!(
            String::from_utf8_lossy(&a.upstreams).contains("app.example.com"),
            "{target}: the generated Gateway carries routes"
        );
        assert_eq!(a.certs, b.certs);
        // Synthesis's diagnostics are in the render's.
        for code in ["SR2101", "SR2104", "SR2107"] {
            assert!(a.diagnostics.iter().any(|d| d.code.id() == code), "{code}");
        }
    }
    // Without the WrappedGateways nothing is routed: the test can fail.
    let bare: Vec<Source> = with_wrapped
        .iter()
        .filter(|s| !s.name.ends_with("wrapped.yaml"))
        .cloned()
        .collect();
    assert!(
        !String::from_utf8_lossy(&render(&bare, &Options::default()).upstreams)
            .contains("app.example.com")
    );
}

/// Documents dealt into new files in an order `seed` decides; the
/// WrappedGateway's spec keys reversed.
fn dealt(sources: &[Source], seed: u64) -> Vec<Source> {
    common::dealt(sources, seed, 3, |d| {
        d.replace(
            "  gatewayClassName: synapse\n  addresses:\n  - type: IPAddress\n    value: 10.0.0.1\n",
            "  addresses:\n  - value: 10.0.0.1\n    type: IPAddress\n  gatewayClassName: synapse\n",
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_gateways_do_not_depend_on_input_order(seed in any::<u64>()) {
        let base = synthesize(&sources(CASE), &Options::default());
        let again = synthesize(&dealt(&sources(CASE), seed), &Options::default());
        prop_assert_eq!(base.stream(), again.stream());
        let codes = |s: &synroute::listeners::Synthesized| {
            let mut v: Vec<String> = s.diagnostics.iter().map(|d| format!("{} {}", d.code.id(), d.message)).collect();
            v.sort();
            v
        };
        prop_assert_eq!(codes(&base), codes(&again));
    }
}

fn synroute(args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    common::run(args, stdin, &[])
}

#[test]
fn listeners_exit_codes_and_writes() {
    // Warnings: printed, exit 0, the same bytes every time.
    let first = synroute(&["listeners", CASE], None);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert!(stderr(&first).contains("warning[SR2104]"));
    assert!(stderr(&first).contains("synroute: 1 Gateways, 10 listeners;"));
    assert_eq!(
        stdout(&first),
        stdout(&synroute(&["listeners", CASE], None))
    );
    assert_eq!(
        stdout(&first),
        synthesize(&sources(CASE), &Options::default()).stream()
    );
    // -o writes the file; --strict with warnings writes nothing, exit 1.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("gateways.yaml");
    let out_arg = out.to_string_lossy().into_owned();
    assert_eq!(
        code(&synroute(&["listeners", CASE, "-o", &out_arg, "-q"], None)),
        0
    );
    assert_eq!(fs::read_to_string(&out).expect("written"), stdout(&first));
    let strict_out = dir.path().join("strict.yaml");
    let strict_arg = strict_out.to_string_lossy().into_owned();
    let strict = synroute(&["listeners", CASE, "--strict", "-o", &strict_arg], None);
    assert_eq!(code(&strict), 1);
    assert!(!Path::new(&strict_out).exists());
    // A malformed WrappedGateway: exit 2, nothing written.
    let bad = b"apiVersion: gateway-route-sync.homelab-helper.benfiola.com/v1\nkind: WrappedGateway\nmetadata: [not, a, map]\n";
    let bad_out = dir.path().join("bad.yaml");
    let bad_arg = bad_out.to_string_lossy().into_owned();
    let malformed = synroute(&["listeners", "-", "-o", &bad_arg], Some(bad));
    assert_eq!(code(&malformed), 2, "{}", stderr(&malformed));
    assert!(stderr(&malformed).contains("error[SR1001]"));
    assert!(!bad_out.exists());
    // No WrappedGateway: said, exit 0.
    let none = synroute(&["listeners", "fixtures/demo"], None);
    assert_eq!(code(&none), 0);
    assert!(stderr(&none).contains("warning[SR1006]: the input holds no WrappedGateway"));
}

/// An HTTPRoute that does not read is reported once by `render` (which
/// reads HTTPRoutes itself), and by `listeners`, which has no render.
#[test]
fn a_malformed_route_is_reported_once() {
    let mut input = sources(CASE);
    input.push(Source::new(
        "bad.yaml",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: bad\n  namespace: infra\nspec:\n  hostnames: 7\n",
    ));
    let count = |ds: &[synroute::diag::Diagnostic]| {
        ds.iter()
            .filter(|d| {
                d.code.id() == "SR1001" && d.location.as_ref().is_some_and(|l| l.file == "bad.yaml")
            })
            .count()
    };
    assert_eq!(count(&render(&input, &Options::default()).diagnostics), 1);
    assert_eq!(
        count(&synthesize(&input, &Options::default()).diagnostics),
        1
    );
}
