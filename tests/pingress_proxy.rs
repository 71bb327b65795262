//! synroute beside the real Pingress proxy (`../shared/pingress/
//! pingress-proxy-server`, or the binary `SYNROUTE_PINGRESS` names; set
//! and missing fails, unset and missing skips, as the corpus does), run by
//! its `run.sh` beside it: loopback only, each Service name resolved to a
//! loopback address of its own in a private `/etc/hosts` (root and
//! `unshare`), small servers answering with their own name standing in
//! for the Services.
//!
//! Every fixture with an `expect.pingress.txt` is rendered `--target
//! pingress` (`--keys-dir` the test's folder, the keys beside proxy.json
//! as a pod would mount them), the proxy is started on it — it must start:
//! synroute never writes a certificate that stops it — and each line of
//! the expectations is sent: over plain HTTP always, and `https://` lines
//! over TLS with the host as SNI as well. What the proxy answers (the
//! backend reached, 500 for `none`, a failed handshake) must be what the
//! line says, what the file read back as synroute's model of the proxy
//! says (`route::file`), and what `explain --target pingress` says; over
//! TLS, the certificate served is the host's file. Then the same render
//! again, into the folder the proxy watches: it must keep serving (any
//! change there stops it, which a last write checks).

mod common;
#[path = "support/web.rs"]
mod web;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::expect::{HANDSHAKE_FAILS, answer, args_of, cases, expectations, routing_lines};
use synroute::route::Request;
use synroute::route::file::Routing;
use synroute::target::Target;

/// The proxy binary, where run.sh can run it: it needs a private mount
/// namespace (root and `unshare`). Without one, the test fails when
/// `SYNROUTE_PINGRESS` is set and says so and is skipped when it is not.
fn pingress_bin() -> Option<PathBuf> {
    let bin = common::shared_path(
        "SYNROUTE_PINGRESS",
        "../shared/pingress/pingress-proxy-server",
        Path::is_file,
    )?;
    let private = Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !private {
        let why = "run.sh cannot make a private mount namespace here (root and unshare)";
        assert!(std::env::var_os("SYNROUTE_PINGRESS").is_none(), "{why}");
        eprintln!("skipped: {why}");
        return None;
    }
    Some(bin)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The proxy, started by its run.sh; killed (SIGKILL, as run.sh asks)
/// when dropped.
struct Pingress {
    child: Child,
    log: PathBuf,
    http: u16,
    https: u16,
}

impl Pingress {
    /// Starts the proxy on `proxy_json`, watching `keys`, with each
    /// `NAME.NAMESPACE` of `hosts` resolved to its address. Waits until
    /// its HTTP listener answers; fails the test with its log when it
    /// does not start.
    fn start(
        bin: &Path,
        proxy_json: &Path,
        keys: &Path,
        hosts: &BTreeMap<String, Ipv4Addr>,
    ) -> Pingress {
        // Its metrics listener is fixed: a proxy still holding it (one
        // left running, or lingering after a SIGTERM) would keep this one
        // from listening at all.
        if let Err(e) = TcpListener::bind("127.0.0.1:9090") {
            panic!(
                "127.0.0.1:9090, the Pingress metrics port, is taken ({e}): is a proxy still running?"
            );
        }
        let run = bin.with_file_name("run.sh");
        let (http, https) = (free_port(), free_port());
        let log = proxy_json.with_file_name("pingress.log");
        let mut cmd = Command::new(&run);
        cmd.arg(proxy_json)
            .arg(keys)
            .arg(http.to_string())
            .arg(https.to_string())
            .args(hosts.iter().map(|(n, ip)| format!("{n}={ip}")))
            .env("PINGRESS_BIN", bin)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", run.display()));
        let mut p = Pingress {
            child,
            log,
            http,
            https,
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", http)).is_err() {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("the Pingress proxy did not start ({status}):\n{}", p.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the Pingress proxy does not listen after 20 s:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        p
    }

    /// Whether its HTTP listener still takes connections.
    fn listening(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.http)).is_ok()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What the proxy answers `host` and `path` over plain HTTP, in an
    /// expectation line's words.
    fn http(&self, host: &str, path: &str) -> String {
        let head = web::request_head("GET", host, path);
        said(web::exchange(self.http, head.as_bytes()))
    }

    /// The same over TLS with `host` as SNI: the answer, and the
    /// certificate served (DER), if the handshake succeeded.
    fn https(&self, host: &str, path: &str) -> (String, Option<Vec<u8>>) {
        let head = web::request_head("GET", host, path);
        match web::tls_exchange(self.https, host, head.as_bytes()) {
            Ok((cert, reply)) => (said(reply), Some(cert)),
            Err(e) if e.starts_with("handshake") => (HANDSHAKE_FAILS.to_string(), None),
            Err(e) => (format!("no answer: {e}"), None),
        }
    }
}

impl Drop for Pingress {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply in an expectation line's words: the backend that answered
/// (its body), `none` for the proxy's 500, else what came.
fn said((status, _, body): (u16, String, String)) -> String {
    match status {
        200 => body.trim().to_string(),
        500 => "none".to_string(),
        0 => "an empty reply".to_string(),
        s => format!("status {s}: {}", body.trim()),
    }
}

/// What `explain --target pingress` says of `url`, in an expectation
/// line's words.
fn explained(case_args: &[String], url: &str) -> String {
    let mut args = vec!["explain", url, "--target", "pingress"];
    args.extend(case_args.iter().map(String::as_str));
    let o = common::run(&args, None, &[]);
    let text = common::stdout(&o);
    if text.contains("  tls      the handshake fails") && url.starts_with("https://") {
        return HANDSHAKE_FAILS.to_string();
    }
    if text.contains("  no entry:") {
        return "none".to_string();
    }
    // `  servers  Service NS/NAME port P (...)`
    text.lines()
        .find_map(|l| l.trim().strip_prefix("servers  Service "))
        .and_then(|rest| {
            let mut words = rest.split_whitespace();
            let (ns, name) = words.next()?.split_once('/')?;
            let port = words.nth(1)?;
            Some(format!("{name}.{ns}:{port}"))
        })
        .unwrap_or_else(|| format!("explain said: {text}"))
}

/// The certificate (DER) of a PEM file.
fn der_of(file: &Path) -> Vec<u8> {
    let pem = std::fs::read(file).expect("the certificate file");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
    pem.contents
}

#[test]
fn every_fixture_is_served_by_the_real_pingress_as_explain_says() {
    let Some(bin) = pingress_bin() else { return };
    let mut checked = 0;
    for case in cases() {
        if expectations(&case, Target::Pingress).is_none() {
            continue;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let keys = tmp.path().join("keys");
        let proxy_json = tmp.path().join("proxy.json");
        let dir = format!("fixtures/{case}");
        let keys_dir = keys.to_str().expect("utf-8");
        // Explain and render read the same input, with the same flags;
        // render also names the folder of the keys (explain shows them
        // by file name, so it takes no --keys-dir).
        let mut input = args_of(&case);
        input.push(dir);
        let mut args: Vec<&str> = vec!["render", "--target", "pingress", "-q"];
        args.extend(input.iter().map(String::as_str));
        args.extend(["--keys-dir", keys_dir]);
        let out = proxy_json.to_str().expect("utf-8");
        args.extend(["-o", out, "--certs-out", keys_dir]);
        let o = common::run(&args, None, &[]);
        assert_eq!(common::code(&o), 0, "{case}: {}", common::stderr(&o));
        let text = std::fs::read_to_string(&proxy_json).expect("proxy.json");
        let routing = Routing::read(Target::Pingress, &text).expect("proxy.json reads back");
        let Routing::Pingress(file) = &routing else {
            unreachable!("a Pingress file")
        };
        // A loopback address per Service, a server per port it is dialled on.
        let mut hosts: BTreeMap<String, Ipv4Addr> = BTreeMap::new();
        for rule in &file.rules {
            let b = &rule.backend;
            let name = format!("{}.{}", b.name, b.namespace);
            let next = Ipv4Addr::new(127, 71, 0, hosts.len() as u8 + 1);
            let ip = *hosts.entry(name.clone()).or_insert(next);
            if let Ok(listener) = TcpListener::bind((ip, b.port)) {
                web::serve_name(listener, &format!("{name}:{}", b.port));
            }
        }
        let proxy = Pingress::start(&bin, &proxy_json, &keys, &hosts);
        let mut wrong = Vec::new();
        for (request, want) in routing_lines(&case, Target::Pingress) {
            let Some(req) = Request::parse(&request) else {
                wrong.push(format!("{case}: cannot read {request:?}"));
                continue;
            };
            let model = answer(&routing, &request).unwrap_or_default();
            let explain = explained(&input, &request);
            // Over plain HTTP, whatever the line's scheme.
            let plain = format!("http://{}{}", req.host, req.path);
            let http_model = answer(&routing, &plain).unwrap_or_default();
            let http_explain = explained(&input, &plain);
            let http_got = proxy.http(&req.host, &req.path);
            if http_got != http_model || http_explain != http_model {
                wrong.push(format!(
                    "{case}: {plain}: Pingress answered {http_got}, the model says {http_model}, explain {http_explain}"
                ));
            }
            let got = if req.https {
                let (got, cert) = proxy.https(&req.host, &req.path);
                let stem = synroute::emit::pingress::key_file_stem(&req.host);
                if let Some(cert) = cert
                    && cert != der_of(&keys.join(format!("{stem}.cert")))
                {
                    wrong.push(format!(
                        "{case}: {request}: not the certificate of {stem}.cert"
                    ));
                }
                got
            } else {
                http_got
            };
            if got != want || model != want || explain != want {
                wrong.push(format!(
                    "{case}: {request}: expected {want}; Pingress answered {got}, the model says {model}, explain {explain}"
                ));
            }
            checked += 1;
        }
        assert!(
            wrong.is_empty(),
            "{}\n--- proxy.json:\n{text}\n--- Pingress log:\n{}",
            wrong.join("\n"),
            proxy.log()
        );
        // The same render again touches nothing in the watched folder:
        // the proxy keeps serving (it stops listening on any change there,
        // as the change that follows shows).
        let o = common::run(&args, None, &[]);
        assert_eq!(common::code(&o), 0, "{case}: {}", common::stderr(&o));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            proxy.listening(),
            "{case}: an identical render took the proxy down:\n{}",
            proxy.log()
        );
        std::fs::write(keys.join("probe"), "a change").expect("write");
        let start = Instant::now();
        while proxy.listening() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{case}: the proxy ignored a change in its watched folder, so the check above proves nothing"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert!(checked > 20, "only {checked} expectation lines were sent");
    eprintln!("pingress: {checked} expectation lines served as expected");
}
