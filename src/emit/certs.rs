//! RouteTable certs → the files of `--certs-out`: `<stem>.crt` (mode 0644)
//! and `<stem>.key` (mode 0600), by file name, sorted.
//!
//! Bytes only: the shell writes them, with the modes it is given here.

use std::collections::BTreeMap;

use crate::ir::RouteTable;

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
    for (stem, b) in &table.certs {
        files.insert(
            format!("{stem}.crt"),
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
    files
}
