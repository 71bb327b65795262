//! The hostile inputs every command is run on (tests/hostile.rs) and
//! measured with (examples/hostile.rs): deep flow and block nesting as
//! manifests and as routing files of each target, deep JSON, billion
//! laughs, a 20 MB scalar, 500,000 empty documents, duplicate keys by the
//! hundred thousand. Generated here, byte for byte the same each time
//! (most are too large, or too repetitive, to be worth committing as
//! files).
#![allow(dead_code)]

/// One hostile input: its file name (the extension says YAML or JSON),
/// its bytes, and whether the render (and `check`, `diff`, `explain`,
/// `watch`) refuses it as malformed (SR1001, located), and whether `hash`
/// does (it reads ConfigMaps, Secrets and workloads alone).
pub struct Hostile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub refused: bool,
    pub hash_refuses: bool,
}

/// `open` n times, `inner`, then `close` n times.
fn nest(open: &str, inner: &str, close: &str, n: usize) -> String {
    let mut s = String::with_capacity((open.len() + close.len()) * n + inner.len());
    for _ in 0..n {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..n {
        s.push_str(close);
    }
    s
}

/// Block mappings nested `n` deep under `head`, one space of indentation
/// per level (about n²/2 bytes).
fn block(head: &str, n: usize) -> String {
    let mut s = String::from(head);
    for i in 1..=n {
        s.push_str(&" ".repeat(i));
        s.push_str("a:");
        s.push('\n');
    }
    s.push_str(&" ".repeat(n + 1));
    s.push_str("b: 1\n");
    s
}

/// Nine levels of nine aliases of the level before: 9⁹ strings if
/// expanded.
fn laughs() -> String {
    let mut s = String::from("lol:\n");
    s.push_str(
        "  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = 'a';
    for c in 'b'..='i' {
        let refs = vec![format!("*{prev}"); 9].join(",");
        s.push_str(&format!("  {c}: &{c} [{refs}]\n"));
        prev = c;
    }
    s
}

pub fn inputs() -> Vec<Hostile> {
    // (name, text, refused by the render, refused by hash)
    let h = |name, text: String, refused, hash_refuses| Hostile {
        name,
        bytes: text.into_bytes(),
        refused,
        hash_refuses,
    };
    let configmap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: {app.kubernetes.io/name: synapse}}\n";
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n";
    vec![
        h(
            "flow-manifest.yaml",
            format!("a: {}\n", nest("[", "", "]", 100_000)),
            true,
            false,
        ),
        // A kind the render does not read is skipped unparsed; hash reads it.
        h(
            "flow-configmap.yaml",
            format!("{configmap}data: {}\n", nest("{a: ", "b", "}", 50_000)),
            false,
            true,
        ),
        // Block nesting takes a byte of indentation per level: 1 MB holds
        // about 1,400 levels, which the fast reader reads in linear time.
        h(
            "block-manifest.yaml",
            block(&format!("{service}spec:\n"), 1_000),
            false,
            false,
        ),
        h(
            "block-sequence.yaml",
            format!("{}x\n", "- ".repeat(100_000)),
            true,
            false,
        ),
        h(
            "deep-manifest.json",
            format!(
                "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"x\"}}, \"data\": {}}}\n",
                nest("[", "", "]", 100_000)
            ),
            true,
            true,
        ),
        h(
            "flow-v1.yaml",
            format!("upstreams: {}\n", nest("{a: ", "b", "}", 50_000)),
            true,
            false,
        ),
        h(
            "flow-0.2.yaml",
            format!(
                "arxignis_paths: {}\nupstreams: {{}}\n",
                nest("{a: ", "b", "}", 50_000)
            ),
            true,
            false,
        ),
        h(
            "flow-v2.yaml",
            format!("version: 2\nhosts: {}\n", nest("{a: ", "b", "}", 50_000)),
            true,
            false,
        ),
        h("block-v1.yaml", block("upstreams:\n", 1_000), true, false),
        h(
            "block-0.2.yaml",
            block("arxignis_paths:\n", 1_000),
            true,
            false,
        ),
        h(
            "block-v2.yaml",
            block("version: 2\nhosts:\n", 1_000),
            true,
            false,
        ),
        h(
            "deep-pingress.json",
            format!("{{\"rules\": {}}}\n", nest("[", "", "]", 100_000)),
            true,
            false,
        ),
        h("laughs.yaml", laughs(), true, false),
        h(
            "big-scalar.yaml",
            format!("{configmap}data:\n  k: {}\n", "x".repeat(20 << 20)),
            false,
            false,
        ),
        h(
            "empty-documents.yaml",
            "---\n".repeat(500_000),
            false,
            false,
        ),
        h(
            "duplicate-keys-manifest.yaml",
            format!("{service}  annotations:\n{}", "    k: v\n".repeat(100_000)),
            true,
            false,
        ),
        h(
            "duplicate-keys-configmap.yaml",
            format!("{configmap}data:\n{}", "  k: v\n".repeat(100_000)),
            false,
            true,
        ),
        h(
            "duplicate-keys-v1.yaml",
            format!(
                "upstreams:\n{}",
                "  a.example.com: {paths: {}}\n".repeat(100_000)
            ),
            true,
            false,
        ),
    ]
}

/// The commands, as arguments with `{f}` the hostile file, `{o}` an
/// output that must not appear when the input is refused.
pub fn commands(watch: bool) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut v = vec![
        ("render", vec!["render", "{f}", "-o", "{o}"]),
        (
            "render --check",
            vec!["render", "--check", "{f}", "-o", "{o}"],
        ),
        ("check", vec!["check", "{f}"]),
        ("check --target v1", vec!["check", "--target", "v1", "{f}"]),
        (
            "check --target 0.2",
            vec!["check", "--target", "0.2", "{f}"],
        ),
        ("check --target v2", vec!["check", "--target", "v2", "{f}"]),
        (
            "check --target pingress",
            vec!["check", "--target", "pingress", "{f}"],
        ),
        ("diff FILE demo", vec!["diff", "{f}", "fixtures/demo"]),
        ("diff demo FILE", vec!["diff", "fixtures/demo", "{f}"]),
        ("explain", vec!["explain", "https://a.example.com/", "{f}"]),
        ("hash", vec!["hash", "{f}"]),
        ("listeners", vec!["listeners", "{f}", "-o", "{o}"]),
    ];
    if watch {
        v.push((
            "watch --once",
            vec!["watch", "--once", "--no-reload", "{f}", "-o", "{o}"],
        ));
    }
    v
}
