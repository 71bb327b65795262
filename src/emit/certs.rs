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
            let Some(b) = h.certificate.as_ref().and_then(|s| table.certs.get(s)) else {
                continue;
            };
            let stem = super::pingress::key_file_stem(host);
            insert_pair(&mut files, &stem, "cert", b);
        }
        return files;
    }
    for (stem, b) in &table.certs {
        insert_pair(&mut files, stem, "crt", b);
    }
    files
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
