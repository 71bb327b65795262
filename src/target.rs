//! Which proxy reads the file: the three routing-file formats of Synapse
//! (`../shared/SYNAPSE-FORMATS.md`) and Pingress's `proxy.json` (seed
//! 003), and what each can say.
//!
//! The translator asks the target whether a meaning can be carried (an
//! exact path, a method match, a wildcard host, a redirect…) and reports
//! right there what cannot; each emitter in `emit/` then writes the table
//! in its target's schema. Nothing here reads manifests or writes bytes.

use std::fmt;

/// A Synapse routing-file format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Synapse 0.8.x, the file the Go operator writes: `internal_paths`,
    /// `upstreams`, weighted `{address, weight}` servers. The default.
    #[default]
    V1,
    /// The public Synapse release 0.2.x: `arxignis_paths`, servers as
    /// strings only, one `headers` list, no timeouts.
    V02,
    /// Synapse newer than 0.8.7: `version: 2`, `hosts` with `tls`,
    /// expression routes, wildcard hosts, redirects, header transforms,
    /// passthrough. Strict: an unknown key refuses the whole file.
    V2,
    /// The Pingress proxy's `proxy.json`: Ingresses of class `pingress`
    /// as rules of host, Prefix or Exact path, one Service backend and
    /// the TLS files of the host. Wildcard hosts; no annotations, no
    /// Gateway API, no weights.
    Pingress,
}

impl Target {
    pub const ALL: [Target; 4] = [Target::V1, Target::V02, Target::V2, Target::Pingress];
    /// The formats of Synapse's routing file.
    pub const SYNAPSE: [Target; 3] = [Target::V1, Target::V02, Target::V2];

    /// The spelling of `--target`.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::V1 => "v1",
            Target::V02 => "0.2",
            Target::V2 => "v2",
            Target::Pingress => "pingress",
        }
    }

    pub fn parse(s: &str) -> Option<Target> {
        match s {
            "v1" | "1" => Some(Target::V1),
            "0.2" | "v0.2" => Some(Target::V02),
            "v2" | "2" => Some(Target::V2),
            "pingress" => Some(Target::Pingress),
            _ => None,
        }
    }

    /// Routes by expressions (exact and regex paths, methods, order), and
    /// the rest of what v2 adds: wildcard hosts, static redirects, header
    /// add/remove, passthrough hosts. v1 and 0.2 route by host and path
    /// prefix alone.
    pub fn v2(self) -> bool {
        self == Target::V2
    }

    /// Exact paths said as exact (v2's expressions, Pingress's `Exact`).
    pub fn exact_paths(self) -> bool {
        matches!(self, Target::V2 | Target::Pingress)
    }

    /// Hosts by `*.suffix`.
    pub fn wildcard_hosts(self) -> bool {
        matches!(self, Target::V2 | Target::Pingress)
    }

    /// No list of paths answered on every host: ACME solvers are routes
    /// of the hosts that serve their names.
    pub fn solvers_on_hosts(self) -> bool {
        matches!(self, Target::V2 | Target::Pingress)
    }

    /// Names a backend by its Service, namespace and port, not by address.
    pub fn names_services(self) -> bool {
        self == Target::Pingress
    }

    /// Reads Gateway API routes (Pingress reads Ingresses alone).
    pub fn gateway_api(self) -> bool {
        self != Target::Pingress
    }

    /// Per-object settings from annotations (Pingress reads none).
    pub fn annotations(self) -> bool {
        self != Target::Pingress
    }

    /// The Ingress class rendered when `--ingress-class` is not given.
    pub fn default_ingress_class(self) -> &'static str {
        match self {
            Target::Pingress => "pingress",
            _ => "synapse",
        }
    }

    /// The proxy that reads the file, for messages.
    pub fn proxy(self) -> &'static str {
        match self {
            Target::Pingress => "Pingress",
            _ => "Synapse",
        }
    }

    /// The file's usual name.
    /// What the proxy answers a request no route takes: 0.2.4 was seen
    /// to answer 502, for an unknown host and for a path no key covers;
    /// Pingress 500.
    pub fn no_route_status(self) -> u16 {
        match self {
            Target::V02 => 502,
            // The Pingress proxy was seen answering 500.
            Target::Pingress => 500,
            _ => 404,
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Target::Pingress => "proxy.json",
            _ => "upstreams.yaml",
        }
    }

    /// The name users know the target by, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Target::V1 => "target v1 (Synapse 0.8)",
            Target::V02 => "target 0.2 (the public Synapse 0.2 release)",
            Target::V2 => "target v2",
            Target::Pingress => "target pingress (Pingress proxy.json)",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for t in Target::ALL {
            assert_eq!(Target::parse(t.as_str()), Some(t));
        }
        assert_eq!(Target::parse("v3"), None);
        assert_eq!(Target::default(), Target::V1);
    }
}
