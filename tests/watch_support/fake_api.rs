//! A fake Kubernetes API server, in the test's own process, speaking just
//! enough HTTP/1.1 for `--from-cluster`: discovery of API groups, list and
//! watch (chunked JSON event lines) of any resource, namespaced paths,
//! `type=` and `metadata.name=` field selectors, and injected failures.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// A resource as the API server keeps it: every served version of a
/// group shows the same objects (a real server converts between them).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Res {
    /// "" for the core group.
    pub group: String,
    pub plural: String,
}

#[derive(Default)]
struct State {
    rv: u64,
    /// (resource, namespace, name) → object.
    objects: BTreeMap<(Res, String, String), Value>,
    /// (rv, resource, namespace, type, object), in order.
    events: Vec<(u64, Res, String, &'static str, Value)>,
    /// Serve the Gateway API groups in discovery.
    crds: bool,
    /// Answer this many more requests with 500.
    failures: usize,
    /// Every request line seen ("GET /path?query").
    requests: Vec<String>,
}

#[derive(Clone)]
pub struct FakeApi {
    inner: Arc<(Mutex<State>, Condvar)>,
    pub port: u16,
}

/// Where a kind lives: (group, version, plural, namespaced).
pub fn resource_of(api_version: &str, kind: &str) -> Option<(Res, bool)> {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let (plural, namespaced) = match kind {
        "Ingress" => ("ingresses", true),
        "IngressClass" => ("ingressclasses", false),
        "Service" => ("services", true),
        "Secret" => ("secrets", true),
        "Namespace" => ("namespaces", false),
        "GatewayClass" => ("gatewayclasses", false),
        "Gateway" => ("gateways", true),
        "HTTPRoute" => ("httproutes", true),
        "ReferenceGrant" => ("referencegrants", true),
        "ListenerSet" => ("listenersets", true),
        "TCPRoute" => ("tcproutes", true),
        "UDPRoute" => ("udproutes", true),
        _ => return None,
    };
    let res = Res {
        group: group.into(),
        plural: plural.into(),
    };
    Some((res, namespaced))
}

impl FakeApi {
    pub fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let api = FakeApi {
            inner: Arc::new((Mutex::new(State::default()), Condvar::new())),
            port,
        };
        let server = api.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let server = server.clone();
                std::thread::spawn(move || server.serve(conn));
            }
        });
        api
    }

    /// A kubeconfig pointing at this server.
    pub fn kubeconfig(&self) -> String {
        kubeconfig_for(self.port)
    }

    pub fn set_crds(&self, on: bool) {
        self.inner.0.lock().unwrap().crds = on;
    }

    pub fn fail_next(&self, n: usize) {
        self.inner.0.lock().unwrap().failures = n;
    }

    pub fn requests(&self) -> Vec<String> {
        self.inner.0.lock().unwrap().requests.clone()
    }

    /// Adds or replaces an object (apiVersion/kind decide where it goes).
    pub fn apply(&self, obj: Value) {
        self.change(obj, false);
    }

    pub fn delete(&self, obj: Value) {
        self.change(obj, true);
    }

    fn change(&self, mut obj: Value, delete: bool) {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let (res, _) = resource_of(&api_version, &kind).expect("a kind the fake serves");
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (lock, cv) = &*self.inner;
        let mut st = lock.lock().unwrap();
        st.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        let k = (res.clone(), ns.clone(), name);
        let kind = if delete {
            st.objects.remove(&k);
            "DELETED"
        } else if st.objects.insert(k, obj.clone()).is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let rv = st.rv;
        st.events.push((rv, res, ns, kind, obj));
        cv.notify_all();
    }

    fn serve(&self, conn: TcpStream) {
        let Ok(read_half) = conn.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        let mut out = conn;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            // Skip the headers (GET requests carry no body).
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    return;
                }
                if h == "\r\n" || h == "\n" {
                    break;
                }
            }
            let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            if !self.answer(&target, &mut out) {
                return;
            }
        }
    }

    /// Answers one request; false when the connection is done.
    fn answer(&self, target: &str, out: &mut TcpStream) -> bool {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let params: BTreeMap<String, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), decode(v)))
            .collect();
        {
            let mut st = self.inner.0.lock().unwrap();
            st.requests.push(format!("GET {}", decode(target)));
            if st.failures > 0 {
                st.failures -= 1;
                drop(st);
                return respond(out, 500, &status(500, "injected failure"));
            }
        }
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (group, version, rest) = match segs.as_slice() {
            ["api", v, rest @ ..] => ("", *v, rest),
            ["apis", g, v, rest @ ..] => (*g, *v, rest),
            _ => return respond(out, 404, &status(404, "not found")),
        };
        let (ns, plural) = match rest {
            [] => return self.discovery(group, version, out),
            [plural] => (None, *plural),
            ["namespaces", ns, plural] => (Some(ns.to_string()), *plural),
            _ => return respond(out, 404, &status(404, "not found")),
        };
        let res = Res {
            group: group.into(),
            plural: plural.into(),
        };
        let selector = params.get("fieldSelector").cloned().unwrap_or_default();
        let keep = |obj: &Value, obj_ns: &str| {
            ns.as_deref().is_none_or(|n| n == obj_ns) && matches(&selector, obj)
        };
        if params.get("watch").is_some_and(|w| w == "true" || w == "1") {
            let since: u64 = params
                .get("resourceVersion")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            return self.watch(&res, since, &keep, out);
        }
        let st = self.inner.0.lock().unwrap();
        let items: Vec<Value> = st
            .objects
            .iter()
            .filter(|((r, o_ns, _), obj)| *r == res && keep(obj, o_ns))
            .map(|(_, obj)| {
                // Like the real server: list items carry no apiVersion/kind.
                let mut item = obj.clone();
                if let Some(m) = item.as_object_mut() {
                    m.remove("apiVersion");
                    m.remove("kind");
                }
                item
            })
            .collect();
        let body = json!({
            "apiVersion": "v1", "kind": "List",
            "metadata": {"resourceVersion": st.rv.to_string()},
            "items": items,
        });
        drop(st);
        respond(out, 200, &body)
    }

    fn discovery(&self, group: &str, version: &str, out: &mut TcpStream) -> bool {
        let crds = self.inner.0.lock().unwrap().crds;
        let served: &[&str] = match (group, version) {
            ("gateway.networking.k8s.io", "v1") if crds => &[
                "gatewayclasses",
                "gateways",
                "httproutes",
                "listenersets",
                "referencegrants",
            ],
            ("gateway.networking.k8s.io", "v1beta1") if crds => &["referencegrants"],
            ("gateway.networking.k8s.io", "v1alpha2") if crds => &["tcproutes", "udproutes"],
            ("networking.k8s.io", "v1") => &["ingresses", "ingressclasses"],
            _ => {
                return respond(
                    out,
                    404,
                    &status(404, "the server could not find the requested resource"),
                );
            }
        };
        let resources: Vec<Value> = served
            .iter()
            .map(|p| json!({"name": p, "singularName": "", "namespaced": true, "kind": "X", "verbs": ["get", "list", "watch"]}))
            .collect();
        let body = json!({
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": format!("{group}/{version}"),
            "resources": resources,
        });
        respond(out, 200, &body)
    }

    /// Streams the events after `since` until the client goes away.
    fn watch(
        &self,
        res: &Res,
        mut since: u64,
        keep: &dyn Fn(&Value, &str) -> bool,
        out: &mut TcpStream,
    ) -> bool {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if out.write_all(head.as_bytes()).is_err() {
            return false;
        }
        let (lock, cv) = &*self.inner;
        loop {
            let lines: Vec<String> = {
                let st = lock.lock().unwrap();
                let st = if st.events.iter().any(|e| e.0 > since) {
                    st
                } else {
                    cv.wait_timeout(st, Duration::from_millis(200)).unwrap().0
                };
                let fresh: Vec<String> = st
                    .events
                    .iter()
                    .filter(|(rv, r, ns, _, obj)| *rv > since && r == res && keep(obj, ns))
                    .map(|(_, _, _, t, obj)| json!({"type": t, "object": obj}).to_string())
                    .collect();
                since = st.rv;
                fresh
            };
            for line in lines {
                let chunk = format!("{:x}\r\n{line}\n\r\n", line.len() + 1);
                if out.write_all(chunk.as_bytes()).is_err() {
                    return false;
                }
            }
            // A closed client shows up on the next write; probe with an
            // empty JSON whitespace chunk now and then.
            if out.write_all(b"1\r\n\n\r\n").is_err() {
                return false;
            }
        }
    }
}

/// A kubeconfig for a plain-HTTP API server on 127.0.0.1:`port`.
pub fn kubeconfig_for(port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: nobody\ncurrent-context: fake\n"
    )
}

fn matches(selector: &str, obj: &Value) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|term| {
        let Some((field, want)) = term.split_once('=') else {
            return false;
        };
        let got = match field {
            "type" => obj["type"].as_str(),
            "metadata.name" => obj["metadata"]["name"].as_str(),
            _ => None,
        };
        got == Some(want)
    })
}

fn status(code: u16, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": "", "code": code})
}

fn respond(out: &mut TcpStream, code: u16, body: &Value) -> bool {
    let body = body.to_string();
    let reason = if code == 200 { "OK" } else { "Error" };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes()).is_ok() && out.write_all(body.as_bytes()).is_ok()
}

/// Percent-decoding of a query value.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
