//! Emitters: RouteTable → bytes. `upstreams` writes Synapse's routing file,
//! `certs` the per-stem certificate and key files. No disk access here: the
//! shell decides where and how bytes are written.

pub mod certs;
pub mod upstreams;
