//! A synthetic GitOps corpus for benchmarks and scale tests: N apps, each a
//! Service and an Ingress (1–3 hosts, 1–4 paths, annotations, some TLS),
//! every third an HTTPRoute with weighted backends and a filter, every fifth
//! a ~3 KB TLS Secret, plus the GatewayClass, Gateway (its HTTPS listener,
//! without a hostname, serves every route's hosts with its Secret) and
//! IngressClass they use; optionally padded with foreign kinds
//! (Deployments, ConfigMaps, CRDs). Deterministic for a given seed. Not
//! used by `render`, and not in the library: the tests and examples that
//! need it include this file (`#[path]`), each using part of it.
#![allow(dead_code)]

use std::fmt::Write as _;

/// How the corpus is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub apps: usize,
    /// Foreign objects added per app.
    pub padding: usize,
    pub json: bool,
    pub seed: u64,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const SHARED: &str = "apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: synapse
  annotations:
    ingressclass.kubernetes.io/is-default-class: \"true\"
spec:
  controller: gen0sec.com/synapse
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: synapse
spec:
  controllerName: gen0sec.com/synapse
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: edge
  namespace: gateway
spec:
  gatewayClassName: synapse
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    allowedRoutes:
      namespaces:
        from: All
  - name: https
    protocol: HTTPS
    port: 443
    allowedRoutes:
      namespaces:
        from: All
    tls:
      certificateRefs:
      - name: edge-tls
---
apiVersion: v1
kind: Secret
metadata:
  name: edge-tls
  namespace: gateway
type: kubernetes.io/tls
stringData:
  tls.crt: |
    -----BEGIN CERTIFICATE-----
    TUlJQmVkZ2U=
    -----END CERTIFICATE-----
  tls.key: |
    -----BEGIN PRIVATE KEY-----
    TUlJQmVkZ2U=
    -----END PRIVATE KEY-----
";

/// A PEM-looking body of about `bytes` bytes (not a real certificate:
/// certificate checks report it, which a benchmark also exercises).
fn pem_body(rng: &mut Rng, bytes: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes + bytes / 64);
    for i in 0..bytes {
        if i > 0 && i % 64 == 0 {
            out.push('\n');
        }
        out.push(char::from(ALPHABET[rng.below(64) as usize]));
    }
    out
}

fn app_yaml(i: usize, rng: &mut Rng, out: &mut String) {
    let ns = format!("team-{}", i % 97);
    let name = format!("app-{i}");
    let port = 8000 + (i % 50);
    let _ = write!(
        out,
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/name: {name}\n    app.kubernetes.io/part-of: shop\nspec:\n  selector:\n    app.kubernetes.io/name: {name}\n  ports:\n  - name: http\n    port: 80\n    targetPort: {port}\n  - name: metrics\n    port: 9090\n"
    );
    let hosts = 1 + rng.below(3) as usize;
    let paths = 1 + rng.below(4) as usize;
    let tls = i.is_multiple_of(5);
    let _ = write!(
        out,
        "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/name: {name}\n  annotations:\n    synapse.gen0sec.com/read-timeout: \"{}\"\n    synapse.gen0sec.com/force-https: \"true\"\n    nginx.ingress.kubernetes.io/proxy-connect-timeout: \"5\"\n    synapse.gen0sec.com/response-headers: \"X-App:{name}\"\nspec:\n  ingressClassName: synapse\n",
        30 + rng.below(90)
    );
    if tls {
        let _ = write!(out, "  tls:\n  - secretName: {name}-tls\n    hosts:\n");
        for h in 0..hosts {
            let _ = writeln!(out, "    - {name}-{h}.example.com");
        }
    }
    out.push_str("  rules:\n");
    for h in 0..hosts {
        let _ = write!(
            out,
            "  - host: {name}-{h}.example.com\n    http:\n      paths:\n"
        );
        for p in 0..paths {
            let path = if p == 0 {
                "/".to_string()
            } else {
                format!("/api/v{p}")
            };
            let port_ref = if p % 2 == 0 {
                "name: http".to_string()
            } else {
                "number: 80".to_string()
            };
            let _ = write!(
                out,
                "      - path: {path}\n        pathType: Prefix\n        backend:\n          service:\n            name: {name}\n            port:\n              {port_ref}\n"
            );
        }
    }
    if i.is_multiple_of(3) {
        let _ = write!(
            out,
            "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  parentRefs:\n  - name: edge\n    namespace: gateway\n  hostnames:\n  - {name}.routes.example.com\n  rules:\n  - matches:\n    - path:\n        type: PathPrefix\n        value: /\n    filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier:\n        set:\n        - name: X-Route\n          value: {name}\n    backendRefs:\n    - name: {name}\n      port: 80\n      weight: {}\n    - name: {name}\n      port: 9090\n      weight: {}\n",
            90 - rng.below(20),
            1 + rng.below(20)
        );
    }
    if tls {
        let body = pem_body(rng, 2200);
        let key = pem_body(rng, 600);
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}-tls\n  namespace: {ns}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n    -----BEGIN CERTIFICATE-----\n{}\n    -----END CERTIFICATE-----\n  tls.key: |\n    -----BEGIN PRIVATE KEY-----\n{}\n    -----END PRIVATE KEY-----\n",
            indent(&body),
            indent(&key)
        );
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn padding_yaml(i: usize, k: usize, rng: &mut Rng, out: &mut String) {
    let ns = format!("team-{}", i % 97);
    let name = format!("app-{i}");
    match k % 3 {
        0 => {
            let _ = write!(
                out,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}-{k}\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/name: {name}\nspec:\n  replicas: {}\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {name}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {name}\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/example/{name}:1.{}.0\n        ports:\n        - containerPort: 8080\n        env:\n        - name: LOG_LEVEL\n          value: info\n        - name: FEATURE_FLAGS\n          value: \"a,b,c\"\n        resources:\n          requests: {{cpu: 100m, memory: 128Mi}}\n          limits: {{cpu: 500m, memory: 512Mi}}\n        readinessProbe:\n          httpGet: {{path: /healthz, port: 8080}}\n",
                1 + rng.below(4),
                rng.below(30)
            );
        }
        1 => {
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config-{k}\n  namespace: {ns}\ndata:\n  settings.yaml: |\n    server:\n      port: 8080\n      workers: {}\n    cache:\n      ttl: 300s\n      size: 1024\n  extra: \"{}\"\n",
                1 + rng.below(16),
                pem_body(rng, 200).replace('\n', "")
            );
        }
        _ => {
            let _ = write!(
                out,
                "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets{i}x{k}.example.com\nspec:\n  group: example.com\n  names: {{kind: Widget{i}x{k}, plural: widgets{i}x{k}}}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size: {{type: integer}}\n              color: {{type: string}}\n"
            );
        }
    }
}

/// The whole corpus as one YAML stream (or one JSON object per line).
pub fn corpus(shape: Shape) -> String {
    let mut rng = Rng(shape.seed | 1);
    let mut out = String::new();
    out.push_str(SHARED);
    for i in 0..shape.apps {
        app_yaml(i, &mut rng, &mut out);
        for k in 0..shape.padding {
            padding_yaml(i, k, &mut rng, &mut out);
        }
    }
    if shape.json { to_json(&out) } else { out }
}

/// The whole corpus as one `kind: List`, as `kubectl get -o yaml` (or,
/// with `json`, `-o json`, indented) writes a cluster's objects.
pub fn corpus_list(shape: Shape) -> String {
    let yaml = corpus(Shape {
        json: false,
        ..shape
    });
    if shape.json {
        let items: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&yaml)
            .filter_map(|doc| <serde_json::Value as serde::Deserialize>::deserialize(doc).ok())
            .filter(|v| !v.is_null())
            .collect();
        let list = serde_json::json!({
            "apiVersion": "v1",
            "items": items,
            "kind": "List",
            "metadata": {"resourceVersion": ""},
        });
        let mut out = serde_json::to_string_pretty(&list).unwrap_or_default();
        out.push('\n');
        return out;
    }
    let mut out = String::from("apiVersion: v1\nitems:\n");
    // Each document's lines two columns in, the first behind the item's `- `.
    let mut first = true;
    for line in yaml.lines() {
        if line == "---" {
            first = true;
            continue;
        }
        out.push_str(match (first, line.is_empty()) {
            (true, _) => "- ",
            (false, true) => "",
            (false, false) => "  ",
        });
        first = false;
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    out
}

/// One YAML file per app (the shared objects in `shared.yaml`).
pub fn corpus_files(shape: Shape) -> Vec<(String, String)> {
    let mut rng = Rng(shape.seed | 1);
    let mut files = vec![("shared.yaml".to_string(), SHARED.to_string())];
    for i in 0..shape.apps {
        let mut out = String::new();
        app_yaml(i, &mut rng, &mut out);
        for k in 0..shape.padding {
            padding_yaml(i, k, &mut rng, &mut out);
        }
        files.push((format!("apps/app-{i:06}.yaml"), out));
    }
    files
}

/// The same objects as JSON, one object per line.
fn to_json(yaml: &str) -> String {
    let mut out = String::new();
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        if let Ok(v) = <serde_json::Value as serde::Deserialize>::deserialize(doc)
            && !v.is_null()
        {
            out.push_str(&v.to_string());
            out.push('\n');
        }
    }
    out
}

/// What `mutate` inserts: YAML's indicators and the scalars whose type is
/// in doubt.
const TOKENS: &[&str] = &[
    ":", ": ", "- ", "-", "#", " #", "[", "]", "{", "}", ",", ", ", "'", "\"", "\\", "&a ", "*a",
    "!!str ", "|", "|-", ">", "? ", "---\n", "...\n", "\n", " ", "  ", "\t", "~", "null", "0x1F",
    "1e3", "yes", "-1", ".5", "007", "é", "\r", "%", "@", "`", "{}", "[]",
];

/// The byte index at or below `i` that starts a char of `s`.
fn boundary(s: &str, i: usize) -> usize {
    let mut i = i % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `text` with `ops` applied, each `(op, at, arg)`: a token of `TOKENS`
/// inserted, a few bytes cut, a line repeated, dropped, swapped with the
/// next or re-indented, or a `k: v` value rewritten in flow style
/// (`k: [v]`, `k: {x: v}`) — the edits that reach the corners of a YAML
/// reader. For the differential test of the fast reader and the fuzzer
/// (`examples/fuzz.rs`); deterministic for given ops.
pub fn mutate(text: &str, ops: &[(u8, usize, u8)]) -> String {
    let mut s = text.to_string();
    for &(op, at, arg) in ops {
        let mut lines: Vec<String> = s.lines().map(str::to_string).collect();
        let line = if lines.is_empty() {
            0
        } else {
            at % lines.len()
        };
        match op % 8 {
            // A token inserted anywhere.
            0 | 1 => {
                let i = boundary(&s, at);
                s.insert_str(
                    i,
                    TOKENS.get(usize::from(arg) % TOKENS.len()).unwrap_or(&":"),
                );
                continue;
            }
            // A few bytes removed.
            2 => {
                let i = boundary(&s, at);
                let j = boundary(&s, i + usize::from(arg % 4) + 1).max(i);
                s.replace_range(i..j, "");
                continue;
            }
            // A line repeated, removed, or swapped with the next.
            3 => {
                if let Some(l) = lines.get(line).cloned() {
                    lines.insert(line, l);
                }
            }
            4 if line < lines.len() => {
                lines.remove(line);
            }
            5 if line + 1 < lines.len() => lines.swap(line, line + 1),
            // A line's indentation changed.
            6 => {
                let Some(l) = lines.get_mut(line) else {
                    continue;
                };
                if arg % 2 == 0 {
                    l.insert_str(0, &" ".repeat(usize::from(arg % 3) + 1));
                } else if let Some(rest) = l.strip_prefix("  ") {
                    *l = rest.to_string();
                }
            }
            // A block value rewritten in flow style: `k: v` → `k: [v]`
            // or `k: {x: v}`.
            7 => {
                let Some(l) = lines.get_mut(line) else {
                    continue;
                };
                if let Some(i) = l.find(": ") {
                    let (head, value) = l.split_at(i + 2);
                    *l = if arg % 2 == 0 {
                        format!("{head}[{value}]")
                    } else {
                        format!("{head}{{x: {value}}}")
                    };
                }
            }
            _ => {}
        }
        s = lines.join("\n");
        s.push('\n');
    }
    s
}
