//! The one way from text a user gave to a parsed value. Every parse of
//! YAML or JSON in synroute — manifests, routing files of every target,
//! `proxy.json`, kustomizations, what `check`, `diff`, `explain`, `hash`,
//! `listeners` and `watch` read — calls a function of this module, which
//! puts the text through the same bounds before a parser sees it; no other
//! module names serde_yaml's or serde_json's parsers (tests/architecture.rs
//! holds the code to that).
//!
//! The bounds: collections nested deeper than the parsers read (128
//! levels) are refused by one pass over the bytes (`depth`), at the line
//! and column where the depth goes past — serde_yaml's scanner takes time
//! quadratic in that depth to refuse it itself (a 200 KB `[[[[…` took 30
//! s). Alias expansion is bounded by serde_yaml (its repetition limit),
//! duplicate keys and every other error by the parsers, in linear time;
//! a long scalar costs its length. Every refusal is a `Failure` with the
//! message and, where known, the line and column (1-based), which callers
//! report as SR1001.

mod depth;

use std::fmt;

use serde::de::DeserializeOwned;

pub use depth::MAX_DEPTH;

/// Why a text was not read: the parser's message (or the bounds'), and
/// where, when known (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// As the parser words it, its position included (`… at line 3
    /// column 5`), as serde_yaml's and serde_json's errors print.
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Failure {
    /// `line L column C: message` where the place is known.
    pub fn placed(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("line {l} column {c}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<serde_yaml::Error> for Failure {
    fn from(e: serde_yaml::Error) -> Failure {
        let at = e.location();
        Failure {
            message: e.to_string(),
            line: at.as_ref().and_then(|l| u32::try_from(l.line()).ok()),
            column: at.as_ref().and_then(|l| u32::try_from(l.column()).ok()),
        }
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Failure {
        let known = e.line() > 0;
        Failure {
            message: e.to_string(),
            line: known.then(|| u32::try_from(e.line()).ok()).flatten(),
            column: known.then(|| u32::try_from(e.column()).ok()).flatten(),
        }
    }
}

/// The bounds alone: Ok when a parser may be given `text`.
pub fn bounds(text: &str) -> Result<(), Failure> {
    match depth::too_deep(text) {
        None => Ok(()),
        Some((line, column)) => Err(Failure {
            message: format!(
                "collections nested deeper than {MAX_DEPTH} levels, the most the YAML and JSON parsers read; refused before parsing at line {line} column {column}"
            ),
            line: Some(line),
            column: Some(column),
        }),
    }
}

/// `text` as YAML (one document), into `T`.
pub fn yaml<T: DeserializeOwned>(text: &str) -> Result<T, Failure> {
    bounds(text)?;
    Ok(serde_yaml::from_str(text)?)
}

/// `yaml`, refusing a mapping that holds a key twice wherever it is (a
/// map type alone keeps the last value without a word; kubectl refuses
/// the document). The text is read once, into serde_yaml's tree (which
/// refuses a key twice), and `T` is built from the tree; only a tree that
/// is not a `T` is read again, for the parser's located message.
pub fn yaml_unique_keys<T: DeserializeOwned>(text: &str) -> Result<T, Failure> {
    let tree = yaml::<serde_yaml::Value>(text)?;
    match T::deserialize(tree) {
        Ok(value) => Ok(value),
        Err(_) => Ok(serde_yaml::from_str(text)?),
    }
}

/// `f` given a YAML deserialiser of `text` (one document or a stream),
/// for callers that drive it themselves (typed by kind, document by
/// document).
pub fn yaml_with<T>(
    text: &str,
    f: impl FnOnce(serde_yaml::Deserializer<'_>) -> Result<T, serde_yaml::Error>,
) -> Result<T, Failure> {
    bounds(text)?;
    Ok(f(serde_yaml::Deserializer::from_str(text))?)
}

/// `text` as JSON, into `T`.
pub fn json<T: DeserializeOwned>(text: &str) -> Result<T, Failure> {
    bounds(text)?;
    Ok(serde_json::from_str(text)?)
}

/// `text` as JSON into `T`, which may borrow from it (raw values).
pub fn json_borrowed<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, Failure> {
    bounds(text)?;
    Ok(serde_json::from_str(text)?)
}

/// `bytes` as JSON, into `T` (text that is not UTF-8 is a failure).
pub fn json_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    let text = std::str::from_utf8(bytes).map_err(|e| Failure {
        message: format!("not UTF-8: {e}"),
        line: None,
        column: None,
    })?;
    json(text)
}

/// `f` given a JSON deserialiser of `text`, for callers that drive it
/// themselves (a stream of values, typed by kind).
pub fn json_with<'a, T>(
    text: &'a str,
    f: impl FnOnce(
        serde_json::Deserializer<serde_json::de::StrRead<'a>>,
    ) -> Result<T, serde_json::Error>,
) -> Result<T, Failure> {
    bounds(text)?;
    Ok(f(serde_json::Deserializer::from_str(text))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_located_whatever_the_format() {
        let deep = |open: &str, close: &str| {
            format!("{{\"a\": {}1{}}}\n", open.repeat(1000), close.repeat(1000))
        };
        for text in [deep("[", "]"), deep("{\"b\": ", "}")] {
            let y = yaml::<serde_yaml::Value>(&text).expect_err("too deep");
            let j = json::<serde_json::Value>(&text).expect_err("too deep");
            assert_eq!(y, j);
            assert_eq!(y.line, Some(1));
            assert!(y.column.is_some_and(|c| c > 128), "{y:?}");
            assert!(y.message.contains("nested deeper than 128"), "{y}");
        }
        // What the parsers refuse keeps their words and place.
        let e = yaml::<serde_yaml::Value>("a: [\n").expect_err("unclosed");
        assert_eq!((e.line, e.column), (Some(2), Some(1)));
        let e = json::<serde_json::Value>("{\n  \"a\": }").expect_err("no value");
        assert_eq!(e.line, Some(2));
        let e = json_bytes::<serde_json::Value>(b"\xff").expect_err("not UTF-8");
        assert!(e.message.contains("UTF-8"));
        assert_eq!(yaml::<u32>("7").ok(), Some(7));
    }
}
