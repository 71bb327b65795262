//! Certificate checks (SPEC §5) on certificates generated here, so that no
//! committed key can expire: a good pair, a key of another pair, SANs that
//! miss a served host, expired, expiring, not yet valid, unparseable.

use rcgen::{CertificateParams, KeyPair, date_time_ymd};
use synroute::{Options, Rendered, Source, render};

struct Pair {
    cert: String,
    key: String,
}

fn pair(
    sans: &[&str],
    from: (i32, u8, u8),
    to: (i32, u8, u8),
    alg: &'static rcgen::SignatureAlgorithm,
) -> Pair {
    let key = KeyPair::generate_for(alg).expect("key");
    let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("params");
    params.not_before = date_time_ymd(from.0, from.1, from.2);
    params.not_after = date_time_ymd(to.0, to.1, to.2);
    let cert = params.self_signed(&key).expect("self-signed");
    Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

fn ec(sans: &[&str]) -> Pair {
    pair(
        sans,
        (2024, 1, 1),
        (2027, 1, 1),
        &rcgen::PKCS_ECDSA_P256_SHA256,
    )
}

fn indent(pem: &str) -> String {
    pem.lines().map(|l| format!("    {l}\n")).collect()
}

fn manifests(host: &str, cert: &str, key: &str) -> Vec<Source> {
    let yaml = format!(
        "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: web, namespace: shop}}
spec:
  ingressClassName: synapse
  tls:
  - hosts: [{host}]
    secretName: web-tls
  rules:
  - host: {host}
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: web-tls, namespace: shop}}
type: kubernetes.io/tls
stringData:
  tls.crt: |
{}  tls.key: |
{}",
        indent(cert),
        indent(key)
    );
    vec![Source::new("tls.yaml", yaml)]
}

/// 2026-06-01T00:00:00Z.
const NOW: i64 = 1_780_272_000;

fn run(sources: &[Source], now: i64) -> Rendered {
    render(
        sources,
        &Options {
            now: Some(now),
            ..Options::default()
        },
    )
}

fn codes(r: &Rendered) -> Vec<&'static str> {
    r.diagnostics
        .iter()
        .map(|d| d.code.id())
        .filter(|c| c.starts_with("SR14"))
        .collect()
}

#[test]
fn a_good_pair_raises_nothing_and_is_projected() {
    let p = ec(&["a.example.com"]);
    let r = run(&manifests("a.example.com", &p.cert, &p.key), NOW);
    assert!(codes(&r).is_empty(), "{:?}", r.diagnostics);
    assert_eq!(
        r.certs.get("a.example.com.crt").map(|f| f.bytes.to_vec()),
        Some(p.cert.into_bytes())
    );
    // Ed25519: the key carries no public key to compare; not a mismatch.
    let p = pair(
        &["a.example.com"],
        (2024, 1, 1),
        (2027, 1, 1),
        &rcgen::PKCS_ED25519,
    );
    assert!(codes(&run(&manifests("a.example.com", &p.cert, &p.key), NOW)).is_empty());
}

#[test]
fn a_key_of_another_pair_is_a_mismatch() {
    let (a, b) = (ec(&["a.example.com"]), ec(&["a.example.com"]));
    let src = manifests("a.example.com", &a.cert, &b.key);
    let r = run(&src, NOW);
    assert_eq!(codes(&r), vec!["SR1406"]);
    // Located at the tls.key field of the Secret.
    let text = String::from_utf8_lossy(&src[0].content).to_string();
    let key_line = text
        .lines()
        .position(|l| l == "  tls.key: |")
        .expect("key line") as u32
        + 1;
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code.id() == "SR1406")
        .expect("SR1406");
    assert_eq!(
        d.location.as_ref().map(|l| l.line),
        Some(key_line),
        "{}",
        d.concise()
    );
}

#[test]
fn sans_must_cover_every_served_host() {
    let p = ec(&["other.example.com", "*.example.org"]);
    assert_eq!(
        codes(&run(&manifests("a.example.com", &p.cert, &p.key), NOW)),
        vec!["SR1407"]
    );
    // A wildcard SAN covers one label.
    let p = ec(&["*.example.com"]);
    assert!(codes(&run(&manifests("a.example.com", &p.cert, &p.key), NOW)).is_empty());
    assert_eq!(
        codes(&run(&manifests("a.b.example.com", &p.cert, &p.key), NOW)),
        vec!["SR1407"]
    );
}

#[test]
fn validity_is_checked_at_now() {
    let p = pair(
        &["a.example.com"],
        (2025, 1, 1),
        (2026, 6, 10),
        &rcgen::PKCS_ECDSA_P256_SHA256,
    );
    let src = manifests("a.example.com", &p.cert, &p.key);
    // 9 days before notAfter: within the default 21.
    assert_eq!(codes(&run(&src, NOW)), vec!["SR1409"]);
    let r = render(
        &src,
        &Options {
            now: Some(NOW),
            expiry_warning_days: 7,
            ..Options::default()
        },
    );
    assert!(codes(&r).is_empty());
    // After notAfter: an error.
    let r = run(&src, NOW + 30 * 86_400);
    assert_eq!(codes(&r), vec!["SR1408"]);
    assert_eq!(r.worst(), Some(synroute::diag::Severity::Error));
    // Before notBefore.
    assert_eq!(codes(&run(&src, NOW - 600 * 86_400)), vec!["SR1410"]);
    // No time given: validity is not checked.
    assert!(codes(&render(&src, &Options::default())).is_empty());
}

#[test]
fn pem_that_does_not_parse_is_reported() {
    let p = ec(&["a.example.com"]);
    let garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
    assert_eq!(
        codes(&run(&manifests("a.example.com", garbage, &p.key), NOW)),
        vec!["SR1405"]
    );
    assert_eq!(
        codes(&run(&manifests("a.example.com", "plain text", &p.key), NOW)),
        vec!["SR1405"]
    );
    assert_eq!(
        codes(&run(&manifests("a.example.com", &p.cert, "not a key"), NOW)),
        vec!["SR1405"]
    );
}

#[test]
fn check_reports_an_expired_certificate_with_now_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = pair(
        &["a.example.com"],
        (2020, 1, 1),
        (2021, 1, 1),
        &rcgen::PKCS_ECDSA_P256_SHA256,
    );
    let file = dir.path().join("tls.yaml");
    let text = String::from_utf8(
        manifests("a.example.com", &p.cert, &p.key)[0]
            .content
            .clone(),
    )
    .expect("utf8");
    std::fs::write(&file, text).expect("write");
    let run = |now: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_synroute"))
            .args(["check", file.to_str().expect("utf8"), "--now", now])
            .output()
            .expect("run")
    };
    let o = run("2020-06-01T00:00:00Z");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = run("2022-01-01T00:00:00Z");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("error[SR1408]"));
}

/// Every certificate problem at once, several times over: the same
/// diagnostics whatever `jobs` is (with more than one, the certificates
/// are read on a core of their own while the routes are translated).
#[test]
fn the_checks_do_not_depend_on_jobs() {
    let dated = |host: &str, from, to| {
        let p = pair(&[host], from, to, &rcgen::PKCS_ECDSA_P256_SHA256);
        (host.to_string(), p.cert, p.key)
    };
    let garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
    let mut text = String::new();
    for round in 0..3 {
        let host = |i: usize| format!("c{i}-{round}.example.com");
        let good = ec(&[&host(0), &host(1), &host(2), &host(6), &host(7)]);
        let other = ec(&[&host(1)]);
        let cases = [
            (host(0), good.cert.clone(), good.key.clone()),
            (host(1), other.cert.clone(), good.key.clone()),
            (
                format!("not-{}", host(2)),
                good.cert.clone(),
                good.key.clone(),
            ),
            dated(&host(3), (2025, 1, 1), (2026, 1, 1)),
            dated(&host(4), (2025, 1, 1), (2026, 6, 10)),
            dated(&host(5), (2027, 1, 1), (2028, 1, 1)),
            (host(6), garbage.to_string(), good.key.clone()),
            (host(7), good.cert.clone(), "not a key".to_string()),
        ];
        for (i, (host, cert, key)) in cases.iter().enumerate() {
            let one = &manifests(host, cert, key)[0].content;
            let one = String::from_utf8_lossy(one)
                .replace("web-tls", &format!("tls-{round}-{i}"))
                .replace(
                    "{name: web, namespace",
                    &format!("{{name: web-{round}-{i}, namespace"),
                );
            text.push_str(&one);
            text.push_str("---\n");
        }
    }
    let sources = vec![Source::new("tls.yaml", text)];
    let with_jobs = |jobs| {
        render(
            &sources,
            &Options {
                now: Some(NOW),
                jobs,
                ..Options::default()
            },
        )
    };
    let one = with_jobs(1);
    let mut found = codes(&one);
    found.sort_unstable();
    found.dedup();
    assert_eq!(
        found,
        ["SR1405", "SR1406", "SR1407", "SR1408", "SR1409", "SR1410"],
        "{:?}",
        one.diagnostics
    );
    for jobs in [2, 3, 8] {
        assert_eq!(with_jobs(jobs).diagnostics, one.diagnostics, "jobs {jobs}");
    }
}
