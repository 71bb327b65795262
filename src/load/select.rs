//! The documents of kinds the render does not read, for the jobs beside it
//! (listener synthesis reads WrappedGateways and every route kind): split
//! as the render splits them, each kept as its text with its file and
//! lines, for the caller to parse as it needs. Items of a `kind: List` are
//! not looked into. Nothing is typed here.

use std::sync::Arc;

use super::document::content_line;
use super::{Doc, parse, split_source};
use crate::Source;
use crate::diag::{Code, Diagnostic, Location};

/// The metadata the jobs beside rendering read of an object.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct RawMeta {
    pub name: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// One document, where it is, and what it says it is.
#[derive(Clone, Debug)]
pub struct RawDoc<'s> {
    pub file: Arc<str>,
    pub text: &'s str,
    /// The line of the document's first byte in its file (1-based).
    pub first_line: u32,
    /// The document's first line that holds content.
    pub line: u32,
    pub api_version: String,
    pub kind: String,
}

impl RawDoc<'_> {
    /// SR1001 for a document that serde_yaml could not read as its type,
    /// at the line and column the error names.
    pub fn malformed(&self, e: &serde_yaml::Error) -> Diagnostic {
        let mut d = Diagnostic::new(Code::MalformedDocument, format!("{}: {e}", self.kind));
        let line = e.location().map_or(0, |l| {
            u32::try_from(l.line()).unwrap_or(1).saturating_sub(1)
        });
        d.location = Some(Location {
            file: self.file.to_string(),
            line: self.first_line + line,
            column: e.location().and_then(|l| u32::try_from(l.column()).ok()),
        });
        d
    }
}

/// The documents of `sources` whose kind is one of `kinds`, in input
/// order. A cheap textual test skips a source that cannot hold any; a
/// source that is not UTF-8 or does not split is left to the render,
/// which reports it.
pub fn documents_of<'s>(sources: &'s [Source], kinds: &[&str]) -> Vec<RawDoc<'s>> {
    let mut out = Vec::new();
    for (idx, source) in sources.iter().enumerate() {
        let mentions = kinds
            .iter()
            .any(|k| contains(&source.content, k.as_bytes()));
        if !mentions {
            continue;
        }
        let Ok(docs) = split_source(idx, source, 1) else {
            continue;
        };
        let file: Arc<str> = Arc::from(source.name.as_str());
        for doc in docs.iter().flatten() {
            if let Some(raw) = raw(&file, doc, kinds) {
                out.push(raw);
            }
        }
    }
    out
}

fn raw<'s>(file: &Arc<str>, doc: &Doc<'s>, kinds: &[&str]) -> Option<RawDoc<'s>> {
    let json = doc.text.trim_start().starts_with('{');
    let head = if json {
        parse::sniff_json(doc.text).or_else(|| parse::head_json(doc.text).ok())
    } else {
        parse::sniff(doc.text).or_else(|| parse::head_yaml(doc.text).ok())
    }?;
    let kind = head.kind?;
    if !kinds.contains(&kind.as_str()) {
        return None;
    }
    Some(RawDoc {
        file: file.clone(),
        text: doc.text,
        first_line: doc.span.first_line,
        line: content_line(doc),
        api_version: head.api_version.unwrap_or_default(),
        kind,
    })
}

/// Whether `needle` occurs in `hay` (a vectorised scan, once).
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_kinds_asked_for_with_their_lines() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# c\napiVersion: x/v1\nkind: WrappedGateway\nmetadata: {name: w}\n";
        let sources = [Source::new("a.yaml", text.as_bytes().to_vec())];
        let docs = documents_of(&sources, &["WrappedGateway"]);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].kind, "WrappedGateway");
        assert_eq!(docs[0].api_version, "x/v1");
        assert_eq!(docs[0].line, 6);
        assert!(docs[0].text.contains("name: w"));
        assert!(documents_of(&sources, &["UDPRoute"]).is_empty());
    }
}
