//! Helpers shared by the integration tests: where the corpus is, and how
//! to run the binary.
#![allow(dead_code)]

pub mod expect;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The shared corpus: `SYNROUTE_CORPUS`, else `../shared/corpus`. When the
/// variable is set and the folder is missing, the test fails; when it is
/// unset and the default is missing, the test says so and is skipped.
pub fn corpus_root() -> Option<PathBuf> {
    shared_path("SYNROUTE_CORPUS", "../shared/corpus", Path::is_dir)
}

/// Something of `../shared` a test needs: the path in `var`, else
/// `default`. Set and not `there`, the test fails; unset and the default
/// not there, it says so and is skipped (None).
pub fn shared_path(var: &str, default: &str, there: fn(&Path) -> bool) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(there(&p), "{var}={} is missing", p.display());
            Some(p)
        }
        None => {
            let p = PathBuf::from(default);
            if there(&p) {
                Some(p)
            } else {
                eprintln!("skipping: {default} is missing and {var} is unset");
                None
            }
        }
    }
}

/// Runs synroute with `args`, feeding `stdin` and setting `env`;
/// GITHUB_ACTIONS is cleared so that output formats are what tests ask.
pub fn run(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synroute"));
    cmd.args(args)
        .env_remove("GITHUB_ACTIONS")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn synroute");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    child.wait_with_output().expect("wait")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Pins `text` as the insta snapshot `name` in the top-level snapshots/.
pub fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// The `*.yaml` files of a fixture folder, sorted, as sources.
pub fn fixture_sources(dir: &str) -> Vec<synroute::Source> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("fixture")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| synroute::Source::new(p.to_string_lossy(), std::fs::read(p).expect("read")))
        .collect()
}

/// The documents of `sources`, each passed through `edit`, shuffled by
/// `seed` (xorshift) and dealt `per_file` to a file into new sources.
pub fn dealt(
    sources: &[synroute::Source],
    seed: u64,
    per_file: usize,
    edit: impl Fn(&str) -> String,
) -> Vec<synroute::Source> {
    let mut docs: Vec<String> = sources
        .iter()
        .flat_map(|s| {
            String::from_utf8_lossy(&s.content)
                .split("\n---\n")
                .map(&edit)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut state = seed | 1;
    for i in (1..docs.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        docs.swap(i, (state % (i as u64 + 1)) as usize);
    }
    docs.chunks(per_file.max(1))
        .enumerate()
        .map(|(i, c)| {
            synroute::Source::new(format!("part-{i}.yaml"), c.join("\n---\n").into_bytes())
        })
        .collect()
}

/// Every document of `sources` as an item of one `kind: List`, as
/// `kubectl get -o yaml` (or `-o json`) writes them.
pub fn as_list(sources: &[synroute::Source], json: bool) -> synroute::Source {
    let items = yaml_documents(sources);
    let mut list = serde_yaml::Mapping::new();
    list.insert("apiVersion".into(), "v1".into());
    list.insert("kind".into(), "List".into());
    list.insert("items".into(), serde_yaml::Value::Sequence(items));
    let list = serde_yaml::Value::Mapping(list);
    if json {
        synroute::Source::new("list.json", serde_json::to_vec_pretty(&list).expect("JSON"))
    } else {
        synroute::Source::new("list.yaml", serde_yaml::to_string(&list).expect("YAML"))
    }
}

/// The YAML documents of `sources`, in order; empty ones and ones that do
/// not parse left out.
pub fn yaml_documents(sources: &[synroute::Source]) -> Vec<serde_yaml::Value> {
    let mut out = Vec::new();
    for s in sources {
        let text = String::from_utf8_lossy(&s.content);
        for doc in serde_yaml::Deserializer::from_str(&text) {
            match <serde_yaml::Value as serde::Deserialize>::deserialize(doc) {
                Ok(v) if !v.is_null() => out.push(v),
                _ => {}
            }
        }
    }
    out
}

/// The source folder of a package of the build, found through `cargo
/// metadata` (schemas and sources that ship inside dependencies).
pub fn package_dir(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let meta = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .output()
        .expect("cargo metadata");
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).expect("metadata json");
    let manifest = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["manifest_path"].as_str())
        .unwrap_or_else(|| panic!("{name} in cargo metadata"));
    PathBuf::from(manifest)
        .parent()
        .expect("package folder")
        .to_path_buf()
}

/// A `kubernetes.io/tls` Secret holding a fresh self-signed certificate
/// for its hosts and the certificate's key.
pub struct TlsSecret {
    /// The Secret as a YAML document (stringData, no `---`).
    pub yaml: String,
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    pub key_pem: String,
}

pub fn tls_secret(name: &str, namespace: &str, hosts: &[&str]) -> TlsSecret {
    let key = rcgen::KeyPair::generate().expect("key");
    let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    let cert = rcgen::CertificateParams::new(names)
        .and_then(|p| p.self_signed(&key))
        .expect("certificate");
    let indent = |pem: &str| {
        pem.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {namespace}}}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{}  tls.key: |\n{}",
        indent(&cert_pem),
        indent(&key_pem)
    );
    TlsSecret {
        yaml,
        cert_der: cert.der().to_vec(),
        cert_pem,
        key_pem,
    }
}
