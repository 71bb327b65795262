//! synroute beside the real Synapse 0.2.4 (`../shared/synapse/synapse`, or
//! the binary `SYNROUTE_SYNAPSE` names; set and missing fails, unset and
//! missing skips, as the corpus does). On loopback only: Synapse as a
//! plain-HTTP proxy with its config API, and small HTTP servers that
//! answer with their own name standing in for the Services.
//!
//! - Every fixture rendered `--target 0.2` is taken by Synapse's config
//!   API (200), and each request of its expectations reaches the servers
//!   synroute and `explain --target 0.2` name: one Synapse, the files
//!   swapped through its API; each address in a file is rewritten to a
//!   local server named after it, the one change made to synroute's bytes.
//! - The initContainer prime: `render -o`, then Synapse starts on the file
//!   and serves it.
//! - gRPC: a GRPCRoute rendered `--target 0.2`, and calls over HTTP/2 on
//!   Synapse's TLS listener reach the HTTP/2-only backends it names, by
//!   service and method.
//! - GitOps: `render --emit kustomize` for 0.2, its ConfigMap's file and
//!   its projected certificates laid out as the kubelet would, served by
//!   Synapse's TLS listener: each host with its own certificate by SNI.
//! - `watch --target 0.2` (feature `watch`) beside a running Synapse,
//!   through its API and through its file watcher: edits are served
//!   within seconds, a burst ends in its final state, a malformed edit
//!   changes nothing served, and Synapse's process is the same throughout
//!   (a SIGHUP would end it).

mod common;
#[path = "support/h2.rs"]
mod h2;
#[path = "support/web.rs"]
mod web;

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::expect::{args_of, cases, routing_lines, shares};
use synroute::route::Request;
use synroute::route::file::Routing;
use synroute::target::Target;
use web::{exchange, h2_client, request_head};

const KEY: &str = "synroute-e2e-key";

/// The Synapse binary, if the tests can run.
fn synapse_bin() -> Option<PathBuf> {
    let bin = common::shared_path(
        "SYNROUTE_SYNAPSE",
        "../shared/synapse/synapse",
        Path::is_file,
    )?;
    Some(std::fs::canonicalize(&bin).expect("the Synapse binary's path"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One Synapse process on loopback, killed (it takes SIGKILL) when dropped.
struct Synapse {
    child: Child,
    http: u16,
    tls: u16,
    api: u16,
    dir: tempfile::TempDir,
}

impl Synapse {
    /// Starts Synapse on `upstreams` as `../shared/synapse/run.sh` does:
    /// a plain-HTTP proxy, no kernel or network features, the config API
    /// on, health checks every 2 s.
    fn start(bin: &Path, upstreams: &Path) -> Synapse {
        Synapse::start_with(bin, upstreams, None)
    }

    /// `start`, its TLS listener reading the certificates of `certs` (a
    /// folder laid out as a pod's would be); without, a default
    /// certificate made here (no committed key expires).
    fn start_with(bin: &Path, upstreams: &Path, certs: Option<&Path>) -> Synapse {
        let dir = tempfile::tempdir().expect("tempdir");
        let (http, api, tls) = (free_port(), free_port(), free_port());
        let (certs, default) = match certs {
            Some(c) => (c.to_path_buf(), ""),
            None => {
                let certs = dir.path().join("certs");
                std::fs::create_dir_all(&certs).expect("mkdir");
                let default = common::tls_secret("default", "default", &["default.test"]);
                std::fs::write(certs.join("default.crt"), default.cert_pem).expect("write");
                std::fs::write(certs.join("default.key"), default.key_pem).expect("write");
                (certs, "  default_certificate: \"default\"\n")
            }
        };
        let config = format!(
            "mode: proxy
redis: {{url: \"\", prefix: \"ax:synapse\"}}
network: {{iface: lo, ifaces: [], disable_xdp: true, ip_version: both}}
arxignis: {{api_key: \"\", base_url: \"\", log_sending_enabled: false, include_response_body: false}}
content_scanning: {{enabled: false}}
logging: {{level: warn}}
bpf_stats: {{enabled: false}}
tcp_fingerprint: {{enabled: false}}
daemon: {{enabled: false}}
acme: {{enabled: false, storage_path: \"{acme}\"}}
pingora:
  proxy_address_http: \"127.0.0.1:{http}\"
  proxy_address_tls: \"127.0.0.1:{tls}\"
  proxy_certificates: \"{certs}\"
  proxy_tls_grade: \"medium\"
{default}  upstreams_conf: \"{up}\"
  config_address: \"127.0.0.1:{api}\"
  config_api_enabled: true
  master_key: \"{KEY}\"
  healthcheck_method: \"HEAD\"
  healthcheck_interval: 2
  proxy_protocol: {{enabled: false}}
",
            acme = dir.path().join("acme").display(),
            up = upstreams.display(),
            certs = certs.display(),
        );
        let config_path = dir.path().join("config.yaml");
        std::fs::write(&config_path, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("synapse.log")).expect("log");
        let child = Command::new(bin)
            .arg("--config")
            .arg(&config_path)
            .arg("--disable-xdp")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start synapse");
        let mut s = Synapse {
            child,
            http,
            tls,
            api,
            dir,
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", api)).is_err() {
            assert!(
                s.child.try_wait().expect("wait").is_none(),
                "synapse ended at start:\n{}",
                s.log()
            );
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "synapse's API never opened"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("synapse.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// True while the process that was started runs.
    #[cfg_attr(not(feature = "watch"), allow(dead_code))]
    fn running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// POSTs a file to the config API: its status.
    fn post(&self, body: &[u8]) -> u16 {
        let head = format!(
            "POST /conf?key={KEY} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        exchange(self.api, &[head.as_bytes(), body].concat()).0
    }

    /// A plain-HTTP request through the proxy: status, Location, body.
    fn request(&self, method: &str, host: &str, path: &str) -> (u16, String, String) {
        exchange(self.http, request_head(method, host, path).as_bytes())
    }

    /// A gRPC-shaped call of `path` on `host` over HTTP/2 on the TLS
    /// listener: the DATA of the answer, as text.
    fn grpc_call(&self, host: &str, path: &str) -> Result<String, String> {
        let name =
            rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
        let conn = rustls::ClientConnection::new(h2_client(), name).map_err(|e| e.to_string())?;
        let sock = TcpStream::connect(("127.0.0.1", self.tls)).map_err(|e| e.to_string())?;
        let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let body = h2::call(&mut tls, host, path).map_err(|e| e.to_string())?;
        if tls.conn.alpn_protocol() != Some(b"h2") {
            return Err("Synapse did not offer HTTP/2 by ALPN".into());
        }
        Ok(String::from_utf8_lossy(&body).trim().to_string())
    }

    /// The certificate the TLS listener serves for SNI `host` (DER).
    fn served_certificate(&self, host: &str) -> Result<Vec<u8>, String> {
        web::tls_exchange(self.tls, host, b"").map(|(cert, _)| cert)
    }

    /// A request as `https://host/path`: TLS to the proxy with `host` as
    /// the SNI name, then the request. Status, Location, body.
    fn request_tls(&self, method: &str, host: &str, path: &str) -> (u16, String, String) {
        let head = request_head(method, host, path);
        web::tls_exchange(self.tls, host, head.as_bytes())
            .map(|(_, reply)| reply)
            .unwrap_or_else(|e| (0, String::new(), e))
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Local servers standing in for Services: each answers every request
/// with its own name (HEAD with none), and a TLS probe with a close.
#[derive(Default)]
struct Backends(Mutex<BTreeMap<String, u16>>);

impl Backends {
    /// The port of the server named `name`, started on first use.
    fn port(&self, name: &str) -> u16 {
        let mut map = self.0.lock().expect("backends");
        if let Some(p) = map.get(name) {
            return *p;
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a backend");
        let port = listener.local_addr().expect("addr").port();
        web::serve_name(listener, name);
        map.insert(name.to_string(), port);
        port
    }
}

/// `text` (a 0.2 file) with each server that `backends` stands in for
/// pointed at it: only the list items that are such an address change.
fn pointed_at(text: &str, addresses: &BTreeMap<String, u16>) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = body.len() - body.trim_start().len();
        let item = body
            .trim_start()
            .strip_prefix("- ")
            .map(|v| v.trim_matches(['"', '\'']));
        match item.and_then(|v| addresses.get(v)) {
            Some(port) => {
                out.push_str(&body[..indent]);
                out.push_str(&format!("- 127.0.0.1:{port}"));
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Renders a fixture `--target 0.2` as the CLI does.
fn render_02(case: &str) -> Option<Vec<u8>> {
    let args = args_of(case);
    let mut opts = synroute::cli::options_for(&args).expect("args");
    opts.target = Target::V02;
    let sources =
        synroute::cli::collect_sources(&[format!("fixtures/{case}")], &[]).expect("read fixture");
    let r = synroute::render(&sources, &opts);
    (!r.malformed).then_some(r.upstreams)
}

/// What Synapse answers `request` (`[METHOD] URL`) with, in the form of an
/// expectation line's right side: the servers reached over one round of
/// the pool (`a@2 b@1` when shares differ), `redirect STATUS LOCATION`,
/// or `none` for Synapse's 502.
fn served(synapse: &Synapse, request: &str, want: &str) -> String {
    let (method, url) = match request.split_once(' ') {
        Some((m, u)) => (m, u.trim()),
        None => ("GET", request),
    };
    if request.starts_with("tls://") {
        // 0.2 passes no TLS through by SNI: it terminates every name, so
        // such a connection reaches no passthrough server.
        return "none".into();
    }
    let Some(req) = Request::parse(url) else {
        return format!("bad request line {request:?}");
    };
    // One round of the pool the line expects (0.2's list repeats a server
    // by its weight); at least one request, at most the 0.2 cap and one.
    let rounds: u64 = shares(want)
        .split_whitespace()
        .map(|t| {
            t.rsplit_once('@')
                .and_then(|(_, w)| w.parse().ok())
                .unwrap_or(1)
        })
        .sum::<u64>()
        .clamp(1, 101);
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for _ in 0..rounds {
        let (status, location, body) = if req.https {
            synapse.request_tls(method, &req.host, &req.path)
        } else {
            synapse.request(method, &req.host, &req.path)
        };
        match status {
            200 => {
                let name = body.trim().to_string();
                if !seen.contains_key(&name) {
                    order.push(name.clone());
                }
                *seen.entry(name).or_default() += 1;
            }
            502 => return "none".into(),
            301..=308 => return format!("redirect {status} {location}"),
            other => return format!("status {other}: {body}"),
        }
    }
    let counts: Vec<String> = order
        .iter()
        .map(|n| format!("{n}@{}", seen.get(n).copied().unwrap_or(0)))
        .collect();
    shares(&counts.join(" "))
}

/// Every fixture's 0.2 file through the real Synapse: taken whole, and
/// each expected request served by the servers expected, in the shares
/// expected.
#[test]
fn every_fixture_is_taken_by_synapse_0_2_and_routes_as_expected() {
    let Some(bin) = synapse_bin() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("upstreams.yaml");
    std::fs::write(&file, "").expect("write");
    let synapse = Synapse::start(&bin, &file);
    let backends = Backends::default();
    let (mut files, mut lines) = (0, 0);
    let mut failures = Vec::new();
    for case in cases() {
        let Some(bytes) = render_02(&case) else {
            continue;
        };
        let text = String::from_utf8(bytes).expect("utf-8");
        let Ok(routing) = Routing::read(Target::V02, &text) else {
            failures.push(format!("{case}: the 0.2 file does not read back"));
            continue;
        };
        let addresses: BTreeMap<String, u16> = served_addresses(&routing)
            .into_iter()
            .map(|a| {
                let port = backends.port(&a);
                (a, port)
            })
            .collect();
        let posted = pointed_at(&text, &addresses);
        let status = synapse.post(posted.as_bytes());
        files += 1;
        if status != 200 {
            failures.push(format!(
                "{case}: Synapse answered {status} to the file:\n{posted}"
            ));
            continue;
        }
        let expected = routing_lines(&case, Target::V02);
        lines += expected.len();
        let wrong = |synapse: &Synapse| -> Vec<String> {
            expected
                .iter()
                .filter_map(|(req, want)| {
                    let got = served(synapse, req, want);
                    (got != shares(want))
                        .then(|| format!("{case}: {req} -> expected {want}, got {got}"))
                })
                .collect()
        };
        // The new table is live a few milliseconds after the 200; and a
        // health-check round that began before it can write the old one
        // back once: posted again, it stays.
        let mut last = wrong(&synapse);
        let start = Instant::now();
        while !last.is_empty() && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(100));
            if start.elapsed() > Duration::from_millis(500) {
                synapse.post(posted.as_bytes());
            }
            last = wrong(&synapse);
        }
        failures.extend(last);
    }
    eprintln!("{files} files taken by Synapse 0.2.4, {lines} expected requests replayed");
    assert!(files >= 100, "only {files} fixtures rendered");
    assert!(lines >= 200, "only {lines} expected requests");
    assert!(
        failures.is_empty(),
        "\n{}\n--- synapse log:\n{}",
        failures.join("\n"),
        synapse.log()
    );
}

/// Every server address a 0.2 file names.
fn served_addresses(routing: &Routing) -> Vec<String> {
    let Routing::V02(f) = routing else {
        return Vec::new();
    };
    let mut out: Vec<String> = f
        .upstreams
        .values()
        .flat_map(|h| h.paths.values())
        .chain(f.arxignis_paths.values())
        .flat_map(|p| p.servers.iter().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Manifests whose Services are ExternalName `127.0.0.1`: the file
/// synroute writes needs no rewrite to reach the local servers.
fn shop<H: AsRef<str>, N: AsRef<str>>(backends: &Backends, routes: &[(H, N)]) -> String {
    let mut out = String::new();
    let mut names: Vec<&str> = routes.iter().map(|(_, b)| b.as_ref()).collect();
    names.sort_unstable();
    names.dedup();
    for name in &names {
        let port = backends.port(name);
        out.push_str(&format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop}}\nspec: {{type: ExternalName, externalName: 127.0.0.1, ports: [{{port: {port}}}]}}\n---\n"
        ));
    }
    out.push_str("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: shop, namespace: shop}\nspec:\n  ingressClassName: synapse\n  rules:\n");
    for (host_path, name) in routes {
        let (host_path, name) = (host_path.as_ref(), name.as_ref());
        let (host, path) = host_path.split_once('/').unwrap_or((host_path, ""));
        let port = backends.port(name);
        out.push_str(&format!(
            "  - host: {host}\n    http:\n      paths:\n      - {{path: /{path}, pathType: Prefix, backend: {{service: {{name: {name}, port: {{number: {port}}}}}}}}}\n"
        ));
    }
    out
}

/// `render DIR --target 0.2 -o FILE`, as a user runs it.
fn render_to(manifests: &Path, file: &Path) {
    let o = common::run(
        &[
            "render",
            manifests.to_str().expect("utf-8"),
            "--target",
            "0.2",
            "-o",
            file.to_str().expect("utf-8"),
        ],
        None,
        &[],
    );
    assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
}

/// Waits until each `host/path` is answered by its server.
fn serves<H: AsRef<str>, N: AsRef<str>>(
    synapse: &Synapse,
    routes: &[(H, N)],
    within: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let wrong: Vec<String> = routes
            .iter()
            .filter_map(|(host_path, name)| {
                let (host_path, name) = (host_path.as_ref(), name.as_ref());
                let (host, path) = host_path.split_once('/').unwrap_or((host_path, ""));
                let (status, _, body) = synapse.request("GET", host, &format!("/{path}"));
                (status != 200 || body.trim() != name)
                    .then(|| format!("{host_path}: {status} {}", body.trim()))
            })
            .collect();
        if wrong.is_empty() {
            return Ok(start.elapsed());
        }
        if start.elapsed() > within {
            return Err(wrong.join("; "));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

static BACKENDS: OnceLock<Backends> = OnceLock::new();

/// The initContainer's job: `render -o` before Synapse starts, and
/// Synapse serves every route of the file from its start.
#[test]
fn a_primed_file_is_served_from_synapse_start() {
    let Some(bin) = synapse_bin() else { return };
    let backends = BACKENDS.get_or_init(Backends::default);
    let dir = tempfile::tempdir().expect("tempdir");
    let routes = [
        ("a.example.com/", "prime-web"),
        ("a.example.com/api", "prime-api"),
        ("b.example.com/", "prime-b"),
    ];
    std::fs::write(dir.path().join("shop.yaml"), shop(backends, &routes)).expect("write");
    let file = dir.path().join("shared/upstreams.yaml");
    std::fs::create_dir_all(dir.path().join("shared")).expect("mkdir");
    render_to(dir.path(), &file);
    let synapse = Synapse::start(&bin, &file);
    if let Err(e) = serves(&synapse, &routes, Duration::from_secs(10)) {
        panic!("{e}\n{}", synapse.log());
    }
}

/// `synroute watch` as a child, its log in a file; killed when dropped.
#[cfg(feature = "watch")]
struct Watch {
    child: Child,
    log: PathBuf,
}

#[cfg(feature = "watch")]
impl Watch {
    fn start(args: &[&str], log: PathBuf) -> Watch {
        let file = std::fs::File::create(&log).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_synroute"))
            .arg("watch")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn synroute watch");
        let w = Watch { child, log };
        w.wait_for_log("\"event\":\"render\"", 1);
        w
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `needle` is in the log `count` times.
    fn wait_for_log(&self, needle: &str, count: usize) {
        let start = Instant::now();
        while self.log().matches(needle).count() < count {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no {needle} ×{count} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(feature = "watch")]
impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder of manifests, its render primed into `shared/upstreams.yaml`
/// as the initContainer would, and Synapse started on it.
#[cfg(feature = "watch")]
fn primed<H: AsRef<str>, N: AsRef<str>>(
    bin: &Path,
    backends: &Backends,
    routes: &[(H, N)],
) -> (tempfile::TempDir, Synapse) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("m")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("shared")).expect("mkdir");
    std::fs::write(dir.path().join("m/shop.yaml"), shop(backends, routes)).expect("write");
    let file = dir.path().join("shared/upstreams.yaml");
    render_to(&dir.path().join("m"), &file);
    let synapse = Synapse::start(bin, &file);
    serves(&synapse, routes, Duration::from_secs(10)).expect("the primed routes");
    (dir, synapse)
}

/// `watch --target 0.2 --synapse-api`: ten edits, each served within
/// seconds, a burst served in its final state, a malformed edit that
/// changes nothing — and the one Synapse process throughout.
#[cfg(feature = "watch")]
#[test]
fn watch_reloads_synapse_0_2_through_its_api_and_never_signals_it() {
    let Some(bin) = synapse_bin() else { return };
    let backends = BACKENDS.get_or_init(Backends::default);
    let route = |n: usize| vec![("w.example.com/", format!("api-{n}"))];
    let (dir, mut synapse) = primed(&bin, backends, &route(0));
    let pid = synapse.child.id();
    let key = dir.path().join("key");
    std::fs::write(&key, format!("{KEY}\n")).expect("write");
    let file = dir.path().join("shared/upstreams.yaml");
    let api = format!("http://127.0.0.1:{}", synapse.api);
    let m = dir.path().join("m");
    let watch = Watch::start(
        &[
            m.to_str().expect("utf-8"),
            "--target",
            "0.2",
            "-o",
            file.to_str().expect("utf-8"),
            "--synapse-api",
            &api,
            "--synapse-api-key-file",
            key.to_str().expect("utf-8"),
            "--debounce",
            "100ms",
        ],
        dir.path().join("watch.log"),
    );
    let edit = |n: usize| {
        let routes = route(n);
        std::fs::write(m.join("shop.yaml"), shop(backends, &routes)).expect("write");
        routes
    };
    let mut took = Vec::new();
    for n in 1..=10 {
        let routes = edit(n);
        // Within a repeat (5 s) and a little: a health-check round that
        // writes the old table back is undone by then.
        match serves(&synapse, &routes, Duration::from_secs(8)) {
            Ok(t) => took.push(t.as_millis()),
            Err(e) => panic!("edit {n}: {e}\n{}\n{}", watch.log(), synapse.log()),
        }
        assert!(
            synapse.running() && synapse.child.id() == pid,
            "edit {n}: Synapse ended"
        );
    }
    eprintln!("each edit served after (ms): {took:?}");
    // A burst: one render, its last state.
    for n in 11..=15 {
        edit(n);
        std::thread::sleep(Duration::from_millis(20));
    }
    let last = route(15);
    serves(&synapse, &last, Duration::from_secs(8)).expect("the burst's last state");
    // A malformed edit: the file and what Synapse serves stay.
    let before = std::fs::read(&file).expect("read");
    std::fs::write(m.join("broken.yaml"), "kind: Ingress\nspec: [\n").expect("write");
    watch.wait_for_log("the last good files stay", 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(std::fs::read(&file).expect("read"), before);
    serves(&synapse, &last, Duration::from_secs(1)).expect("still the last good routes");
    // Past the repeat: still served, the same process, never a signal.
    std::thread::sleep(Duration::from_millis(5500));
    serves(&synapse, &last, Duration::from_secs(1)).expect("after the repeat");
    assert!(
        synapse.running() && synapse.child.id() == pid,
        "Synapse ended"
    );
    let log = watch.log();
    let taken = log.matches("\"accepted\":true").count();
    assert!(taken >= 11, "{taken} reloads taken:\n{log}");
    assert!(log.contains("\"round\":\"repeat\""), "{log}");
    assert!(!log.contains("\"method\":\"signal\""), "{log}");
    assert!(
        log.matches("\"outcome\":\"changed\"").count() >= 11,
        "{log}"
    );
}

/// `watch --target 0.2` with nothing more: no signal (Synapse 0.2 would
/// die of it) but the trigger file its own watcher sees; edits are served
/// within seconds, one right after another too.
#[cfg(feature = "watch")]
#[test]
fn watch_reaches_synapse_0_2_through_its_file_watcher_by_default() {
    let Some(bin) = synapse_bin() else { return };
    let backends = BACKENDS.get_or_init(Backends::default);
    let (dir, mut synapse) = primed(&bin, backends, &[("t.example.com/", "trigger-0")]);
    let pid = synapse.child.id();
    let file = dir.path().join("shared/upstreams.yaml");
    let m = dir.path().join("m");
    let watch = Watch::start(
        &[
            m.to_str().expect("utf-8"),
            "--target",
            "0.2",
            "-o",
            file.to_str().expect("utf-8"),
            "--debounce",
            "100ms",
        ],
        dir.path().join("watch.log"),
    );
    assert!(
        watch.log().contains("\"method\":\"trigger\""),
        "{}",
        watch.log()
    );
    let mut took = Vec::new();
    for (n, name) in ["trigger-1", "trigger-2", "trigger-3"]
        .into_iter()
        .enumerate()
    {
        let routes = [("t.example.com/", name)];
        std::fs::write(m.join("shop.yaml"), shop(backends, &routes)).expect("write");
        // Triggers are 2.5 s apart; one Synapse drops (within 2 s of its
        // start) is sent again 5 s later.
        match serves(&synapse, &routes, Duration::from_secs(8)) {
            Ok(t) => took.push(t.as_millis()),
            Err(e) => panic!("edit {n}: {e}\n{}\n{}", watch.log(), synapse.log()),
        }
        assert!(
            synapse.running() && synapse.child.id() == pid,
            "Synapse ended"
        );
    }
    eprintln!("each edit served after (ms), through the trigger file: {took:?}");
    assert!(dir.path().join("shared/.synroute-reload.yaml").is_file());
    assert!(!watch.log().contains("\"method\":\"signal\""));
}

/// gRPC through Synapse 0.2.4: a GRPCRoute rendered `--target 0.2`, and
/// calls over HTTP/2 on its TLS listener reach the HTTP/2-only backends the
/// route names — by service and method, by service, and the rest.
#[test]
fn a_grpc_call_reaches_the_backend_its_grpcroute_names() {
    let Some(bin) = synapse_bin() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let services: Vec<(&str, u16)> = ["grpc-hello", "grpc-greeter", "grpc-other"]
        .into_iter()
        .map(|n| (n, h2::backend(n)))
        .collect();
    let mut manifests = String::from(
        "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: synapse}
spec: {controllerName: gen0sec.com/synapse}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: grpc}
spec:
  gatewayClassName: synapse
  listeners:
  - {name: https, protocol: HTTPS, port: 443, hostname: grpc.example.com, tls: {certificateRefs: [{name: grpc-tls}]}}
",
    );
    for (name, port) in &services {
        manifests.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: grpc}}\nspec: {{type: ExternalName, externalName: 127.0.0.1, ports: [{{port: {port}}}]}}\n"
        ));
    }
    let port = |n: &str| {
        services
            .iter()
            .find(|(s, _)| *s == n)
            .map_or(0, |(_, p)| *p)
    };
    manifests.push_str(&format!(
        "---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {{name: greeter, namespace: grpc}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
  - matches: [{{method: {{service: helloworld.Greeter, method: SayHello}}}}]
    backendRefs: [{{name: grpc-hello, port: {}}}]
  - matches: [{{method: {{service: helloworld.Greeter}}}}]
    backendRefs: [{{name: grpc-greeter, port: {}}}]
  - backendRefs: [{{name: grpc-other, port: {}}}]
",
        port("grpc-hello"),
        port("grpc-greeter"),
        port("grpc-other")
    ));
    std::fs::create_dir_all(dir.path().join("m")).expect("mkdir");
    std::fs::write(dir.path().join("m/grpc.yaml"), manifests).expect("write");
    let file = dir.path().join("upstreams.yaml");
    render_to(&dir.path().join("m"), &file);
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.contains("http2_enabled: true"), "{text}");
    let synapse = Synapse::start(&bin, &file);
    let calls = [
        ("/helloworld.Greeter/SayHello", "grpc-hello"),
        ("/helloworld.Greeter/SayGoodbye", "grpc-greeter"),
        ("/grpc.health.v1.Health/Check", "grpc-other"),
    ];
    // Synapse finds out each backend's protocol when it takes the file:
    // the first calls may come before it has.
    let start = Instant::now();
    loop {
        let got: Vec<Result<String, String>> = calls
            .iter()
            .map(|(path, _)| synapse.grpc_call("grpc.example.com", path))
            .collect();
        let wrong: Vec<String> = calls
            .iter()
            .zip(&got)
            .filter(|((_, want), got)| got.as_deref() != Ok(*want))
            .map(|((path, want), got)| format!("{path}: expected {want}, got {got:?}"))
            .collect();
        if wrong.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{}\n--- file:\n{text}\n--- synapse log:\n{}",
            wrong.join("\n"),
            synapse.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// GitOps without a controller: `render --emit kustomize --target 0.2`,
/// then what the kubelet would lay out for the pod — the ConfigMap's file
/// at its mount, each projected Secret key at the path the patch names —
/// and Synapse started on them: each host answers over HTTPS with the
/// certificate of its own Secret, and reaches its backend.
#[test]
fn an_emitted_configmap_and_projected_secrets_are_served_by_synapse() {
    let Some(bin) = synapse_bin() else { return };
    let backends = BACKENDS.get_or_init(Backends::default);
    let tmp = tempfile::tempdir().expect("tempdir");
    let hosts = ["shop.example.com", "api.example.com"];
    // A certificate per host, in a Secret per host.
    let mut secrets: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut manifests = String::new();
    let mut ders: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for host in hosts {
        let name = format!("{}-tls", host.split('.').next().unwrap_or("x"));
        let secret = common::tls_secret(&name, "shop", &[host]);
        ders.insert(host, secret.cert_der);
        manifests.push_str(&secret.yaml);
        manifests.push_str("---\n");
        secrets.insert(name, (secret.cert_pem, secret.key_pem));
    }
    let routes = [
        ("shop.example.com/", "gitops-shop"),
        ("api.example.com/", "gitops-api"),
    ];
    let shop = shop(backends, &routes);
    // The shop's Ingress with a TLS entry per host.
    let shop = shop.replace(
        "  ingressClassName: synapse\n",
        "  ingressClassName: synapse\n  tls:\n  - {hosts: [shop.example.com], secretName: shop-tls}\n  - {hosts: [api.example.com], secretName: api-tls}\n",
    );
    manifests.push_str(&shop);
    std::fs::create_dir_all(tmp.path().join("k8s")).expect("mkdir");
    std::fs::write(tmp.path().join("k8s/shop.yaml"), manifests).expect("write");
    let out = tmp.path().join("synroute");
    let o = common::run(
        &[
            "render",
            tmp.path().join("k8s").to_str().expect("utf-8"),
            "--target",
            "0.2",
            "--emit",
            "kustomize",
            "-o",
            out.to_str().expect("utf-8"),
            "--workload-namespace",
            "shop",
        ],
        None,
        &[],
    );
    assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
    // The pod's filesystem, as the kubelet lays it out.
    let pod = tmp.path().join("pod");
    let read = |f: &str| -> serde_yaml::Value {
        serde_yaml::from_str(&std::fs::read_to_string(out.join(f)).expect("read")).expect("yaml")
    };
    let cm = read("configmap.yaml");
    let workload = read("workload.yaml");
    let tspec = &workload["spec"]["template"]["spec"];
    let mount = |volume: &str| -> PathBuf {
        let mounts = tspec["containers"][0]["volumeMounts"]
            .as_sequence()
            .expect("mounts");
        let m = mounts
            .iter()
            .find(|m| m["name"].as_str() == Some(volume))
            .expect("mount");
        pod.join(
            m["mountPath"]
                .as_str()
                .expect("path")
                .trim_start_matches('/'),
        )
    };
    let routes_dir = mount("synroute-routes");
    std::fs::create_dir_all(&routes_dir).expect("mkdir");
    for (k, v) in cm["data"].as_mapping().expect("data") {
        std::fs::write(
            routes_dir.join(k.as_str().expect("key")),
            v.as_str().expect("value"),
        )
        .expect("write");
    }
    let certs_dir = mount("synroute-certs");
    std::fs::create_dir_all(&certs_dir).expect("mkdir");
    let volumes = tspec["volumes"].as_sequence().expect("volumes");
    let projected = volumes
        .iter()
        .find(|v| v["name"].as_str() == Some("synroute-certs"))
        .expect("the certificates' volume");
    for src in projected["projected"]["sources"]
        .as_sequence()
        .expect("sources")
    {
        let name = src["secret"]["name"].as_str().expect("secret");
        let (cert, key) = secrets.get(name).expect("a Secret of the input");
        for item in src["secret"]["items"].as_sequence().expect("items") {
            let bytes = match item["key"].as_str() {
                Some("tls.crt") => cert,
                _ => key,
            };
            std::fs::write(certs_dir.join(item["path"].as_str().expect("path")), bytes)
                .expect("write");
        }
    }
    let synapse = Synapse::start_with(&bin, &routes_dir.join("upstreams.yaml"), Some(&certs_dir));
    for host in hosts {
        let start = Instant::now();
        loop {
            let served = synapse.served_certificate(host);
            if served.as_ref().ok() == ders.get(host) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{host}: not its own certificate ({served:?})\n{}",
                synapse.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let start = Instant::now();
    loop {
        let got: Vec<String> = routes
            .iter()
            .map(|(hp, _)| {
                let host = hp.trim_end_matches('/');
                synapse.request_tls("GET", host, "/").2.trim().to_string()
            })
            .collect();
        if got == ["gitops-shop", "gitops-api"] {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{got:?}\n{}",
            synapse.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
