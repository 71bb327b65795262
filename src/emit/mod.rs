//! Emitters: RouteTable → bytes, one per routing-file format: `upstreams`
//! writes v1 (streamed straight from the table), `v02` the public 0.2
//! release's file, `v2` the v2 file, `pingress` Pingress's `proxy.json`;
//! `certs` the certificate and key files. Each emitter reports what its format cannot say. No disk
//! access here: the shell decides where and how bytes are written.

pub mod certs;
pub mod json_schema;
pub mod pingress;
pub mod schema;
pub mod upstreams;
pub mod v02;
pub mod v2;

use crate::ir::RouteTable;
use crate::model::Anchored;
use crate::target::Target;

/// The bytes of a file built whole: the header comment, then its YAML.
pub fn serialized<T: serde::Serialize>(file: &T) -> Vec<u8> {
    let mut out = upstreams::HEADER.as_bytes().to_vec();
    // Plain structs of strings, bools, numbers and maps cannot fail to
    // serialise; should one, the file still says so instead of being empty.
    match serde_yaml::to_string(file) {
        Ok(s) => out.extend_from_slice(s.as_bytes()),
        Err(e) => out.extend_from_slice(format!("# serialisation failed: {e}\n").as_bytes()),
    }
    out
}

/// The file of `table` for the formats built whole (0.2, v2, Pingress,
/// whose TLS files are named in `keys_dir`), with what they could not
/// say. v1 is written from the table when it is written
/// (`upstreams::write`), never held: None.
pub fn lower(table: &RouteTable, keys_dir: &str) -> (Option<Vec<u8>>, Vec<Anchored>) {
    match table.target {
        Target::V1 => (None, Vec::new()),
        Target::V02 => {
            let (file, diags) = v02::build(table);
            (Some(serialized(&file)), diags)
        }
        Target::V2 => {
            let (file, diags) = v2::build(table);
            (Some(serialized(&file)), diags)
        }
        Target::Pingress => {
            let (file, diags) = pingress::build(table, keys_dir);
            (Some(pingress::serialized(&file)), diags)
        }
    }
}
