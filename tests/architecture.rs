//! The layout rules docs/development.md's "How it is built" states, checked on the
//! source itself: no import circle between the files of `src/`, and no
//! benchmark-only code in the library; files small, each saying what it
//! owns.
//!
//! A file's imports are the `crate::…` and `super::…` paths it names
//! outside its tests module, each resolved to the file of the longest
//! module prefix. A module's own `mod.rs` (or `lib.rs`) is its interface:
//! its children may use what it defines, and its references to its
//! children by their bare names are not counted; any other circle is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every file under `src/`, by its module path (`["translate", "attach"]`).
fn modules() -> BTreeMap<Vec<String>, (String, String)> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new("src")
        .into_iter()
        .filter_map(Result::ok)
    {
        let p = entry.path();
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = p.strip_prefix("src").expect("under src").with_extension("");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().to_string())
            .collect();
        if matches!(
            parts.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            parts.pop();
        }
        if p == Path::new("src/main.rs") {
            continue;
        }
        let text = std::fs::read_to_string(p).expect("read");
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or("")
            .to_string();
        out.insert(parts, (p.display().to_string(), code));
    }
    out
}

/// The identifiers of a path after `crate` or `super`: `::a::b::{c, d}`.
fn paths(code: &str, root: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(root) {
        let before = rest[..i].chars().last();
        rest = &rest[i + root.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut segs = Vec::new();
        let mut r = rest;
        while let Some(after) = r.strip_prefix("::") {
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for inner in group[..end].split(',') {
                    let first = inner.trim().split("::").next().unwrap_or("");
                    let first = first.split(" as ").next().unwrap_or("").trim();
                    if !first.is_empty() && first != "self" {
                        let mut s = segs.clone();
                        s.push(first.to_string());
                        out.push(s);
                    }
                }
                break;
            }
            let id: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if id.is_empty() {
                break;
            }
            r = &after[id.len()..];
            segs.push(id);
        }
        out.push(segs);
    }
    out
}

#[test]
fn no_import_circle_between_files() {
    let mods = modules();
    let resolve = |path: &[String]| {
        (0..=path.len())
            .rev()
            .find_map(|k| mods.get(&path[..k]).map(|(f, _)| f.clone()))
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (me, (file, code)) in &mods {
        let set = edges.entry(file.clone()).or_default();
        for p in paths(code, "crate") {
            if let Some(t) = resolve(&p).filter(|t| t != file) {
                set.insert(t);
            }
        }
        // `super` from `a/b.rs` is `a`; from `a/b/mod.rs`, also `a`.
        let parent = &me[..me.len().saturating_sub(1)];
        for p in paths(code, "super") {
            let full: Vec<String> = parent.iter().cloned().chain(p).collect();
            if let Some(t) = resolve(&full).filter(|t| t != file) {
                set.insert(t);
            }
        }
    }
    // A circle is a file that reaches itself.
    let mut circles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = edges[start].iter().collect();
        while let Some(f) = stack.pop() {
            if f == start {
                circles.push(start.clone());
                break;
            }
            if seen.insert(f.clone()) {
                stack.extend(edges.get(f).into_iter().flatten());
            }
        }
    }
    assert!(
        circles.is_empty(),
        "files in an import circle: {circles:?}\n{:#?}",
        circles.iter().map(|c| (c, &edges[c])).collect::<Vec<_>>()
    );
    // The check sees imports at all: attach.rs uses listener.rs.
    assert!(edges["src/translate/attach.rs"].contains("src/translate/listener.rs"));
}

#[test]
fn the_library_carries_no_benchmark_code() {
    let lib = std::fs::read_to_string("src/lib.rs").expect("lib.rs");
    assert!(!Path::new("src/synth.rs").exists());
    // The corpus generator is compiled into the library's own tests only.
    let decl = lib.find("mod synth;").expect("synth for unit tests");
    assert!(
        lib[..decl]
            .trim_end()
            .ends_with("#[path = \"../tests/support/synth.rs\"]")
    );
    assert!(lib[..decl].contains("#[cfg(test)]\n#[path"));
}

/// No file of `src/` is over 800 lines outside its tests module, and each
/// opens with its `//!` paragraph.
#[test]
fn files_are_small_and_say_what_they_own() {
    let mut long = Vec::new();
    for (file, code) in modules().values() {
        let lines = code.lines().count();
        if lines > 800 {
            long.push(format!("{file}: {lines} lines"));
        }
        assert!(
            code.starts_with("//!"),
            "{file} opens without a //! paragraph"
        );
    }
    assert!(long.is_empty(), "over 800 lines: {long:?}");
}

/// Every parse of YAML or JSON goes through `guard`, which bounds the text
/// before a parser sees it: no other file of the library names the
/// parsers' entry points (tests modules aside, which read our own text).
#[test]
fn only_the_guard_calls_the_parsers() {
    let entries = [
        "serde_yaml::from_str",
        "serde_yaml::from_slice",
        "serde_yaml::from_reader",
        "serde_json::from_str",
        "serde_json::from_slice",
        "serde_json::from_reader",
        "Deserializer::from_str",
        "Deserializer::from_slice",
        "Deserializer::from_reader",
    ];
    let mut found = Vec::new();
    for (module, (file, code)) in modules() {
        if module.first().is_some_and(|m| m == "guard") {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for e in entries.iter().filter(|e| line.contains(**e)) {
                found.push(format!("{file}:{}: {e}", n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "parse through crate::guard instead:\n{}",
        found.join("\n")
    );
    // And the guard is there to call.
    let guard = std::fs::read_to_string("src/guard/mod.rs").expect("src/guard/mod.rs");
    assert!(guard.contains("pub fn yaml<") && guard.contains("pub fn json<"));
}
