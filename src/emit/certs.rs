//! RouteTable certs → the files of `--certs-out`: `<stem>.crt` (mode 0644)
//! and `<stem>.key` (mode 0600), by file name, sorted; for Pingress,
//! `<host>.cert` and `<host>.key` of each host with a certificate, the
//! files its rules name (`pingress::key_file_stem`).
//!
//! Bytes only: the shell writes them, with the modes it is given here.

use std::collections::BTreeMap;

use crate::ir::{CertBundle, RouteTable};

/// One file to place in the certs folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFile {
    pub bytes: std::sync::Arc<[u8]>,
    /// Private keys are written with mode 0600.
    pub private: bool,
}

/// The name of the file that records what synroute wrote in the folder.
pub const OWNED_LIST: &str = ".synroute-owned";

pub fn emit(table: &RouteTable) -> BTreeMap<String, CertFile> {
    let mut files = BTreeMap::new();
    if table.target == crate::target::Target::Pingress {
        for (host, h) in &table.hosts {
            // The files proxy.json names, and no other (see pingress::build).
            let Some(b) = super::pingress::served_bundle(table, host, h) else {
                continue;
            };
            if b.in_cluster {
                continue;
            }
            let stem = super::pingress::key_file_stem(host);
            insert_pair(&mut files, &stem, "cert", b);
        }
        return files;
    }
    // A Secret read from the cluster (`--emit`) has no bytes here.
    for (stem, b) in table.certs.iter().filter(|(_, b)| !b.in_cluster) {
        insert_pair(&mut files, stem, "crt", b);
    }
    files
}

/// Where each file `emit` writes comes from — (file name, the Secret's
/// namespace and name, its key `tls.crt` or `tls.key`) in file-name order —
/// for a projected volume that lays the same files out from the Secrets
/// in the cluster. Secrets read from the cluster (`in_cluster`) are in it.
pub fn sources(table: &RouteTable) -> Vec<(String, (String, String), &'static str)> {
    let secret = |b: &CertBundle| {
        (
            b.secret.origin.namespace.clone(),
            b.secret.origin.name.clone(),
        )
    };
    let mut out = Vec::new();
    let mut pair = |stem: &str, cert: &str, b: &CertBundle| {
        out.push((format!("{stem}.{cert}"), secret(b), "tls.crt"));
        out.push((format!("{stem}.key"), secret(b), "tls.key"));
    };
    if table.target == crate::target::Target::Pingress {
        for (host, h) in &table.hosts {
            if let Some(b) = super::pingress::served_bundle(table, host, h) {
                pair(&super::pingress::key_file_stem(host), "cert", b);
            }
        }
    } else {
        for (stem, b) in &table.certs {
            pair(stem, "crt", b);
        }
    }
    out.sort();
    out
}

/// `<stem>.<cert>` (public) and `<stem>.key` (private) of a bundle.
fn insert_pair(files: &mut BTreeMap<String, CertFile>, stem: &str, cert: &str, b: &CertBundle) {
    files.insert(
        format!("{stem}.{cert}"),
        CertFile {
            bytes: b.cert_pem.clone(),
            private: false,
        },
    );
    files.insert(
        format!("{stem}.key"),
        CertFile {
            bytes: b.key_pem.clone(),
            private: true,
        },
    );
}
