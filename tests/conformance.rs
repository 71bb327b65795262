//! Replays the Gateway API conformance suite's request cases
//! (`../shared/corpus/gateway-api/cases.json`) through synroute and the
//! Synapse lookup.
//!
//! Each test's manifests are rendered with the base manifests, the
//! `{GATEWAY_CLASS_NAME}` placeholder set to a GatewayClass of ours,
//! `--gateway` from the case's `gateways`, and `--catch-all-host` standing
//! for the Gateway's address (requests without a Host). Every request is
//! then classified:
//! - pass: Synapse would answer as the suite expects;
//! - inexpressible: it would not, and synroute reported why (a warning or
//!   error about the route that answered, or about the test's own objects
//!   when nothing answered);
//! - fail: a wrong or missing backend and no diagnostic. Any fail fails.
//!
//! Cases of the service-mesh profile are out of scope and counted as such.
//!
//! The suite's GRPCRoute tests send gRPC calls, which `cases.json` does not
//! hold: their calls (service, method, authority) and the backend each
//! expects are in `GRPC_CASES`, read from the suite's Go tests, and are
//! replayed the same way (`grpc_conformance_cases`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use synroute::diag::Severity;
use synroute::route::{Probe, Request, lookup_request};
use synroute::target::Target;
use synroute::{Options, Rendered, Source, render};

const CLASS: &str = "synapse-conformance";
const CATCH_ALL: &str = "gateway.conformance.invalid";

/// TLS Secrets the suite creates in Go at setup; stand-ins let listener
/// certificateRefs resolve offline.
fn stand_in_secrets() -> String {
    let pem =
        |kind: &str| format!("-----BEGIN {kind}-----\\nc3RhbmQtaW4=\\n-----END {kind}-----\\n");
    let mut out = String::new();
    for (ns, name) in [
        ("gateway-conformance-web-backend", "certificate"),
        (
            "gateway-conformance-infra",
            "tls-validity-checks-certificate",
        ),
        ("gateway-conformance-infra", "tls-checks-certificate"),
        (
            "gateway-conformance-infra",
            "tls-passthrough-checks-certificate",
        ),
        (
            "gateway-conformance-app-backend",
            "tls-passthrough-checks-certificate",
        ),
        (
            "gateway-conformance-infra",
            "tls-terminate-checks-certificate",
        ),
    ] {
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: \"{}\"\n  tls.key: \"{}\"\n",
            pem("CERTIFICATE"),
            pem("PRIVATE KEY")
        ));
    }
    out
}

fn class_manifest() -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: {CLASS}}}\nspec:\n  controllerName: gen0sec.com/synapse\n"
    )
}

fn load_manifest(dir: &Path, name: &str) -> Source {
    let path = dir.join("manifests").join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = text
        .replace("{GATEWAY_CLASS_NAME}", CLASS)
        .replace("{GATEWAY_CONTROLLER_NAME}", "gen0sec.com/synapse");
    Source::new(format!("manifests/{name}"), text)
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Verdict {
    Pass,
    Inexpressible,
    Fail,
}

/// (service, namespace) of a rendered server address.
fn service_of(address: &str) -> (String, String) {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let mut parts = host.split('.');
    (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    )
}

fn statuses(v: &Value) -> Vec<i64> {
    match v {
        Value::Number(n) => n.as_i64().into_iter().collect(),
        Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
        _ => vec![200],
    }
}

/// (namespace, Service) → the `app` label its selector picks (the suite's
/// pods are named after it), or None for a Service without a selector,
/// backed by manual EndpointSlices whose pods the harness cannot name.
type PodsOf = BTreeMap<(String, String), Option<String>>;

/// One render per (manifests, gateways), with its Services' pods.
type Renders = BTreeMap<(Vec<String>, Vec<String>), (Rendered, PodsOf)>;

/// The request a case sends: its path and method.
fn probe(case: &Value, path: &str) -> Probe {
    Probe {
        path: path.to_string(),
        method: case["request"]["method"]
            .as_str()
            .filter(|m| !m.is_empty())
            .unwrap_or("GET")
            .to_string(),
    }
}

/// Whether a static redirect `location` (`scheme://host[:port]path`) with
/// `status` is the one the case expects for a request to `host` + `path`.
fn redirect_matches(
    case: &Value,
    want: &[i64],
    status: u16,
    location: &str,
    host: &str,
    path: &str,
) -> bool {
    let redirect = &case["expect"]["redirect"];
    let field = |k: &str| redirect[k].as_str().filter(|v| !v.is_empty());
    let https_request = case["tls"].as_bool() == Some(true);
    let scheme = field("Scheme").unwrap_or(if https_request { "https" } else { "http" });
    let Some((got_scheme, rest)) = location.split_once("://") else {
        return false;
    };
    let (authority, got_path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (got_host, got_port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let default_port = if scheme == "https" { "443" } else { "80" };
    let want_port = field("Port").filter(|p| *p != default_port);
    want.contains(&i64::from(status))
        && got_scheme == scheme
        && got_host == field("Host").unwrap_or(host)
        && got_port == want_port
        && got_path == field("Path").unwrap_or(path)
}

fn pods_of_services(sources: &[Source]) -> PodsOf {
    let mut out = BTreeMap::new();
    for s in sources {
        let text = String::from_utf8_lossy(&s.content);
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let Ok(v) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) else {
                continue;
            };
            if v["kind"].as_str() == Some("Service") {
                let ns = v["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string();
                let name = v["metadata"]["name"].as_str().unwrap_or("").to_string();
                let selector = &v["spec"]["selector"];
                let app = if selector.is_null() {
                    None
                } else {
                    Some(
                        selector["app"]
                            .as_str()
                            .map_or_else(|| name.clone(), str::to_string),
                    )
                };
                out.insert((ns, name), app);
            }
        }
    }
    out
}

/// The headers of a case's request (or of what the echo backend sets).
fn header_map(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect()
}

/// The value of header `name` (case-insensitive) once a route's modifiers
/// act on `original`: `set` replaces, `remove` removes, `add` appends (the
/// values joined by commas, as one header); None when absent.
fn header_after(
    original: &[(String, String)],
    set: &[String],
    add: &[String],
    remove: &[String],
    name: &str,
) -> Option<String> {
    let named = |list: &[String]| -> Vec<String> {
        list.iter()
            .filter_map(|e| e.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .collect()
    };
    let mut values: Vec<String> = original
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect();
    let set = named(set);
    if !set.is_empty() {
        values = set;
    }
    if remove.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        values.clear();
    }
    values.extend(named(add));
    (!values.is_empty()).then(|| values.join(","))
}

/// Why the answer differs from the expectation, or None when it matches.
fn mismatch(r: &Rendered, pods: &PodsOf, case: &Value, host: &str, path: &str) -> Option<String> {
    let expect = &case["expect"];
    let want = statuses(&expect["status"]);
    let m = lookup_request(&r.table, host, &probe(case, path));
    if want.contains(&404) {
        return m.map(|m| {
            format!(
                "expected 404, Synapse answers from {} {} ({} {:?})",
                host,
                m.key,
                m.entry.provenance.origin.describe(),
                m.table
            )
        });
    }
    let Some(m) = m else {
        return Some(format!(
            "expected {want:?}, Synapse answers 404 (no entry for {host}{path})"
        ));
    };
    if let Some(to) = &m.entry.settings.redirect {
        if redirect_matches(case, &want, to.status, &to.location, host, path) {
            return None;
        }
        return Some(format!(
            "expected {want:?} {}, Synapse redirects {} to {}",
            expect["redirect"], to.status, to.location
        ));
    }
    if want.iter().any(|s| (300..400).contains(s)) {
        let redirect = &expect["redirect"];
        let only_scheme = redirect["Scheme"].as_str() == Some("https")
            && redirect["Host"]
                .as_str()
                .is_none_or(|h| h.is_empty() || h == host)
            && redirect["Path"]
                .as_str()
                .is_none_or(|p| p.is_empty() || p == path)
            && redirect["Port"].as_str().is_none_or(|p| p.is_empty());
        if only_scheme && m.entry.settings.https_proxy_enabled == Some(true) {
            return None;
        }
        return Some(format!("expected a {want:?} redirect {redirect}"));
    }
    if !want.contains(&200) {
        return Some(format!(
            "expected status {want:?}, Synapse proxies to a backend"
        ));
    }
    let live: Vec<_> = m
        .entry
        .servers
        .iter()
        .filter(|s| s.weight != Some(0))
        .collect();
    if let Some(weights) = expect["weights"].as_object() {
        let total: u32 = live.iter().map(|s| s.weight.unwrap_or(1)).sum();
        for (backend, share) in weights {
            let got: u32 = live
                .iter()
                .filter(|s| service_of(&s.address).0 == *backend)
                .map(|s| s.weight.unwrap_or(1))
                .sum();
            let got = f64::from(got) / f64::from(total.max(1));
            if (got - share.as_f64().unwrap_or(0.0)).abs() > 0.01 {
                return Some(format!("weights differ for {backend}: {got} vs {share}"));
            }
        }
    } else {
        for s in &live {
            let (svc, ns) = service_of(&s.address);
            if let Some(want_ns) = expect["namespace"].as_str()
                && ns != want_ns
            {
                return Some(format!("expected namespace {want_ns}, got {}", s.address));
            }
            let pod = match pods.get(&(ns.clone(), svc.clone())) {
                Some(None) => None,
                Some(Some(app)) => Some(app.clone()),
                None => Some(svc.clone()),
            };
            if let (Some(b), Some(pod)) = (expect["backend"].as_str(), pod)
                && !pod.starts_with(b)
            {
                return Some(format!("expected backend {b}, got {}", s.address));
            }
        }
    }
    let rewrite = &expect["rewrite"];
    if let Some(p) = rewrite["Path"].as_str()
        && p != path
        && !p.is_empty()
    {
        return Some(format!("expected the backend to see path {p}"));
    }
    if let Some(h) = rewrite["Host"].as_str()
        && !h.is_empty()
        && h != host
    {
        return Some(format!("expected the backend to see host {h}"));
    }
    let settings = &m.entry.settings;
    let transforms = settings.transforms.as_deref().cloned().unwrap_or_default();
    let request_in = header_map(&case["request"]["headers"]);
    let request = |name: &str| {
        header_after(
            &request_in,
            &settings.request_headers,
            &transforms.request_add,
            &transforms.request_remove,
            name,
        )
    };
    for (name, v) in rewrite["Headers"].as_object().into_iter().flatten() {
        let value = v.as_str().unwrap_or("");
        let got = request(name);
        if got.as_deref() != Some(value) {
            return Some(format!(
                "expected request header {name}: {value}, the backend sees {got:?}"
            ));
        }
    }
    for name in rewrite["AbsentHeaders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if request(name).is_some() {
            return Some(format!("expected request header {name} to be removed"));
        }
    }
    let response_in = header_map(&expect["backend_set_response_headers"]);
    let response = |name: &str| {
        header_after(
            &response_in,
            &settings.response_headers,
            &transforms.response_add,
            &transforms.response_remove,
            name,
        )
    };
    for (name, v) in expect["response_headers"].as_object().into_iter().flatten() {
        let value = v.as_str().unwrap_or("");
        if response(name).as_deref() != Some(value) {
            return Some(format!(
                "expected response header {name}: {value}, the client sees {:?}",
                response(name)
            ));
        }
    }
    for name in expect["absent_response_headers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if response(name).is_some() {
            return Some(format!("expected response header {name} to be removed"));
        }
    }
    if expect["mirrored_to"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        return Some("expected the request to be mirrored".to_string());
    }
    None
}

/// Why a TLS connection for `sni` does not reach the expected backend, or
/// None when it does (v2's passthrough hosts).
fn mismatch_tls(r: &Rendered, pods: &PodsOf, case: &Value, sni: &str) -> Option<String> {
    let Some((host, p)) = synroute::route::sni(&r.table, sni) else {
        return Some(format!(
            "Synapse passes no TLS connection for {sni} through"
        ));
    };
    let (svc, ns) = service_of(&p.upstream);
    let pod = match pods.get(&(ns.clone(), svc.clone())) {
        Some(Some(app)) => app.clone(),
        _ => svc.clone(),
    };
    match case["expect"]["backend"].as_str() {
        Some(b) if !pod.starts_with(b) => Some(format!(
            "expected backend {b}, {host} passes {sni} to {}",
            p.upstream
        )),
        _ => None,
    }
}

/// A warning or error about an object of the test's own files.
fn said_about_test_files(r: &Rendered, test_files: &BTreeSet<String>) -> bool {
    r.diagnostics.iter().any(|d| {
        d.severity >= Severity::Warning
            && d.location
                .as_ref()
                .is_some_and(|l| test_files.contains(&l.file))
            && d.object.as_ref().is_some_and(|o| o.kind != "Service")
    })
}

/// Whether synroute said why: a warning or error about the route that
/// answered, or (nothing answered) about an object of the test's own files.
fn explained(r: &Rendered, test_files: &BTreeSet<String>, host: &str, req: &Probe) -> bool {
    let serious = |d: &&synroute::diag::Diagnostic| d.severity >= Severity::Warning;
    if let Some(m) = lookup_request(&r.table, host, req) {
        // A diagnostic about the answering route counts when it is about
        // the rule that answered, or about the route as a whole.
        let o = &m.entry.provenance.origin;
        let who = o.object_ref();
        let field = m.entry.provenance.field.to_string();
        let rule = field
            .find(".matches")
            .map_or(field.as_str(), |i| &field[..i])
            .to_string();
        let about = |object: Option<&synroute::diag::ObjectRef>, field: Option<&str>| {
            object == Some(&who)
                && field.is_none_or(|f| f.starts_with(&rule) || !f.starts_with("spec.rules"))
        };
        // Either side of a conflict or a fall-through names the answering
        // entry in its related locations.
        return r.diagnostics.iter().filter(serious).any(|d| {
            about(d.object.as_ref(), d.field.as_deref())
                || d.related
                    .iter()
                    .any(|x| about(x.object.as_ref(), x.field.as_deref()))
        });
    }
    r.diagnostics.iter().filter(serious).any(|d| {
        d.location
            .as_ref()
            .is_some_and(|l| test_files.contains(&l.file))
            && d.object.as_ref().is_some_and(|o| o.kind != "Service")
    })
}

/// The suite's folder, cases.json, the base manifests, and our
/// GatewayClass with the stand-in Secrets.
fn suite() -> Option<(PathBuf, Value, Source, Source)> {
    let dir = common::corpus_root()?.join("gateway-api");
    let cases =
        serde_json::from_str(&fs::read_to_string(dir.join("cases.json")).expect("cases.json"))
            .expect("json");
    let base = load_manifest(&dir, "base-manifests.yaml");
    let extra = Source::new(
        "synroute-stand-ins.yaml",
        class_manifest() + &stand_in_secrets(),
    );
    Some((dir, cases, base, extra))
}

/// What one target made of the in-scope cases.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<Verdict, usize>,
    /// Cases that expect the request to reach a backend (200) or a
    /// redirect (3xx), and of those, how many pass.
    positive: usize,
    positive_pass: usize,
    out_of_scope: usize,
    failures: Vec<String>,
    inexpressible: BTreeMap<String, usize>,
}

impl Tally {
    fn n(&self, v: Verdict) -> usize {
        self.counts.get(&v).copied().unwrap_or(0)
    }
}

/// Replays every case of the suite against renders for `target`.
fn replay(target: Target) -> Option<Tally> {
    let (dir, cases, base, extra) = suite()?;
    let mut tally = Tally::default();
    // A test that changes the cluster between requests (deletes a
    // ReferenceGrant, say) sends the same request twice expecting different
    // answers; a static render can only be held to the first.
    let mut first_seen: BTreeMap<String, String> = BTreeMap::new();
    let mut renders: Renders = BTreeMap::new();
    for case in cases["cases"].as_array().expect("cases") {
        let features: Vec<&str> = case["features"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let in_scope = case["mesh"].as_bool() != Some(true)
            && case["unresolved"].as_bool() != Some(true)
            && case["expect_failure"].is_null()
            // 421 Misdirected Request is TLS connection semantics (SNI vs
            // Host), not routing: Synapse has no such check to configure.
            && !statuses(&case["expect"]["status"]).contains(&421)
            && (features.contains(&"HTTPRoute")
                || features.contains(&"ListenerSet")
                || features.contains(&"TLSRoute"))
            // gRPC calls are replayed from GRPC_CASES.
            && !features.iter().any(|f| f.contains("GRPC"));
        // A TLS connection passed through by SNI, not an HTTP request.
        let tls_case = features.contains(&"TLSRoute") && !features.contains(&"HTTPRoute");
        let request_key = format!(
            "{} {} {} {} {}",
            case["test"], case["request"], case["gateway"], case["sni"], case["port"]
        );
        let expected = case["expect"]["status"].to_string();
        let repeated = first_seen.get(&request_key).is_some_and(|e| e != &expected);
        first_seen.entry(request_key).or_insert(expected);
        if !in_scope || repeated {
            tally.out_of_scope += 1;
            continue;
        }
        let manifests: Vec<String> = case["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let gateways: Vec<String> = case["gateways"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let (r, pods) = renders
            .entry((manifests.clone(), gateways.clone()))
            .or_insert_with(|| {
                let mut sources = vec![base.clone(), extra.clone()];
                for m in &manifests {
                    sources.push(load_manifest(&dir, m));
                }
                let opts = Options {
                    catch_all_host: Some(CATCH_ALL.to_string()),
                    gateways: gateways
                        .iter()
                        .filter_map(|g| {
                            g.split_once('/')
                                .map(|(a, b)| (a.to_string(), b.to_string()))
                        })
                        .collect(),
                    target,
                    ..Options::default()
                };
                (render(&sources, &opts), pods_of_services(&sources))
            });
        let host = case["request"]["host"].as_str().unwrap_or(CATCH_ALL);
        let host = host
            .rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        let raw_path = case["request"]["path"].as_str().unwrap_or("/");
        let Some(req) = Request::parse(&format!("http://{host}{raw_path}")) else {
            tally
                .failures
                .push(format!("{}: cannot parse the request", case["id"]));
            continue;
        };
        let positive = statuses(&case["expect"]["status"])
            .iter()
            .any(|s| *s == 200 || (300..400).contains(s));
        tally.positive += usize::from(positive);
        let test_files: BTreeSet<String> =
            manifests.iter().map(|m| format!("manifests/{m}")).collect();
        let answer = if tls_case {
            let name = case["sni"].as_str().unwrap_or(&req.host);
            mismatch_tls(r, pods, case, name)
        } else {
            mismatch(r, pods, case, &req.host, &req.path)
        };
        let verdict = match answer {
            None => {
                tally.positive_pass += usize::from(positive);
                Verdict::Pass
            }
            Some(why) => {
                let said = if tls_case {
                    said_about_test_files(r, &test_files)
                } else {
                    explained(r, &test_files, &req.host, &probe(case, &req.path))
                };
                if said {
                    if std::env::var_os("SYNROUTE_CONFORMANCE_VERBOSE").is_some() {
                        eprintln!("{target} inexpressible {}: {why}", case["id"]);
                    }
                    *tally
                        .inexpressible
                        .entry(case["test"].as_str().unwrap_or("").to_string())
                        .or_default() += 1;
                    Verdict::Inexpressible
                } else {
                    tally.failures.push(format!(
                        "{target} {} ({} {}{}): {why}",
                        case["id"], case["request"]["method"], req.host, req.path
                    ));
                    Verdict::Fail
                }
            }
        };
        *tally.counts.entry(verdict).or_default() += 1;
    }
    Some(tally)
}

/// Every in-scope case under each target: none may go to a wrong or
/// missing backend without a diagnostic that says why (silent), and v2,
/// which can say exact and regex paths, methods, wildcard hosts, fixed
/// redirects and header removal, must reach at least 150 of the cases
/// that expect a backend or a redirect.
#[test]
fn conformance_cases() {
    let mut failures = Vec::new();
    let mut table = Vec::new();
    // Pingress reads no Gateway API object: the suite is Synapse's.
    for target in Target::SYNAPSE {
        let Some(t) = replay(target) else {
            return;
        };
        eprintln!(
            "conformance {target}: {} pass, {} inexpressible, {} fail ({} out of scope); {} of {} positive cases pass",
            t.n(Verdict::Pass),
            t.n(Verdict::Inexpressible),
            t.n(Verdict::Fail),
            t.out_of_scope,
            t.positive_pass,
            t.positive
        );
        for (test, k) in &t.inexpressible {
            eprintln!("  {target} inexpressible: {test} ×{k}");
        }
        assert!(
            t.n(Verdict::Pass) > 0,
            "{target}: nothing passed: the harness is broken"
        );
        if target == Target::V2 {
            assert!(
                t.positive_pass >= 150,
                "v2 reaches only {} of {} positive cases",
                t.positive_pass,
                t.positive
            );
        }
        table.push((target, t.positive_pass, t.positive));
        failures.extend(t.failures);
    }
    // v2 says everything v1 does and more.
    let pass = |x: Target| table.iter().find(|(t, ..)| *t == x).map_or(0, |r| r.1);
    assert!(pass(Target::V2) > pass(Target::V1), "{table:?}");
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// (route namespace, route name) → the `ns/name` of each of its parentRefs,
/// read from the manifests themselves.
fn route_parents(sources: &[Source]) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for s in sources {
        let text = String::from_utf8_lossy(&s.content);
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let Ok(v) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) else {
                continue;
            };
            if v["kind"].as_str() != Some("HTTPRoute") {
                continue;
            }
            let ns = v["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string();
            let name = v["metadata"]["name"].as_str().unwrap_or("").to_string();
            let parents = out.entry((ns.clone(), name)).or_default();
            for p in v["spec"]["parentRefs"].as_sequence().into_iter().flatten() {
                let pns = p["namespace"].as_str().unwrap_or(&ns);
                parents.insert(format!("{pns}/{}", p["name"].as_str().unwrap_or("")));
            }
        }
    }
    out
}

/// `{Name, Namespace}` of a check argument.
fn nn(v: &Value) -> Option<(String, String)> {
    Some((
        v["Namespace"].as_str()?.to_string(),
        v["Name"].as_str()?.to_string(),
    ))
}

/// The suite's status assertions on HTTPRoutes (`HTTPRouteMustHaveCondition`,
/// `HTTPRouteMustHaveNoAcceptedParents`,
/// `HTTPRouteMustHaveResolvedRefsConditionsTrue`) against the conditions
/// synroute keeps in `Rendered::route_status`.
#[test]
fn conformance_route_conditions() {
    let Some((dir, cases, base, extra)) = suite() else {
        return;
    };
    let (mut pass, mut failures, mut mismatched) = (0, Vec::new(), 0);
    for t in cases["tests"].as_array().expect("tests") {
        if t["mesh"].as_bool() == Some(true) {
            continue;
        }
        let checks: Vec<&Value> = t["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                c["check"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("HTTPRouteMust"))
                    && c["args"].is_array()
            })
            .collect();
        if checks.is_empty() {
            continue;
        }
        let mut sources = vec![base.clone(), extra.clone()];
        for m in t["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            sources.push(load_manifest(&dir, m));
        }
        let r = render(&sources, &Options::default());
        let declared = route_parents(&sources);
        let statuses = |route: &(String, String)| -> Vec<&synroute::ir::RouteStatus> {
            r.route_status
                .iter()
                .filter(|s| s.route.namespace == route.0 && s.route.name == route.1)
                .collect()
        };
        for c in checks {
            let args = &c["args"];
            let Some(route) = nn(&args[0]) else { continue };
            // The parent may be a Gateway or a ListenerSet: compare the
            // `ns/name` after the kind, before any /section or :port.
            let parent = nn(&args[1]).map(|(ns, name)| format!("{ns}/{name}"));
            // The extractor reads Go text: a check naming a parent the route
            // does not declare (a variable reassigned in the test) says
            // nothing about the manifests.
            if let Some(p) = &parent
                && !declared.get(&route).is_some_and(|ps| ps.contains(p))
            {
                mismatched += 1;
                continue;
            }
            let for_parent = |s: &&synroute::ir::RouteStatus| {
                let named = s.parent.split_once(' ').map_or("", |(_, rest)| rest);
                let mut parts = named.splitn(3, ['/', ':']);
                let key = format!(
                    "{}/{}",
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or("")
                );
                parent.as_ref().is_none_or(|p| &key == p)
            };
            let ok = match c["check"].as_str().unwrap_or("") {
                "HTTPRouteMustHaveCondition" => {
                    let want = &args[2];
                    let (kind, status, reason) = (
                        want["Type"].as_str(),
                        want["Status"].as_str(),
                        want["Reason"].as_str(),
                    );
                    statuses(&route)
                        .into_iter()
                        .filter(|s| for_parent(s))
                        .any(|s| {
                            s.conditions.iter().any(|cond| {
                                Some(cond.kind) == kind
                                    && Some(if cond.status { "True" } else { "False" }) == status
                                    && reason.is_none_or(|r| r.is_empty() || r == cond.reason)
                            })
                        })
                }
                "HTTPRouteMustHaveNoAcceptedParents" => !statuses(&route).into_iter().any(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.kind == "Accepted" && c.status)
                }),
                "HTTPRouteMustHaveResolvedRefsConditionsTrue" => statuses(&route)
                    .into_iter()
                    .filter(|s| for_parent(s))
                    .any(|s| {
                        s.conditions
                            .iter()
                            .any(|c| c.kind == "ResolvedRefs" && c.status)
                    }),
                "HTTPRouteMustHaveParents" => !statuses(&route).is_empty(),
                _ => continue,
            };
            if ok {
                pass += 1;
            } else {
                let got: Vec<String> = statuses(&route)
                    .into_iter()
                    .map(|s| {
                        let conds: Vec<String> = s
                            .conditions
                            .iter()
                            .map(|c| format!("{}={} {}", c.kind, c.status, c.reason))
                            .collect();
                        format!("{} [{}]", s.parent, conds.join(", "))
                    })
                    .collect();
                failures.push(format!(
                    "{} line {}: {} {}: got {:?}",
                    t["test"], c["line"], c["check"], args, got
                ));
            }
        }
    }
    eprintln!(
        "route condition checks: {pass} pass, {} fail ({mismatched} name a parent the route does not declare)",
        failures.len()
    );
    assert!(pass > 50, "only {pass} checks passed");
    assert!(
        failures.is_empty(),
        "{} failing checks:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The suite's gRPC echo service.
const ECHO: &str = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho";

/// What a gRPC call of the suite expects: a backend, a split over
/// backends, or UNIMPLEMENTED (no route).
enum GrpcWant {
    Backend(&'static str),
    Weights(&'static [(&'static str, f64)]),
    Unimplemented,
}

/// The GRPCRoute tests of the suite's Go sources (conformance/tests/
/// grpcroute-*.go at the corpus commit): test, manifest, the call's
/// authority (None: the Gateway's address), its method, and what it
/// expects. Request metadata (headers) is named where a case matches on
/// it; no Synapse target matches headers.
/// (test, manifest, authority, method, request metadata, expectation).
type GrpcCase = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    GrpcWant,
);

const GRPC_CASES: &[GrpcCase] = {
    use GrpcWant::*;
    const V1: &str = "grpc-infra-backend-v1";
    const V2: &str = "grpc-infra-backend-v2";
    const V3: &str = "grpc-infra-backend-v3";
    const EXACT: &str = "grpcroute-exact-method-matching.yaml";
    const HEADERS: &str = "grpcroute-header-matching.yaml";
    const HOSTS: &str = "grpcroute-listener-hostname-matching.yaml";
    &[
        (
            "GRPCExactMethodMatching",
            EXACT,
            None,
            "Echo",
            "",
            Backend(V1),
        ),
        (
            "GRPCExactMethodMatching",
            EXACT,
            None,
            "EchoTwo",
            "",
            Backend(V2),
        ),
        (
            "GRPCExactMethodMatching",
            EXACT,
            None,
            "EchoThree",
            "",
            Unimplemented,
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "version: one",
            Backend(V1),
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "version: two",
            Backend(V2),
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "version: two, color: orange",
            Backend(V1),
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "version: two, color: blue",
            Backend(V2),
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "color: orange",
            Unimplemented,
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "some-other-header: one",
            Unimplemented,
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "color: blue",
            Backend(V1),
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "color: green",
            Backend(V1),
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "color: red",
            Backend(V2),
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "color: yellow",
            Backend(V2),
        ),
        (
            "GRPCRouteHeaderMatching",
            HEADERS,
            None,
            "Echo",
            "color: purple",
            Unimplemented,
        ),
        (
            "GRPCRouteListenerHostnameMatching",
            HOSTS,
            Some("bar.com"),
            "Echo",
            "",
            Backend(V1),
        ),
        (
            "GRPCRouteListenerHostnameMatching",
            HOSTS,
            Some("foo.bar.com"),
            "Echo",
            "",
            Backend(V2),
        ),
        (
            "GRPCRouteListenerHostnameMatching",
            HOSTS,
            Some("baz.bar.com"),
            "Echo",
            "",
            Backend(V3),
        ),
        (
            "GRPCRouteListenerHostnameMatching",
            HOSTS,
            Some("boo.bar.com"),
            "Echo",
            "",
            Backend(V3),
        ),
        (
            "GRPCRouteListenerHostnameMatching",
            HOSTS,
            Some("multiple.prefixes.bar.com"),
            "Echo",
            "",
            Backend(V3),
        ),
        (
            "GRPCRouteListenerHostnameMatching",
            HOSTS,
            Some("multiple.prefixes.foo.com"),
            "Echo",
            "",
            Backend(V3),
        ),
        (
            "GRPCRouteListenerHostnameMatching",
            HOSTS,
            Some("foo.com"),
            "Echo",
            "",
            Unimplemented,
        ),
        (
            "GRPCRouteListenerHostnameMatching",
            HOSTS,
            Some("no.matching.host"),
            "Echo",
            "",
            Unimplemented,
        ),
        (
            "GRPCRouteNamedRule",
            "grpcroute-named-rule.yaml",
            None,
            "Echo",
            "",
            Backend(V1),
        ),
        (
            "GRPCRouteNamedRule",
            "grpcroute-named-rule.yaml",
            None,
            "EchoTwo",
            "",
            Backend(V2),
        ),
        (
            "GRPCRouteWeight",
            "grpcroute-weight.yaml",
            None,
            "Echo",
            "",
            Weights(&[(V1, 0.7), (V2, 0.3), (V3, 0.0)]),
        ),
        (
            "GRPCRouteRequestHeaderModifier",
            "grpcroute-request-header-modifier.yaml",
            None,
            "Echo",
            "",
            Backend(V1),
        ),
        (
            "GRPCRouteRequestHeaderModifier",
            "grpcroute-request-header-modifier.yaml",
            None,
            "EchoTwo",
            "",
            Backend(V2),
        ),
    ]
};

/// Why a gRPC call of the suite does not get what it expects, or None.
fn grpc_mismatch(r: &Rendered, host: &str, probe: &Probe, want: &GrpcWant) -> Option<String> {
    let m = lookup_request(&r.table, host, probe);
    match (want, m) {
        (GrpcWant::Unimplemented, None) => None,
        (GrpcWant::Unimplemented, Some(m)) => Some(format!(
            "expected UNIMPLEMENTED, {} answers from {}",
            host,
            m.entry.provenance.origin.describe()
        )),
        (_, None) => Some(format!("no entry for {host}{}", probe.path)),
        (GrpcWant::Backend(b), Some(m)) => {
            let wrong: Vec<&str> = m
                .entry
                .servers
                .iter()
                .map(|s| s.address.as_str())
                .filter(|a| !service_of(a).0.starts_with(b))
                .collect();
            (!wrong.is_empty() || m.entry.servers.is_empty())
                .then(|| format!("expected {b}, got {wrong:?}"))
        }
        (GrpcWant::Weights(ws), Some(m)) => {
            let total: u32 = m.entry.servers.iter().map(|s| s.weight.unwrap_or(1)).sum();
            ws.iter().find_map(|(b, share)| {
                let got: u32 = m
                    .entry
                    .servers
                    .iter()
                    .filter(|s| service_of(&s.address).0 == *b)
                    .map(|s| s.weight.unwrap_or(1))
                    .sum();
                let got = f64::from(got) / f64::from(total.max(1));
                ((got - share).abs() > 0.01)
                    .then(|| format!("{b}: {got} of the calls, not {share}"))
            })
        }
    }
}

/// The suite's gRPC calls under each Synapse target: none may go to a
/// wrong backend, or to none, without a diagnostic that says why. (Every
/// GRPCRoute of the suite attaches to a plain HTTP listener, where a
/// GRPCRoute needs h2c, which Synapse's plain listener does not speak: each
/// is said, SR2018.) And each of the suite's GRPCRoutes is rendered or
/// named by a diagnostic.
#[test]
fn grpc_conformance_cases() {
    let Some((dir, _, base, extra)) = suite() else {
        return;
    };
    for target in Target::SYNAPSE {
        let (mut pass, mut said, mut failures) = (0, 0, Vec::new());
        let mut renders: BTreeMap<&str, Rendered> = BTreeMap::new();
        for (test, manifest, authority, method, headers, want) in GRPC_CASES {
            let r = renders.entry(manifest).or_insert_with(|| {
                let sources = vec![base.clone(), extra.clone(), load_manifest(&dir, manifest)];
                let opts = Options {
                    catch_all_host: Some(CATCH_ALL.to_string()),
                    target,
                    ..Options::default()
                };
                render(&sources, &opts)
            });
            let host = authority.unwrap_or(CATCH_ALL);
            let probe = Probe {
                path: format!("/{ECHO}/{method}"),
                method: "POST".to_string(),
            };
            match grpc_mismatch(r, host, &probe, want) {
                None => pass += 1,
                Some(why) => {
                    let files = BTreeSet::from([format!("manifests/{manifest}")]);
                    if explained(r, &files, host, &probe) {
                        said += 1;
                    } else {
                        failures.push(format!("{target} {test} {method} {headers} @{host}: {why}"));
                    }
                }
            }
        }
        // Every GRPCRoute of the suite's files: rendered, or named.
        for (manifest, r) in &renders {
            let text = fs::read_to_string(dir.join("manifests").join(manifest)).expect("manifest");
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let Ok(v) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) else {
                    continue;
                };
                if v["kind"].as_str() != Some("GRPCRoute") {
                    continue;
                }
                let name = v["metadata"]["name"].as_str().unwrap_or("");
                let rendered = r.table.hosts.values().any(|h| {
                    h.paths.values().chain(h.routes().map(|(_, e)| e)).any(|e| {
                        e.provenance.origin.kind == synroute::model::Kind::GrpcRoute
                            && e.provenance.origin.name == name
                    })
                });
                let named = r.diagnostics.iter().any(|d| {
                    d.severity >= Severity::Warning
                        && d.object
                            .as_ref()
                            .is_some_and(|o| o.kind == "GRPCRoute" && o.name == name)
                });
                if !rendered && !named {
                    failures.push(format!(
                        "{target} {manifest}: GRPCRoute {name} is neither rendered nor named"
                    ));
                }
            }
        }
        eprintln!(
            "conformance gRPC {target}: {pass} pass, {said} inexpressible, {} silent (of {} calls)",
            failures.len(),
            GRPC_CASES.len()
        );
        assert!(pass > 0, "{target}: nothing passed: the harness is broken");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
