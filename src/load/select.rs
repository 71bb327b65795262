//! The documents of kinds the render does not read, for the jobs beside it
//! (listener synthesis reads WrappedGateways and every route kind): split
//! as the render splits them, each kept as its text with its file and
//! lines, for the caller to parse as it needs. The items of a `kind:
//! List` are documents too: a JSON item's text as it is, a YAML item's
//! lines moved left to stand alone (so that a field's line in it is its
//! line in the file). Nothing is typed here.

use std::borrow::Cow;
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
    /// Borrowed from the source; owned for an item of a YAML List.
    pub text: Cow<'s, str>,
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
    pub fn malformed(&self, e: &crate::guard::Failure) -> Diagnostic {
        let mut d = Diagnostic::new(Code::MalformedDocument, format!("{}: {e}", self.kind));
        let line = e.line.map_or(0, |l| l.saturating_sub(1));
        d.location = Some(Location {
            file: self.file.to_string(),
            line: self.first_line + line,
            column: e.column,
        });
        d
    }
}

/// A diagnostic about `field` of the object whose document is `text`,
/// starting at `first_line` of `file`: at the field's line and column.
pub fn diag_in(
    (file, text, first_line): (&str, &str, u32),
    object: Option<crate::diag::ObjectRef>,
    code: Code,
    message: String,
    field: &crate::model::FieldPath,
) -> Diagnostic {
    let (line, column) = super::locate(text, field);
    Diagnostic {
        location: Some(Location {
            file: file.to_string(),
            line: first_line + line,
            column: Some(column),
        }),
        object,
        field: (!field.is_root()).then(|| field.to_string()),
        ..Diagnostic::new(code, message)
    }
}

/// The documents of `sources` whose kind is one of `kinds`, in input
/// order. A cheap textual test skips a source that cannot hold any; what
/// cannot be read in the others is left out (`documents_and_refusals`
/// says what).
pub fn documents_of<'s>(sources: &'s [Source], kinds: &[&str]) -> Vec<RawDoc<'s>> {
    documents_and_refusals(sources, kinds).0
}

/// `documents_of`, and an SR1001 at each place of a source that names one
/// of `kinds` where it cannot be read — text that is not UTF-8, a stream
/// that does not split, a document whose kind does not read — since any of
/// them could be one of those kinds. The jobs beside the render report
/// them as the render does: the input is malformed.
pub fn documents_and_refusals<'s>(
    sources: &'s [Source],
    kinds: &[&str],
) -> (Vec<RawDoc<'s>>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut refused = Vec::new();
    for (idx, source) in sources.iter().enumerate() {
        let mentions = kinds
            .iter()
            .any(|k| contains(&source.content, k.as_bytes()));
        if !mentions {
            continue;
        }
        let at = |line: u32, column: Option<u32>, message: String| {
            let mut d = Diagnostic::new(Code::MalformedDocument, message);
            d.location = Some(Location {
                file: source.name.clone(),
                line,
                column,
            });
            d
        };
        let docs = match split_source(idx, source, 1) {
            Ok(docs) => docs,
            Err((line, column)) => {
                refused.push(at(line, Some(column), "the file is not UTF-8".to_string()));
                continue;
            }
        };
        let file: Arc<str> = Arc::from(source.name.as_str());
        for doc in docs {
            let doc = match doc {
                Ok(doc) => doc,
                Err((_, e)) => {
                    refused.push(at(e.line, e.column, e.message));
                    continue;
                }
            };
            match raw(&file, Cow::Borrowed(doc.text), &doc, kinds) {
                Found::Doc(raw) => out.push(raw),
                Found::List => out.extend(items(&file, &doc, kinds)),
                Found::Other => {}
                Found::Unread(e) => refused.push(at(
                    doc.span.first_line + e.line.saturating_sub(1),
                    Some(e.column),
                    e.message,
                )),
            }
        }
    }
    (out, refused)
}

/// What a document is to `documents_of`.
enum Found<'s> {
    Doc(RawDoc<'s>),
    List,
    Other,
    /// Its `apiVersion` and `kind` do not read: it does not parse.
    Unread(parse::ParseError),
}

/// `text` (`doc`'s, or one of its List items') as a document of `kinds`.
fn raw<'s>(file: &Arc<str>, text: Cow<'s, str>, doc: &Doc<'_>, kinds: &[&str]) -> Found<'s> {
    let json = text.trim_start().starts_with('{');
    let head = if json {
        match parse::sniff_json(&text) {
            Some(h) => Ok(h),
            None => parse::head_json(&text),
        }
    } else {
        match parse::sniff(&text) {
            Some(h) => Ok(h),
            None => parse::head_yaml(&text),
        }
    };
    let head = match head {
        Ok(h) => h,
        Err(e) => return Found::Unread(e),
    };
    let Some((kind, api_version)) = head.kind.map(|k| (k, head.api_version)) else {
        return Found::Other;
    };
    if !kinds.contains(&kind.as_str()) {
        let list = parse::classify(api_version.as_deref().unwrap_or(""), &kind);
        return if list == parse::Class::List {
            Found::List
        } else {
            Found::Other
        };
    }
    Found::Doc(RawDoc {
        file: file.clone(),
        line: content_line(&Doc {
            text: &text,
            span: doc.span,
        }),
        text,
        first_line: doc.span.first_line,
        api_version: api_version.unwrap_or_default(),
        kind,
    })
}

/// The items of the List `doc` that are of `kinds`. A List whose items
/// cannot be told apart in its text (flow style) is left to the render.
fn items<'s>(file: &Arc<str>, doc: &Doc<'s>, kinds: &[&str]) -> Vec<RawDoc<'s>> {
    let json = doc.text.trim_start().starts_with('{');
    let spans = if json {
        match parse::list_items_json(doc.text) {
            Ok(items) => super::list::item_spans(doc, &items),
            Err(_) => Vec::new(),
        }
    } else {
        super::list::item_spans_yaml(doc)
    };
    let mut out = Vec::new();
    for span in spans {
        let (Some(from), Some(to)) = (
            span.start.checked_sub(doc.span.start),
            span.end.checked_sub(doc.span.start),
        ) else {
            continue;
        };
        let Some(text) = doc.text.get(from..to) else {
            continue;
        };
        let text = if json {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(standalone(text))
        };
        let item = Doc { text: "", span };
        if let Found::Doc(raw) = raw(file, text, &item, kinds) {
            out.push(raw);
        }
    }
    out
}

/// A YAML List item (`- key: v` and the lines under it) as a document of
/// its own, line for line: the dash and the item's indentation are taken
/// off every line (a comment or blank line with less keeps what is left).
fn standalone(item: &str) -> String {
    let mut lines = item.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return String::new();
    };
    let lead = first.len() - first.trim_start_matches(' ').len();
    let after_dash = first.get(lead + 1..).unwrap_or_default();
    let gap = after_dash.len() - after_dash.trim_start_matches(' ').len();
    let body = after_dash.get(gap..).unwrap_or_default();
    let mut out = String::with_capacity(item.len());
    // `-` alone on its line: the item's keys start on the next one, at
    // their own column; else at the column after the dash.
    let column = if body.trim().is_empty() || body.trim_start().starts_with('#') {
        out.push('\n');
        let next = item
            .lines()
            .skip(1)
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        next.map_or(0, |l| l.len() - l.trim_start_matches(' ').len())
    } else {
        out.push_str(body);
        lead + 1 + gap
    };
    for line in lines {
        let spaces = line.len() - line.trim_start_matches(' ').len();
        out.push_str(line.get(spaces.min(column)..).unwrap_or_default());
    }
    out
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

    #[test]
    fn list_items_stand_alone_on_their_own_lines() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n  # note\n  data: {k: v}\n-\n  apiVersion: v1\n  kind: Secret\n  metadata: {name: b}\n  stringData:\n    s: |\n      two\n        lines\n";
        let sources = [Source::new("l.yaml", text.as_bytes().to_vec())];
        let docs = documents_of(&sources, &["ConfigMap", "Secret"]);
        let kinds: Vec<&str> = docs.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(kinds, ["ConfigMap", "Secret"]);
        assert_eq!((docs[0].first_line, docs[0].line), (4, 4));
        assert_eq!((docs[1].first_line, docs[1].line), (10, 11));
        let a: serde_yaml::Value = serde_yaml::from_str(&docs[0].text).expect("item a");
        assert_eq!(a["data"]["k"], "v");
        let b: serde_yaml::Value = serde_yaml::from_str(&docs[1].text).expect("item b");
        assert_eq!(b["stringData"]["s"], "two\n  lines\n");
        // Line for line: `name: a` is the item's 4th line, the file's 7th.
        assert_eq!(docs[0].text.lines().nth(3), Some("  name: a"));
        let json = r#"{"kind": "List", "apiVersion": "v1", "items": [
  {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"}}]}"#;
        let sources = [Source::new("l.json", json.as_bytes().to_vec())];
        let docs = documents_of(&sources, &["ConfigMap"]);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].line, 2);
    }
}
