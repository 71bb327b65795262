//! Certificate checks (SPEC §5) on the bundles a render projects: PEM that
//! does not parse, a key that does not match the certificate, SANs that do
//! not cover a host the certificate is served for, and validity against
//! `Options::now` (expired is an error; expiring within
//! `expiry_warning_days` a warning). Time comes in through the options, so
//! the check is as pure as the rest of translation.

use std::collections::BTreeMap;

use x509_parser::der_parser::ber::BerObject;
use x509_parser::der_parser::parse_der;
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::Ctx;
use super::tls::covers;
use crate::diag::Code;
use crate::ir::CertBundle;
use crate::model::{FieldPath, Origin, by_key, diag_at};

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

/// `stringData.<key>` when the Secret gives the key there, else `data.<key>`.
fn secret_field(ctx: &Ctx<'_>, b: &CertBundle, key: &'static str) -> FieldPath {
    let o = &b.secret.origin;
    let in_string_data = by_key(&ctx.snap.secrets, &o.namespace, &o.name)
        .and_then(|s| s.value.string_data.as_ref())
        .is_some_and(|m| m.contains_key(key));
    FieldPath::of(&[if in_string_data { "stringData" } else { "data" }]).key(key)
}

pub fn check(ctx: &mut Ctx<'_>) {
    // The hosts each stem is served for, gathered once.
    let mut served: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (host, h) in &ctx.table.hosts {
        if let Some(stem) = &h.certificate {
            served.entry(stem.as_str()).or_default().push(host.as_str());
        }
    }
    // A TLS entry of several hosts asks for one bundle per host, all of
    // the same Secret: it is checked once, against every host it serves.
    let mut groups: BTreeMap<(&Origin, &Origin, &FieldPath), (&CertBundle, Vec<&str>)> =
        BTreeMap::new();
    for b in ctx.table.certs.values() {
        let key = (
            &*b.secret.origin,
            &*b.requested_by.origin,
            &b.requested_by.field,
        );
        let hosts = &mut groups.entry(key).or_insert((b, Vec::new())).1;
        hosts.extend(served.get(b.stem.as_str()).into_iter().flatten());
    }
    // Each group is checked on its own, on every core; the diagnostics
    // are sorted with all others at the end of the render.
    let (snap, opts) = (ctx.snap, ctx.opts);
    let groups: Vec<(&CertBundle, Vec<&str>)> = groups.into_values().collect();
    let weight = |(b, _): &(&CertBundle, Vec<&str>)| b.cert_pem.len() + b.key_pem.len();
    let found = crate::load::parallel_map(&groups, opts.jobs, weight, |(b, hosts)| {
        let mut own = Ctx::new(snap, opts);
        check_bundle(&mut own, b, hosts);
        own.diags
    });
    drop(groups);
    for diags in found {
        ctx.diags.extend(diags);
    }
}

fn check_bundle(ctx: &mut Ctx<'_>, b: &CertBundle, served: &[&str]) {
    let secret = &b.secret.origin;
    let crt_field = secret_field(ctx, b, "tls.crt");
    let key_field = secret_field(ctx, b, "tls.key");
    let related = |d: crate::model::Anchored| {
        d.related(
            "the TLS entry that serves it",
            &b.requested_by.origin,
            &b.requested_by.field,
        )
    };
    let cert_pem = match x509_parser::pem::parse_x509_pem(&b.cert_pem) {
        Ok((_, p)) if p.label == "CERTIFICATE" => p,
        other => {
            let why = match other {
                Ok((_, p)) => format!("its first PEM block is {:?}, not CERTIFICATE", p.label),
                Err(_) => "it holds no PEM block".to_string(),
            };
            ctx.push(related(diag_at(
                Code::CertificateUnparseable,
                format!(
                    "tls.crt of Secret {}/{} does not parse: {why}",
                    secret.namespace, secret.name
                ),
                secret,
                &crt_field,
            )));
            return;
        }
    };
    let cert = match X509Certificate::from_der(&cert_pem.contents) {
        Ok((_, c)) => c,
        Err(e) => {
            ctx.push(related(diag_at(
                Code::CertificateUnparseable,
                format!(
                    "tls.crt of Secret {}/{} is not an X.509 certificate: {e}",
                    secret.namespace, secret.name
                ),
                secret,
                &crt_field,
            )));
            return;
        }
    };
    match x509_parser::pem::parse_x509_pem(&b.key_pem)
        .ok()
        .and_then(|(_, p)| key_material(&p))
    {
        None => ctx.push(related(diag_at(
            Code::CertificateUnparseable,
            format!(
                "tls.key of Secret {}/{} is not a PEM private key (PKCS#1, SEC1 or PKCS#8)",
                secret.namespace, secret.name
            ),
            secret,
            &key_field,
        ))),
        Some(KeyMaterial::Unknown) => {}
        Some(k) => {
            let c = cert_material(&cert);
            if c != KeyMaterial::Unknown && c != k {
                ctx.push(related(diag_at(
                    Code::CertificateKeyMismatch,
                    format!(
                        "tls.key of Secret {}/{} does not belong to its certificate; TLS handshakes will fail",
                        secret.namespace, secret.name
                    ),
                    secret,
                    &key_field,
                )));
            }
        }
    }
    let valid_for = names(&cert);
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
                &crt_field,
            )));
        }
    }
    let Some(now) = ctx.opts.now else { return };
    let not_after = cert.validity().not_after.timestamp();
    let not_before = cert.validity().not_before.timestamp();
    let day = 86_400;
    if not_after < now {
        ctx.push(related(diag_at(
            Code::CertificateExpired,
            format!(
                "the certificate of Secret {}/{} expired {} days ago ({})",
                secret.namespace,
                secret.name,
                (now - not_after) / day,
                cert.validity().not_after
            ),
            secret,
            &crt_field,
        )));
    } else if not_after - now < i64::from(ctx.opts.expiry_warning_days) * day {
        ctx.push(related(diag_at(
            Code::CertificateExpiring,
            format!(
                "the certificate of Secret {}/{} expires in {} days ({})",
                secret.namespace,
                secret.name,
                (not_after - now) / day,
                cert.validity().not_after
            ),
            secret,
            &crt_field,
        )));
    }
    if not_before > now {
        ctx.push(related(diag_at(
            Code::CertificateNotYetValid,
            format!(
                "the certificate of Secret {}/{} is not valid before {}",
                secret.namespace,
                secret.name,
                cert.validity().not_before
            ),
            secret,
            &crt_field,
        )));
    }
}
