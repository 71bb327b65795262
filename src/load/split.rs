//! Splitting a source into its documents, keeping each one's first line.
//!
//! A large file is split on every core: it is cut into segments at line
//! starts, each segment is scanned on its own (YAML: the lines that start
//! with `---` or `...`; JSON: the objects that start a line), and the
//! segments' results are joined with their line counts. Where a document is
//! and which line it starts on do not depend on how the file was cut: YAML
//! markers are whole lines, and a JSON cut that falls inside an object makes
//! its segment fail, so the file is split by the serial scan instead.
//!
//! It parses no YAML or JSON values: it finds boundaries.

use super::{Doc, RawError, Split, parallel_map, resolve_jobs};
use crate::diag::Code;
use crate::model::DocSpan;

/// Below this size a source is split on one thread.
pub(super) const PARALLEL_FROM: usize = 1 << 20;

/// Segments per thread, so that one slow segment does not hold the others.
const SEGMENTS_PER_JOB: usize = 4;

/// How many segments a text of `len` bytes is cut into with `jobs` threads.
fn segment_count(len: usize, jobs: usize) -> usize {
    if len < PARALLEL_FROM {
        return 1;
    }
    match resolve_jobs(jobs) {
        0 | 1 => 1,
        jobs => jobs * SEGMENTS_PER_JOB,
    }
}

/// Up to `n` segments `[start, end)` of `text[from..]`, each beginning at a
/// line start for which `cut_before(rest)` holds (`rest` is the text from
/// that line on); the first begins at `from`, the last ends at the end.
fn segments(
    text: &str,
    from: usize,
    n: usize,
    cut_before: fn(&[u8]) -> bool,
) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let mut starts = vec![from];
    for k in 1..n {
        let target = from + (len - from) / n * k;
        let Some(&prev) = starts.last() else { break };
        let mut i = target.max(prev + 1);
        // A target inside a multi-byte character moves to its end.
        while i < len && !text.is_char_boundary(i) {
            i += 1;
        }
        // The next line start at or after `target` that may be cut before.
        let cut = loop {
            let Some(nl) = text.get(i..).and_then(|t| t.find('\n')) else {
                break None;
            };
            let at = i + nl + 1;
            if at >= len {
                break None;
            }
            if bytes.get(at..).is_some_and(cut_before) {
                break Some(at);
            }
            i = at;
        };
        match cut {
            Some(at) => starts.push(at),
            None => break,
        }
    }
    let mut out = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        out.push((s, starts.get(k + 1).copied().unwrap_or(len)));
    }
    out
}

/// A line that starts with `---` or `...` and is a document marker.
struct Marker {
    at: usize,
    /// Newlines between the segment's start and `at`.
    line: u32,
    /// `---` (a document starts here) rather than `...` (one ends).
    start: bool,
    /// Just after the marker's line.
    line_end: usize,
}

/// The markers of `text[from..to)` (`from` a line start) and the number of
/// newlines in it, in one pass over its lines.
fn markers_in(text: &str, from: usize, to: usize) -> (Vec<Marker>, u32) {
    let bytes = text.as_bytes();
    // Newlines are found eight bytes at a time, without a searcher set up
    // per line (`str::find` with a char: a memchr and a memcmp per line).
    let hay = bytes.get(..to).unwrap_or_default();
    let mut out = Vec::new();
    let (mut i, mut line) = (from, 0u32);
    while i < to {
        let nl = super::bytes::find_newline(hay, i);
        let end = nl.map_or(to, |k| k + 1);
        if matches!(bytes.get(i), Some(b'-' | b'.')) {
            let bare = text
                .get(i..end)
                .unwrap_or("")
                .trim_end_matches(['\n', '\r']);
            let start = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
            let stop = bare == "..." || bare.starts_with("... ");
            if start || stop {
                out.push(Marker {
                    at: i,
                    line,
                    start,
                    line_end: end,
                });
            }
        }
        if nl.is_none() {
            break;
        }
        line += 1;
        i = end;
    }
    (out, line)
}

/// YAML: documents between `---` / `...` marker lines, on `jobs` threads.
/// Markers are only recognised at column 0, where a block scalar's content
/// can never be.
pub(super) fn yaml_documents(source: usize, text: &str, jobs: usize) -> Vec<Split<'_>> {
    yaml_documents_in(source, text, segment_count(text.len(), jobs), jobs)
}

fn yaml_documents_in<'t>(source: usize, text: &'t str, n: usize, jobs: usize) -> Vec<Split<'t>> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    // Any line start will do: markers are whole lines.
    let segs = segments(text, bom, n, |_| true);
    let found = parallel_map(&segs, jobs, |&(s, e)| markers_in(text, s, e));
    // A document a marker at most, and one more: sized once (a list of
    // 100k documents grown by doubling was copied several times).
    let mut docs = Vec::with_capacity(found.iter().map(|(m, _)| m.len()).sum::<usize>() + 1);
    let push = |docs: &mut Vec<Split<'t>>, s: usize, e: usize, l: u32| {
        if s < e {
            docs.push(Ok(doc(source, text, s, e, l)));
        }
    };
    let (mut start, mut start_line) = (bom, 1u32);
    let mut base = 1u32;
    for (markers, newlines) in found {
        for m in markers {
            let line_no = base + m.line;
            push(&mut docs, start, m.at, start_line);
            if m.start {
                // `--- {inline}` keeps its content in the new document.
                start = m.at;
                start_line = line_no;
            } else {
                start = m.line_end;
                start_line = line_no + 1;
            }
        }
        base += newlines;
    }
    push(&mut docs, start, text.len(), start_line);
    docs
}

/// JSON: one object, several concatenated objects, or an array of objects.
pub(super) fn json_documents(source: usize, text: &str, jobs: usize) -> Vec<Split<'_>> {
    json_documents_in(source, text, segment_count(text.len(), jobs), jobs)
}

fn json_documents_in(source: usize, text: &str, n: usize, jobs: usize) -> Vec<Split<'_>> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = text.get(bom..).unwrap_or("");
    let mut docs = Vec::new();
    // Nested past what the parsers read: refused whole, as a YAML
    // document is, whether or not a kind is ever looked for in it.
    if let Err(e) = crate::guard::bounds(body) {
        docs.push(Err((source, json_error(&e, 0))));
        return docs;
    }
    let mut lines = LineCounter { offset: 0, line: 1 };
    // A value serde_json found, as a document of the text it borrows from.
    let mut raw_doc = |raw: &serde_json::value::RawValue| {
        let raw = raw.get();
        let start = bom + (raw.as_ptr() as usize - body.as_ptr() as usize);
        let line = lines.line_at(text, start);
        Ok(doc(source, text, start, start + raw.len(), line))
    };
    let trimmed = body.trim_start();
    if trimmed.starts_with('[') {
        match crate::guard::json_borrowed::<Vec<&serde_json::value::RawValue>>(body) {
            Ok(items) => docs.extend(items.into_iter().map(&mut raw_doc)),
            Err(e) => docs.push(Err((source, json_error(&e, 0)))),
        }
        return docs;
    }
    if let Some(objects) = json_object_lines_in(text, bom, n, jobs) {
        for (s, e, line) in objects {
            docs.push(Ok(doc(source, text, s, e, line)));
        }
        return docs;
    }
    // A stream of values, each kept as its text; the first that does not
    // read ends it.
    let streamed = crate::guard::json_with(body, |de| {
        let mut stream = de.into_iter::<&serde_json::value::RawValue>();
        loop {
            match stream.next() {
                None => return Ok(()),
                Some(Ok(raw)) => docs.push(raw_doc(raw)),
                Some(Err(e)) => return Err(e),
            }
        }
    });
    if let Err(e) = streamed {
        docs.push(Err((source, json_error(&e, 0))));
    }
    docs
}

/// `json_object_lines` over `text[from..]` cut into up to `n` segments
/// before lines that start with `{`, each scanned on its own; the objects
/// as (start, end, first line). When a segment is not a stream of whole
/// objects (the cut fell inside one, or the text is not such a stream),
/// the whole text is scanned as one segment; None when that fails too: the
/// caller then splits with serde_json.
fn json_object_lines_in(
    text: &str,
    from: usize,
    n: usize,
    jobs: usize,
) -> Option<Vec<(usize, usize, u32)>> {
    let segs = segments(text, from, n, |rest| rest.first() == Some(&b'{'));
    let found = parallel_map(&segs, jobs, |&(s, e)| {
        let seg = text.get(s..e)?;
        let spans = json_object_lines(seg)?;
        let mut lines = LineCounter { offset: 0, line: 0 };
        let with_lines: Vec<(usize, usize, u32)> = spans
            .into_iter()
            .map(|(a, b)| (s + a, s + b, lines.line_at(seg, a)))
            .collect();
        Some((with_lines, lines.line_at(seg, seg.len())))
    });
    let mut out = Vec::new();
    let mut base = 1u32;
    for part in found {
        let Some((objects, newlines)) = part else {
            // A cut fell inside an object, or the text is no such stream:
            // the one-segment scan decides, as it would have alone.
            return if segs.len() > 1 {
                json_object_lines_in(text, from, 1, 1)
            } else {
                None
            };
        };
        out.extend(objects.into_iter().map(|(s, e, l)| (s, e, base + l)));
        base += newlines;
    }
    Some(out)
}

/// Counts lines forward through a text, so that finding the line of each
/// of many documents stays linear in the text's size.
struct LineCounter {
    offset: usize,
    line: u32,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, offset: usize) -> u32 {
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let end = offset.min(text.len());
        let newlines = text
            .as_bytes()
            .get(self.offset..end)
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
        self.line += newlines as u32;
        self.offset = end;
        self.line
    }
}

/// The byte ranges of a stream of JSON objects each of which starts a line
/// (one object per line, or pretty-printed ones), found by matching braces
/// outside strings — a scan, not a parse. None for anything else (arrays,
/// objects that start mid-line, text between objects, unbalanced braces):
/// the caller then splits with serde_json, whose errors are located in the
/// whole file. Each object is parsed (and its errors located) later.
fn json_object_lines(body: &str) -> Option<Vec<(usize, usize)>> {
    let bytes = body.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    loop {
        while let Some(b) = bytes.get(i) {
            if !b.is_ascii_whitespace() {
                break;
            }
            i += 1;
        }
        let Some(&b) = bytes.get(i) else {
            return Some(spans);
        };
        let at_line_start = i == 0 || bytes.get(i - 1) == Some(&b'\n');
        if b != b'{' || !at_line_start {
            return None;
        }
        let start = i;
        i = super::parse::json_value_end(bytes, start)?;
        if bytes.get(i - 1) != Some(&b'}') {
            return None;
        }
        spans.push((start, i));
    }
}

/// The document `text[start..end)`, which starts on line `line`.
fn doc(source: usize, text: &str, start: usize, end: usize, line: u32) -> Doc<'_> {
    Doc {
        text: text.get(start..end).unwrap_or(""),
        span: DocSpan {
            source,
            start,
            end,
            first_line: line,
            list_item: None,
        },
    }
}

fn json_error(e: &crate::guard::Failure, line_offset: u32) -> RawError {
    RawError {
        code: Code::MalformedDocument,
        message: super::strip_position(&e.message),
        line: line_offset + e.line.unwrap_or(1).max(1),
        column: Some(e.column.unwrap_or(1).max(1)),
        hint: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(s: &str) -> Vec<(String, u32)> {
        yaml_documents(0, s, 1)
            .into_iter()
            .filter_map(Result::ok)
            .map(|d| (d.text.to_string(), d.span.first_line))
            .collect()
    }

    #[test]
    fn splits_at_markers_and_keeps_lines() {
        let docs = texts("a: 1\n---\nb: 2\n--- \n\nc: 3\n...\n");
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0], ("a: 1\n".to_string(), 1));
        assert_eq!(docs[1].1, 2);
        assert_eq!(docs[2].1, 4);
        assert!(docs[2].0.contains("c: 3"));
    }

    #[test]
    fn block_scalar_dashes_are_not_markers() {
        let docs = texts("a: |\n  ---\n  x\nb: 2\n");
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn splits_json_objects_that_start_lines() {
        let text = "{\"a\": \"}{\"}\n{\n  \"b\": [1, {\"c\": 2}]\n}\n";
        assert_eq!(json_object_lines(text), Some(vec![(0, 11), (12, 36)]));
        // Mid-line objects, arrays, text between and open braces are left to serde_json.
        assert_eq!(json_object_lines("{}{}"), None);
        assert_eq!(json_object_lines("[{}]"), None);
        assert_eq!(json_object_lines("{}\nx\n{}"), None);
        assert_eq!(json_object_lines("{\"a\": {}\n"), None);
        assert_eq!(json_object_lines("{]"), None);
    }

    #[test]
    fn cuts_land_on_line_starts_past_multibyte_text() {
        // Four bytes a line: every other target falls inside the `é`.
        let text = "aé\n".repeat(40);
        let segs = segments(&text, 0, 6, |_| true);
        assert_eq!(segs.len(), 6);
        for (s, e) in &segs {
            assert!(*s == 0 || text.as_bytes().get(s - 1) == Some(&b'\n'));
            assert!(s < e);
        }
        assert_eq!(segs.last().map(|(_, e)| *e), Some(text.len()));
    }

    #[test]
    fn a_cut_inside_a_json_object_falls_back() {
        // Cut before every line that starts with `{`, one of which is
        // inside an object: a segment fails and the one-segment scan decides.
        let text = "{\"a\":\n{\"b\": 1}\n}\n{\"c\": 2}\n";
        assert_eq!(segments(text, 0, 8, |r| r.first() == Some(&b'{')).len(), 3);
        assert_eq!(
            json_object_lines_in(text, 0, 8, 3),
            Some(vec![(0, 16, 1), (17, 25, 4)])
        );
        let docs = json_documents_in(0, text, 8, 3);
        let spans: Vec<(usize, u32)> = docs
            .iter()
            .filter_map(|d| d.as_ref().ok())
            .map(|d| (d.span.start, d.span.first_line))
            .collect();
        assert_eq!(spans, vec![(0, 1), (17, 4)]);
    }

    /// The split before segments: each line read once, in order.
    fn serial_yaml(text: &str) -> Vec<(usize, usize, u32)> {
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let mut out = Vec::new();
        let (mut start, mut start_line, mut line_no, mut at) = (bom, 1u32, 1u32, bom);
        for line in text.get(bom..).unwrap_or("").split_inclusive('\n') {
            let bare = line.trim_end_matches(['\n', '\r']);
            let is_start = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
            let is_end = bare == "..." || bare.starts_with("... ");
            if is_start || is_end {
                if start < at {
                    out.push((start, at, start_line));
                }
                (start, start_line) = if is_start {
                    (at, line_no)
                } else {
                    (at + line.len(), line_no + 1)
                };
            }
            at += line.len();
            line_no += 1;
        }
        if start < text.len() {
            out.push((start, text.len(), start_line));
        }
        out
    }

    fn spans(docs: Vec<Split<'_>>) -> Vec<(usize, usize, u32)> {
        docs.into_iter()
            .filter_map(Result::ok)
            .map(|d| (d.span.start, d.span.end, d.span.first_line))
            .collect()
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("---".to_string()),
            Just("--- x: 1".to_string()),
            Just("...".to_string()),
            Just("----".to_string()),
            Just("  ---".to_string()),
            Just("-x".to_string()),
            Just(".. ".to_string()),
            Just("...\t".to_string()),
            Just("é---".to_string()),
            Just("".to_string()),
            "[a-z: ]{0,12}",
        ]
    }

    fn json_object() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{}".to_string()),
            Just("{\"a\": \"}{\\\"\"}".to_string()),
            Just("{\n  \"b\": [1, {\"c\": 2}]\n}".to_string()),
            Just("{\"a\":\n{\"b\": 1}\n}".to_string()),
            "\\{\"[a-z]{0,6}\": [0-9]{1,3}\\}",
        ]
    }

    proptest! {
        #[test]
        fn yaml_segments_split_as_one_pass(
            lines in prop::collection::vec(line(), 0..40),
            crlf in any::<bool>(),
            bom in any::<bool>(),
            n in 1usize..9,
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let text = format!("{}{}", if bom { "\u{feff}" } else { "" }, lines.join(nl));
            let want = serial_yaml(&text);
            prop_assert_eq!(spans(yaml_documents_in(0, &text, 1, 1)), want.clone());
            prop_assert_eq!(spans(yaml_documents_in(0, &text, n, 3)), want);
        }

        #[test]
        fn json_segments_split_as_one_pass(
            objects in prop::collection::vec(json_object(), 0..12),
            gaps in prop::collection::vec("[ \n]{1,3}", 12),
            n in 2usize..9,
        ) {
            let mut text = String::new();
            for (o, g) in objects.iter().zip(&gaps) {
                text.push_str(o);
                text.push_str(g);
            }
            let one = spans(json_documents_in(0, &text, 1, 1));
            prop_assert_eq!(spans(json_documents_in(0, &text, n, 3)), one.clone());
            // Each object's span and first line are where they are in the text.
            for (s, e, line) in one {
                prop_assert_eq!(text.get(s..e).map(|t| t.starts_with('{')), Some(true));
                prop_assert_eq!(text[..s].matches('\n').count() as u32 + 1, line);
            }
        }
    }
}
