//! Certificate checks (SPEC §5) on the bundles a render projects: PEM that
//! does not parse, a key that does not match the certificate, SANs that do
//! not cover a host the certificate is served for, and validity against
//! `Options::now` (expired is an error; expiring within
//! `expiry_warning_days` a warning). Time comes in through the options, so
//! the check is as pure as the rest of translation.
//!
//! It reports; it never drops or changes a bundle (tls.rs decides what is
//! served).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use x509_parser::der_parser::ber::BerObject;
use x509_parser::der_parser::parse_der;
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::time::ASN1Time;

use super::Ctx;
use super::tls::covers;
use crate::diag::Code;
use crate::ir::CertBundle;
use crate::model::{FieldPath, Origin, Snapshot, by_key, diag_at};

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// What can be compared between a private key and a certificate without
/// doing any cryptography.
#[derive(Debug, PartialEq, Eq)]
enum KeyMaterial {
    RsaModulus(Vec<u8>),
    EcPoint(Vec<u8>),
    /// The key holds nothing comparable (Ed25519 PKCS#8 v1, an EC key
    /// without its public point): not checked.
    Unknown,
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let i = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b[i..].to_vec()
}

fn rsa_modulus(der: &[u8]) -> Option<KeyMaterial> {
    let (_, obj) = parse_der(der).ok()?;
    let seq = obj.as_sequence().ok()?;
    Some(KeyMaterial::RsaModulus(strip_zeros(
        seq.get(1)?.as_slice().ok()?,
    )))
}

/// The `[1] publicKey` of a SEC1 ECPrivateKey, if present.
fn ec_point(der: &[u8]) -> Option<KeyMaterial> {
    let (_, obj) = parse_der(der).ok()?;
    let seq = obj.as_sequence().ok()?;
    let tagged = seq
        .iter()
        .find(|o| o.header.tag().0 == 1 && !o.header.is_universal());
    let Some(tagged) = tagged else {
        return Some(KeyMaterial::Unknown);
    };
    let inner: BerObject<'_> = match tagged.as_tagged() {
        Ok((_, _, o)) => o.clone(),
        Err(_) => parse_der(tagged.as_slice().ok()?).ok()?.1,
    };
    Some(KeyMaterial::EcPoint(
        inner.as_bitstring().ok()?.data.to_vec(),
    ))
}

fn key_material(pem: &Pem) -> Option<KeyMaterial> {
    match pem.label.as_str() {
        "RSA PRIVATE KEY" => rsa_modulus(&pem.contents),
        "EC PRIVATE KEY" => ec_point(&pem.contents),
        "PRIVATE KEY" => {
            let (_, obj) = parse_der(&pem.contents).ok()?;
            let seq = obj.as_sequence().ok()?;
            let alg = seq.get(1)?.as_sequence().ok()?;
            let oid = alg.first()?.as_oid().ok()?.to_id_string();
            let inner = seq.get(2)?.as_slice().ok()?;
            match oid.as_str() {
                RSA_ENCRYPTION => rsa_modulus(inner),
                EC_PUBLIC_KEY => ec_point(inner),
                _ => Some(KeyMaterial::Unknown),
            }
        }
        _ => None,
    }
}

fn cert_material(cert: &X509Certificate<'_>) -> KeyMaterial {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(k)) => KeyMaterial::RsaModulus(strip_zeros(k.modulus)),
        Ok(PublicKey::EC(p)) => KeyMaterial::EcPoint(p.data().to_vec()),
        _ => KeyMaterial::Unknown,
    }
}

/// DNS names the certificate is valid for: its SAN DNS names, else its CN.
fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(d) = n {
                out.push(d.to_ascii_lowercase());
            }
        }
    }
    if out.is_empty() {
        out.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .map(str::to_ascii_lowercase),
        );
    }
    out
}

/// The first PEM block of `bytes`, read exactly as x509-parser's
/// `parse_x509_pem` reads it (a proptest holds the two together): lines
/// before the `-----BEGIN ` line are skipped (those that are not UTF-8
/// too), the label ends at the next `-`, the body is every line up to one
/// that starts `-----END `, trimmed at its end, decoded as base64. That
/// reader makes a new string for every line, grown a few times: 20k PEM
/// blocks of ~50 lines for the 50k-app corpus. The one PEM reader of the
/// project (the checks here, `diff`'s certificate fingerprints).
pub(crate) fn first_pem(bytes: &[u8]) -> Option<Pem> {
    let mut lines = bytes.split_inclusive(|&b| b == b'\n');
    let label = loop {
        let Ok(line) = std::str::from_utf8(lines.next()?) else {
            continue;
        };
        if !line.starts_with("-----BEGIN ") {
            continue;
        }
        // At least three parts around `-----`, the first empty.
        let mut parts = line.split("-----");
        let (Some(""), Some(label), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        break label.strip_prefix("BEGIN ")?.split('-').next()?;
    };
    let mut body = String::with_capacity(bytes.len());
    loop {
        let line = std::str::from_utf8(lines.next()?).ok()?;
        if line.starts_with("-----END ") {
            break;
        }
        body.push_str(line.trim_end());
    }
    let contents = data_encoding::BASE64.decode(body.as_bytes()).ok()?;
    Some(Pem {
        label: label.to_string(),
        contents,
    })
}

/// `stringData.<key>` when the Secret gives the key there, else `data.<key>`.
/// Only asked for where a diagnostic is made: the search of the Secrets
/// for it misses the cache at nearly every step in a large render.
fn secret_field(snap: &Snapshot, b: &CertBundle, key: &'static str) -> FieldPath {
    let o = &b.secret.origin;
    let in_string_data = by_key(&snap.secrets, &o.namespace, &o.name)
        .and_then(|s| s.value.string_data.as_ref())
        .is_some_and(|m| m.contains_key(key));
    FieldPath::of(&[if in_string_data { "stringData" } else { "data" }]).key(key)
}

pub fn check(ctx: &mut Ctx<'_>, prepared: &Prepared) {
    // A TLS entry of several hosts asks for one bundle per host, all of
    // the same Secret: it is checked once, against every host it serves.
    // Its bundles are told apart by the identity of the Secret's and the
    // entry's objects (one `Origin` each, shared), not by comparing them
    // field by field; the first bundle, in stem order, stands for them.
    let mut groups: Vec<(&CertBundle, Vec<&str>)> = Vec::new();
    let mut group_of: HashMap<(*const Origin, *const Origin, &FieldPath), usize> = HashMap::new();
    let mut stem_group: HashMap<&str, usize> = HashMap::with_capacity(ctx.table.certs.len());
    // A Secret read from the cluster (`--emit`) has nothing to check here.
    for b in ctx.table.certs.values().filter(|b| !b.in_cluster) {
        let key = (
            Arc::as_ptr(&b.secret.origin),
            Arc::as_ptr(&b.requested_by.origin),
            &b.requested_by.field,
        );
        let at = *group_of.entry(key).or_insert_with(|| {
            groups.push((b, Vec::new()));
            groups.len() - 1
        });
        stem_group.insert(b.stem.as_str(), at);
    }
    // Each host served with a certificate goes to its bundle's group
    // (the order of a group's hosts is that of the table; the checks'
    // diagnostics are sorted with all others).
    for (host, h) in &ctx.table.hosts {
        let group = h.certificate.as_deref().and_then(|s| stem_group.get(s));
        if let Some((_, hosts)) = group.and_then(|&g| groups.get_mut(g)) {
            hosts.push(host.as_str());
        }
    }
    // Each group is checked on its own, on every core; the diagnostics
    // are sorted with all others at the end of the render.
    let (snap, opts) = (ctx.snap, ctx.opts);
    let found = crate::load::parallel_map(&groups, opts.jobs, |(b, hosts)| {
        let mut own = Ctx::new(snap, opts);
        let unusable = match prepared.get(b) {
            Some(examined) => check_bundle(&mut own, b, hosts, examined),
            None => check_bundle(&mut own, b, hosts, &examine(&b.cert_pem, &b.key_pem)),
        };
        (own.diags, unusable)
    });
    // The group of each stem, to mark the bundles that cannot be used.
    let unusable_groups: Vec<bool> = found.iter().map(|(_, u)| *u).collect();
    let marked: Vec<String> = stem_group
        .iter()
        .filter(|(_, g)| unusable_groups.get(**g).copied().unwrap_or(false))
        .map(|(stem, _)| stem.to_string())
        .collect();
    drop(groups);
    for (diags, _) in found {
        ctx.diags.extend(diags);
    }
    for stem in marked {
        if let Some(b) = ctx.table.certs.get_mut(&stem) {
            b.unusable = true;
        }
    }
}

/// What the checks read of a certificate and its key: everything but the
/// hosts it is served for and the time of the render. Made from the PEM
/// bytes alone, so it can be made for every TLS Secret before the bundles
/// are known (`prepare`).
#[derive(Debug, PartialEq)]
struct Examined {
    cert: Result<CertFacts, Unparseable>,
}

/// Why `tls.crt` does not parse.
#[derive(Debug, PartialEq)]
enum Unparseable {
    /// Its first PEM block is of another label (or there is none).
    Pem(String),
    /// Its first block is not an X.509 certificate (the parser's error).
    X509(String),
}

#[derive(Debug, PartialEq)]
struct CertFacts {
    /// Whether `tls.key` is a key, and one of this certificate.
    key: KeyFit,
    /// DNS names the certificate is valid for (`names`).
    names: Vec<String>,
    not_before: ASN1Time,
    not_after: ASN1Time,
}

#[derive(Debug, PartialEq, Eq)]
enum KeyFit {
    NotAKey,
    /// The key's public part matches the certificate's, or one of the two
    /// holds nothing to compare.
    Fits,
    Mismatch,
}

/// Reads a certificate and its key as the checks need them.
fn examine(cert_pem: &[u8], key_pem: &[u8]) -> Examined {
    let cert = match first_pem(cert_pem) {
        Some(p) if p.label == "CERTIFICATE" => p,
        other => {
            let why = match other {
                Some(p) => format!("its first PEM block is {:?}, not CERTIFICATE", p.label),
                None => "it holds no PEM block".to_string(),
            };
            return Examined {
                cert: Err(Unparseable::Pem(why)),
            };
        }
    };
    let cert = match X509Certificate::from_der(&cert.contents) {
        Ok((_, c)) => c,
        Err(e) => {
            return Examined {
                cert: Err(Unparseable::X509(e.to_string())),
            };
        }
    };
    let key = match first_pem(key_pem).and_then(|p| key_material(&p)) {
        None => KeyFit::NotAKey,
        Some(KeyMaterial::Unknown) => KeyFit::Fits,
        Some(k) => {
            let c = cert_material(&cert);
            if c != KeyMaterial::Unknown && c != k {
                KeyFit::Mismatch
            } else {
                KeyFit::Fits
            }
        }
    };
    Examined {
        cert: Ok(CertFacts {
            key,
            names: names(&cert),
            not_before: cert.validity().not_before,
            not_after: cert.validity().not_after,
        }),
    }
}

/// The certificates of the input's TLS Secrets, examined ahead of the
/// checks, by the identity of their PEM bytes (shared with the bundles
/// made from them).
#[derive(Debug, Default)]
pub struct Prepared(HashMap<(usize, usize), Examined>);

impl Prepared {
    fn get(&self, b: &CertBundle) -> Option<&Examined> {
        self.0.get(&pem_identity(&b.cert_pem, &b.key_pem))
    }
}

fn pem_identity(cert: &Arc<[u8]>, key: &Arc<[u8]>) -> (usize, usize) {
    (
        Arc::as_ptr(cert).cast::<u8>() as usize,
        Arc::as_ptr(key).cast::<u8>() as usize,
    )
}

/// Examines the certificate of every TLS Secret of `snap`, in order, until
/// `enough` is set: made on a core of its own while the routes are
/// translated (which bundles are served is known only after), so that the
/// checks have only hosts and dates left to compare. What is not examined
/// by then is examined by the checks themselves.
pub fn prepare(snap: &Snapshot, enough: &AtomicBool) -> Prepared {
    let mut out = HashMap::new();
    for secret in snap.secrets.values() {
        if enough.load(Ordering::Relaxed) {
            break;
        }
        if let Ok((cert, key)) = super::tls::tls_pair(&secret.value) {
            out.entry(pem_identity(&cert, &key))
                .or_insert_with(|| examine(&cert, &key));
        }
    }
    Prepared(out)
}

/// Checks one bundle; true when it cannot be used at all (its certificate
/// does not parse, its key is none or another's).
fn check_bundle(ctx: &mut Ctx<'_>, b: &CertBundle, served: &[&str], examined: &Examined) -> bool {
    let unusable = examined
        .cert
        .as_ref()
        .map_or(true, |c| c.key != KeyFit::Fits);
    let secret = &b.secret.origin;
    let snap = ctx.snap;
    let crt_field = || secret_field(snap, b, "tls.crt");
    let key_field = || secret_field(snap, b, "tls.key");
    let related = |d: crate::model::Anchored| {
        d.related(
            "the TLS entry that serves it",
            &b.requested_by.origin,
            &b.requested_by.field,
        )
    };
    let cert = match &examined.cert {
        Ok(c) => c,
        Err(why) => {
            let message = match why {
                Unparseable::Pem(why) => format!(
                    "tls.crt of Secret {}/{} does not parse: {why}",
                    secret.namespace, secret.name
                ),
                Unparseable::X509(e) => format!(
                    "tls.crt of Secret {}/{} is not an X.509 certificate: {e}",
                    secret.namespace, secret.name
                ),
            };
            ctx.push(related(diag_at(
                Code::CertificateUnparseable,
                message,
                secret,
                &crt_field(),
            )));
            return unusable;
        }
    };
    match cert.key {
        KeyFit::NotAKey => ctx.push(related(diag_at(
            Code::CertificateUnparseable,
            format!(
                "tls.key of Secret {}/{} is not a PEM private key (PKCS#1, SEC1 or PKCS#8)",
                secret.namespace, secret.name
            ),
            secret,
            &key_field(),
        ))),
        KeyFit::Fits => {}
        KeyFit::Mismatch => ctx.push(related(diag_at(
            Code::CertificateKeyMismatch,
            format!(
                "tls.key of Secret {}/{} does not belong to its certificate; TLS handshakes will fail",
                secret.namespace, secret.name
            ),
            secret,
            &key_field(),
        ))),
    }
    let valid_for = &cert.names;
    for host in served {
        if !valid_for.iter().any(|n| covers(n, host)) {
            ctx.push(related(diag_at(
                Code::CertificateHostMismatch,
                format!(
                    "the certificate of Secret {}/{} does not cover {host} (it names {}); clients will reject it",
                    secret.namespace,
                    secret.name,
                    if valid_for.is_empty() { "no host".to_string() } else { valid_for.join(", ") }
                ),
                secret,
                &crt_field(),
            )));
        }
    }
    let Some(now) = ctx.opts.now else {
        return unusable;
    };
    let not_after = cert.not_after.timestamp();
    let not_before = cert.not_before.timestamp();
    let day = 86_400;
    if not_after < now {
        ctx.push(related(diag_at(
            Code::CertificateExpired,
            format!(
                "the certificate of Secret {}/{} expired {} days ago ({})",
                secret.namespace,
                secret.name,
                (now - not_after) / day,
                cert.not_after
            ),
            secret,
            &crt_field(),
        )));
    } else if not_after - now < i64::from(ctx.opts.expiry_warning_days) * day {
        ctx.push(related(diag_at(
            Code::CertificateExpiring,
            format!(
                "the certificate of Secret {}/{} expires in {} days ({})",
                secret.namespace,
                secret.name,
                (not_after - now) / day,
                cert.not_after
            ),
            secret,
            &crt_field(),
        )));
    }
    if not_before > now {
        ctx.push(related(diag_at(
            Code::CertificateNotYetValid,
            format!(
                "the certificate of Secret {}/{} is not valid before {}",
                secret.namespace, secret.name, cert.not_before
            ),
            secret,
            &crt_field(),
        )));
    }
    unusable
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A line a PEM text may hold, or one that breaks it.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"-----BEGIN CERTIFICATE-----".to_vec()),
            Just(b"-----BEGIN RSA PRIVATE KEY-----\r".to_vec()),
            Just(b"-----BEGIN EC-X-----".to_vec()),
            Just(b"-----BEGIN CERTIFICATE".to_vec()),
            Just(b"x-----BEGIN CERTIFICATE-----".to_vec()),
            Just(b"-----END CERTIFICATE-----".to_vec()),
            Just(b"-----END".to_vec()),
            Just(b"TUlJQmVkZ2U=".to_vec()),
            Just(b"\xff\xfe".to_vec()),
            "[A-Za-z0-9+/= \t]{0,12}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        /// `first_pem` reads what x509-parser's reader reads, and fails
        /// where it fails.
        #[test]
        fn first_pem_reads_as_x509_parser_does(
            lines in proptest::collection::vec(line(), 0..8),
            ends in proptest::collection::vec(prop_oneof![Just("\n"), Just("\r\n"), Just("")], 8),
        ) {
            let mut text = Vec::new();
            for (l, end) in lines.iter().zip(&ends) {
                text.extend_from_slice(l);
                text.extend_from_slice(end.as_bytes());
            }
            let ours = first_pem(&text).map(|p| (p.label, p.contents));
            let theirs = x509_parser::pem::parse_x509_pem(&text)
                .ok()
                .map(|(_, p)| (p.label, p.contents));
            prop_assert_eq!(ours, theirs);
        }
    }

    /// `prepare` examines every TLS Secret's pair as the checks would, and
    /// a bundle finds it by the identity of its PEM, not by equal bytes.
    /// (Readings of good certificates are compared through the render in
    /// `tests/certs.rs`.)
    #[test]
    fn prepared_certificates_are_those_of_the_bundles() {
        let shape = crate::synth::Shape {
            apps: 30,
            padding: 0,
            json: false,
            seed: 7,
        };
        let source = crate::Source::new("a.yaml", crate::synth::corpus(shape));
        let r = crate::render(&[source], &crate::Options::default());
        let tls_secrets = r
            .snapshot
            .secrets
            .values()
            .filter(|s| super::super::tls::tls_pair(&s.value).is_ok())
            .count();
        let prepared = prepare(&r.snapshot, &AtomicBool::new(false));
        assert!(tls_secrets > 2);
        assert_eq!(prepared.0.len(), tls_secrets);
        assert!(!r.table.certs.is_empty());
        for b in r.table.certs.values() {
            let got = prepared.get(b).expect("prepared");
            assert_eq!(got, &examine(&b.cert_pem, &b.key_pem));
        }
        let mut copy = r.table.certs.values().next().expect("a bundle").clone();
        copy.key_pem = Arc::from(&*copy.key_pem);
        assert!(prepared.get(&copy).is_none());
        // Told it has done enough before it starts, it examines nothing.
        assert!(prepare(&r.snapshot, &AtomicBool::new(true)).0.is_empty());
    }

    #[test]
    fn a_certificate_block_is_read() {
        let text =
            b"junk\n-----BEGIN CERTIFICATE-----\nTUlJ\nQmVk\nZ2U=\n-----END CERTIFICATE-----\n";
        let pem = first_pem(text).expect("a block");
        assert_eq!(pem.label, "CERTIFICATE");
        assert_eq!(pem.contents, b"MIIBedge");
    }
}
