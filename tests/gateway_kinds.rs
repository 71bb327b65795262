//! No Gateway API kind can reach a Synapse Gateway and be left unsaid.
//!
//! The kinds are those of the CRDs gateway-api (the crate synroute reads
//! the Gateway API with) knows, standard and experimental channels, read
//! from its sources through `cargo metadata`: a new kind in a new release
//! is covered by this test without a word here. Each kind that attaches by
//! `parentRefs` is attached to a Gateway of ours (HTTPS, TLS passthrough,
//! TCP and UDP listeners); each that targets by `targetRefs` targets the
//! Service our route uses. Under every Synapse target the object must be
//! rendered (an entry of the table comes from it) or named by a warning or
//! error (as its object, or as the related object of one); under Pingress,
//! which reads no Gateway API, the Gateway's SR1608 says it for all.

mod common;

use synroute::diag::Severity;
use synroute::target::Target;
use synroute::{Options, Source, render};

/// (group, version, kind, attaches by parentRefs, targets by targetRefs)
/// of every CRD in the gateway-api crate.
fn kinds() -> Vec<(String, String, String, bool, bool)> {
    let apis = common::package_dir("gateway-api").join("src").join("apis");
    let mut out: Vec<(String, String, String, bool, bool)> = Vec::new();
    for channel in ["standard", "experimental"] {
        for entry in std::fs::read_dir(apis.join(channel)).expect("apis folder") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
            let attr = |key: &str| {
                let at = text.find(&format!("{key} = \""))? + key.len() + 4;
                let rest = text.get(at..)?;
                Some(rest.get(..rest.find('"')?)?.to_string())
            };
            let (Some(group), Some(version), Some(kind)) =
                (attr("group"), attr("version"), attr("kind"))
            else {
                continue;
            };
            let parents = text.contains("pub parent_refs:");
            let targets = text.contains("pub target_refs:") || text.contains("pub target_ref:");
            if !out.iter().any(|(_, _, k, ..)| *k == kind) {
                out.push((group, version, kind, parents, targets));
            }
        }
    }
    out.sort();
    out
}

const BASE: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: synapse}
spec: {controllerName: gen0sec.com/synapse}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: kinds}
spec:
  gatewayClassName: synapse
  listeners:
  - {name: https, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: edge-tls}]}}
  - {name: tls, protocol: TLS, port: 8443, tls: {mode: Passthrough}}
  - {name: tcp, protocol: TCP, port: 5432}
  - {name: udp, protocol: UDP, port: 53}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: kinds}
spec:
  parentRefs: [{name: edge, sectionName: https}]
  hostnames: [web.example.com]
  rules:
  - backendRefs: [{name: web, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: kinds}
spec: {ports: [{port: 80}]}
";

/// One object of `kind`, attached to our Gateway or targeting our Service.
fn object(group: &str, version: &str, kind: &str, parents: bool) -> String {
    let name = format!("probe-{}", kind.to_ascii_lowercase());
    let host = format!("{}.example.com", kind.to_ascii_lowercase());
    let spec = if parents {
        format!(
            "  parentRefs: [{{name: edge}}]\n  hostnames: [{host}]\n  rules:\n  - backendRefs: [{{name: web, port: 80}}]\n"
        )
    } else {
        "  targetRefs: [{group: \"\", kind: Service, name: web}]\n  validation: {hostname: web.example.com, wellKnownCACertificates: System}\n".to_string()
    };
    format!(
        "---\napiVersion: {group}/{version}\nkind: {kind}\nmetadata: {{name: {name}, namespace: kinds}}\nspec:\n{spec}"
    )
}

#[test]
fn no_gateway_api_kind_reaches_our_gateway_unsaid() {
    let kinds = kinds();
    // The crate knows the kinds the issue names at least.
    for k in ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"] {
        assert!(
            kinds.iter().any(|(_, _, kind, ..)| kind == k),
            "{k}: {kinds:?}"
        );
    }
    let mut checked = Vec::new();
    let mut unsaid = Vec::new();
    for (group, version, kind, parents, targets) in &kinds {
        if !parents && !targets {
            continue;
        }
        checked.push(kind.clone());
        let text = format!("{BASE}{}", object(group, version, kind, *parents));
        let sources = [Source::new("kinds.yaml", text)];
        let name = format!("probe-{}", kind.to_ascii_lowercase());
        for target in Target::ALL {
            let opts = Options {
                target,
                ..Options::default()
            };
            let r = render(&sources, &opts);
            assert!(!r.malformed, "{kind} {target}: {:?}", r.diagnostics);
            let is_it = |k: &str, n: &str| k == kind && n == name;
            let rendered = r.table.hosts.values().any(|h| {
                h.paths
                    .values()
                    .chain(h.routes().map(|(_, e)| e))
                    .map(|e| &e.provenance.origin)
                    .chain(h.passthrough().map(|p| &p.provenance.origin))
                    .any(|o| is_it(o.kind.as_str(), &o.name))
            });
            let named = r.diagnostics.iter().any(|d| {
                d.severity >= Severity::Warning
                    && (d.object.as_ref().is_some_and(|o| is_it(&o.kind, &o.name))
                        || d.related
                            .iter()
                            .any(|x| x.object.as_ref().is_some_and(|o| is_it(&o.kind, &o.name))))
            });
            // Pingress reads no Gateway API: the Gateway's SR1608 says that
            // it and all that attaches to it are left to a Synapse target.
            let left = target == Target::Pingress
                && r.diagnostics.iter().any(|d| {
                    d.code == synroute::diag::Code::GatewayApiNotInTarget
                        && d.object
                            .as_ref()
                            .is_some_and(|o| o.kind == "Gateway" && o.name == "edge")
                });
            if !rendered && !named && !left {
                unsaid.push(format!("{kind} ({group}/{version}) under {target}"));
            }
        }
    }
    eprintln!("kinds checked: {checked:?}");
    assert!(checked.len() >= 7, "{checked:?}");
    assert!(
        unsaid.is_empty(),
        "rendered nowhere and said by nothing:\n{}",
        unsaid.join("\n")
    );
}
