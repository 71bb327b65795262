//! Finds the line of a field inside one document's text, for diagnostics.
//!
//! Typed parsing keeps no positions, so a diagnostic about
//! `spec.rules[0].http.paths[1]` is located afterwards by walking the block
//! structure of the YAML text: indentation, `key:` lines and `- ` items.
//! It is best effort by design: when the text is in flow style or JSON, the
//! deepest field it could find (at worst the document's first line) is
//! returned. It never fails and never panics.
//!
//! What the walk reads of a line is small (its indent, item markers and
//! mapping key), so a document's `Shape` — those facts, line by line — is
//! kept in place of its text: a large render frees its input once every
//! document is parsed and still locates every diagnostic exactly.

use super::bytes::{find_either, find_newline};
use crate::model::{FieldPath, Seg};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Line<'a> {
    /// Leading spaces.
    indent: usize,
    /// Column where the content starts after any `- ` item markers.
    key_col: usize,
    /// True when the line opens a sequence item.
    dash: bool,
    /// The mapping key on this line, unquoted, if any.
    key: Option<&'a str>,
    /// True for blank and comment-only lines.
    empty: bool,
}

fn scan(line: &str) -> Line<'_> {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    let mut rest = line.get(indent..).unwrap_or_default();
    let mut key_col = indent;
    // `trim().is_empty()`, stopping at the first character that is not
    // white space.
    let empty = rest.chars().all(char::is_whitespace) || rest.starts_with('#');
    let mut dash = false;
    loop {
        if rest == "-" || rest.starts_with("- ") {
            dash = true;
            let after = rest[1..].trim_start_matches(' ');
            key_col += rest.len() - after.len();
            rest = after;
        } else {
            break;
        }
    }
    let key = mapping_key(rest);
    Line {
        indent,
        key_col,
        dash,
        key,
        empty,
    }
}

/// The key of `key: value` / `"key": value` / `key:`; None otherwise.
fn mapping_key(s: &str) -> Option<&str> {
    if let Some(q) = s.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &s[1..];
        let end = body.find(q)?;
        let after = &body[end + 1..];
        return after.trim_start().starts_with(':').then(|| &body[..end]);
    }
    // A plain key ends at the first ": " or a ':' closing the line; a
    // comment (` #`) before it means the line has none. Only `:` and `#`
    // need a look, found eight bytes at a time.
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = find_either(bytes, from, b':', b'#') {
        let next = bytes.get(i + 1).copied();
        if bytes.get(i) == Some(&b':') {
            if matches!(next, None | Some(b' ' | b'\t')) {
                let k = s.get(..i).unwrap_or_default().trim_end();
                return (!k.is_empty()).then_some(k);
            }
        } else if i > 0 && bytes.get(i - 1) == Some(&b' ') {
            return None;
        }
        from = i + 1;
    }
    None
}

/// Returns the 0-based line (within `text`) and 1-based column of the
/// deepest element of `path` that could be found.
pub fn locate(text: &str, path: &FieldPath) -> (u32, u32) {
    DocIndex::of(text).locate(path)
}

/// The lines of one document as `locate` reads them, without the text:
/// per line a flag byte, then (unless blank) the indent and the item
/// markers' width as LEB128, then the mapping key — one byte for a key
/// of `KEYS`, else its length and bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shape(Box<[u8]>);

const EMPTY: u8 = 1;
const DASH: u8 = 2;
const KEY: u8 = 4;
const COMMON: u8 = 8;

/// Mapping keys common enough in Kubernetes manifests to be one byte: the
/// list once, as `KEYS` (byte -> key) and `common` (key -> byte, a `match`,
/// which compiles to a switch on the length and a compare or two).
macro_rules! common_keys {
    ($($i:literal => $k:literal,)*) => {
        const KEYS: &[&str] = &[$($k),*];

        fn common(key: &str) -> Option<u8> {
            match key {
                $($k => Some($i),)*
                _ => None,
            }
        }
    };
}

common_keys! {
    0 => "apiVersion",
    1 => "kind",
    2 => "metadata",
    3 => "name",
    4 => "namespace",
    5 => "labels",
    6 => "annotations",
    7 => "creationTimestamp",
    8 => "spec",
    9 => "status",
    10 => "rules",
    11 => "host",
    12 => "http",
    13 => "paths",
    14 => "path",
    15 => "pathType",
    16 => "backend",
    17 => "service",
    18 => "port",
    19 => "number",
    20 => "tls",
    21 => "hosts",
    22 => "secretName",
    23 => "ingressClassName",
    24 => "defaultBackend",
    25 => "data",
    26 => "stringData",
    27 => "type",
    28 => "ports",
    29 => "protocol",
    30 => "targetPort",
    31 => "selector",
    32 => "parentRefs",
    33 => "hostnames",
    34 => "matches",
    35 => "backendRefs",
    36 => "filters",
    37 => "weight",
    38 => "value",
    39 => "group",
    40 => "sectionName",
    41 => "listeners",
    42 => "certificateRefs",
    43 => "mode",
    44 => "allowedRoutes",
    45 => "gatewayClassName",
    46 => "tls.crt",
    47 => "tls.key",
    48 => "app",
    49 => "headers",
    50 => "requestHeaderModifier",
    51 => "responseHeaderModifier",
    52 => "set",
    53 => "add",
    54 => "remove",
    55 => "method",
    56 => "queryParams",
    57 => "externalName",
    58 => "items",
    59 => "from",
    60 => "to",
    61 => "controllerName",
    62 => "parametersRef",
    63 => "app.kubernetes.io/name",
    64 => "resource",
    65 => "apiGroup",
}

/// `str::lines` (a line ends at `\n`, and at `\r\n` without the `\r`),
/// found by a plain byte scan: `str::lines` calls `memchr` and then a
/// `memcmp` of one byte per line, which cost more than scanning the line
/// (`Shape::of` over the 50k corpus: 132 -> 118 ms).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest.filter(|r| !r.is_empty())?;
        match find_newline(r.as_bytes(), 0) {
            Some(i) => {
                rest = r.get(i + 1..);
                let line = r.get(..i).unwrap_or_default();
                Some(line.strip_suffix('\r').unwrap_or(line))
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

impl Shape {
    /// The shape of `text`, one document.
    pub fn of(text: &str) -> Shape {
        let mut out = Vec::with_capacity(text.len() / 8);
        for line in lines(text) {
            let l = scan(line);
            if l.empty {
                out.push(EMPTY);
                continue;
            }
            let common = l.key.and_then(common);
            let mut flags = 0;
            if l.dash {
                flags |= DASH;
            }
            if l.key.is_some() {
                flags |= KEY;
            }
            if common.is_some() {
                flags |= COMMON;
            }
            out.push(flags);
            push_leb(&mut out, l.indent);
            push_leb(&mut out, l.key_col - l.indent);
            match (common, l.key) {
                (Some(i), _) => out.push(i),
                (None, Some(k)) => {
                    push_leb(&mut out, k.len());
                    out.extend_from_slice(k.as_bytes());
                }
                (None, None) => {}
            }
        }
        Shape(out.into_boxed_slice())
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `locate` on the text this shape was made of.
    pub fn locate(&self, path: &FieldPath) -> (u32, u32) {
        self.doc().locate(path)
    }

    /// The document this shape was made of, to locate many fields in.
    pub fn doc(&self) -> DocIndex<'_> {
        DocIndex::new(self.lines())
    }

    fn lines(&self) -> Vec<Line<'_>> {
        let mut lines = Vec::new();
        let mut rest: &[u8] = &self.0;
        while let Some((&flags, after)) = rest.split_first() {
            rest = after;
            if flags & EMPTY != 0 {
                lines.push(Line {
                    indent: 0,
                    key_col: 0,
                    dash: false,
                    key: None,
                    empty: true,
                });
                continue;
            }
            let indent = take_leb(&mut rest);
            let key_col = indent + take_leb(&mut rest);
            let key = if flags & COMMON != 0 {
                let (&i, after) = rest.split_first().unwrap_or((&u8::MAX, &[]));
                rest = after;
                KEYS.get(usize::from(i)).copied()
            } else if flags & KEY != 0 {
                let n = take_leb(&mut rest).min(rest.len());
                let (k, after) = rest.split_at(n);
                rest = after;
                std::str::from_utf8(k).ok()
            } else {
                None
            };
            lines.push(Line {
                indent,
                key_col,
                dash: flags & DASH != 0,
                key,
                empty: false,
            });
        }
        lines
    }
}

fn push_leb(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7F) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_leb(rest: &mut &[u8]) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some((&b, after)) = rest.split_first() {
        *rest = after;
        if shift < usize::BITS {
            n |= usize::from(b & 0x7F) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    n
}

/// The items of the top-level `items` block sequence of a `kind: List`
/// document: for each, the byte range of its lines in `text` and the
/// 0-based line it starts on. They are the items `locate` finds for
/// `items[i]`, found in one pass instead of a walk of the whole document
/// per item (which made a List of n items cost n² — minutes for the
/// output of `kubectl get -o yaml` on a large cluster). Empty when there
/// is no such sequence (flow style, JSON): the caller compares the count
/// with the parser's.
pub fn list_items(text: &str) -> Vec<(usize, usize, u32)> {
    #[derive(PartialEq)]
    enum Stage {
        /// Before the first line that is neither blank nor a marker.
        First,
        /// Looking for the first mapping key: its column is the top level's.
        Col,
        /// Looking for `items:` at that column.
        Items,
        /// In its block; the indent of the block's first line.
        Block(Option<usize>),
    }
    let bytes = text.as_bytes();
    let mut items = Vec::new();
    let mut open: Option<(usize, u32)> = None;
    let (mut stage, mut col) = (Stage::First, 0);
    let (mut at, mut n) = (0usize, 0u32);
    while at < bytes.len() {
        let end = find_newline(bytes, at).unwrap_or(bytes.len());
        let raw = text.get(at..end).unwrap_or_default();
        let l = scan(raw.strip_suffix('\r').unwrap_or(raw));
        if !l.empty {
            match &mut stage {
                Stage::Block(indent) => {
                    if l.indent < col || (l.indent == col && !l.dash) {
                        break;
                    }
                    let d = *indent.get_or_insert(l.indent);
                    if l.dash
                        && l.indent == d
                        && let Some((start, line)) = open.replace((at, n))
                    {
                        items.push((start, at, line));
                    }
                }
                _ => {
                    if stage == Stage::First && !is_marker(&l) {
                        stage = Stage::Col;
                    }
                    if stage == Stage::Col && l.key.is_some() {
                        (stage, col) = (Stage::Items, l.key_col);
                    }
                    if stage == Stage::Items && l.key_col == col && l.key == Some("items") {
                        stage = Stage::Block(None);
                    }
                }
            }
        }
        at = end + 1;
        n += 1;
    }
    if let Some((start, line)) = open {
        items.push((start, at.min(bytes.len()), line));
    }
    items
}

/// A document's lines, and an index of each block a walk went through:
/// built once per document, so locating n fields in it costs each block's
/// lines once, not the whole document n times (an Ingress with n TLS
/// entries, each reported, was n²).
pub struct DocIndex<'a> {
    lines: Vec<Line<'a>>,
    /// The first line that is neither blank nor a marker.
    first: usize,
    /// The column of a block's mappings, by its line range.
    cols: HashMap<(usize, usize), Option<usize>>,
    /// The keys of a block at a column, by line range and column.
    keys: HashMap<(usize, usize, usize), Keys<'a>>,
    /// The items of a block sequence, by line range.
    items: HashMap<(usize, usize), Items>,
    /// Fields located so far: the first few are found by a scan.
    asked: usize,
}

impl Default for DocIndex<'_> {
    fn default() -> Self {
        DocIndex::new(Vec::new())
    }
}

/// The keys at one column of a block.
struct Keys<'a> {
    /// Each key's first line.
    first: HashMap<&'a str, usize>,
    /// The lines that end a key's block (less indented, or a sibling that
    /// is not an item), ascending.
    stops: Vec<usize>,
}

/// The items of a block sequence: its indent and each item's first line.
struct Items {
    indent: Option<usize>,
    starts: Vec<usize>,
}

impl<'a> DocIndex<'a> {
    fn new(lines: Vec<Line<'a>>) -> DocIndex<'a> {
        let first = lines
            .iter()
            .position(|l| !l.empty && !is_marker(l))
            .unwrap_or(0);
        DocIndex {
            lines,
            first,
            cols: HashMap::new(),
            keys: HashMap::new(),
            items: HashMap::new(),
            asked: 0,
        }
    }

    /// The document `text`.
    pub fn of(text: &'a str) -> DocIndex<'a> {
        DocIndex::new(lines(text).map(scan).collect())
    }

    /// The 0-based line and 1-based column of the deepest element of
    /// `path` that could be found.
    pub fn locate(&mut self, path: &FieldPath) -> (u32, u32) {
        // Most documents are asked for one field or two: scanned, as
        // building the blocks' maps would cost more (the 50k-app render
        // +7%). Past a few, every block walked is indexed.
        const SCANNED: usize = 4;
        self.asked += 1;
        if self.asked <= SCANNED {
            return walk(&self.lines, path);
        }
        let mut best = (self.first, 1usize);
        // The current block: its line range, and the column of its
        // mapping when its first line is the node itself (an item's first
        // line carries its first key).
        let (mut lo, mut hi) = (self.first, self.lines.len());
        let mut map_col: Option<usize> = None;
        for seg in path.segs() {
            match seg {
                Seg::Key(k) => {
                    let Some(col) = map_col.or_else(|| self.col(lo, hi)) else {
                        break;
                    };
                    let keys = self.keys(lo, hi, col);
                    let Some(&j) = keys.first.get(k) else {
                        break;
                    };
                    let after = keys.stops.partition_point(|&m| m <= j);
                    best = (j, col + 1);
                    (lo, hi) = (j + 1, keys.stops.get(after).copied().unwrap_or(hi));
                    map_col = None;
                }
                Seg::Index(i) => {
                    let items = self.items(lo, hi);
                    let (Some(d), Some(&start)) = (items.indent, items.starts.get(i)) else {
                        break;
                    };
                    let end = items.starts.get(i + 1).copied().unwrap_or(hi);
                    best = (start, d + 1);
                    map_col = self.lines.get(start).map(|l| l.key_col);
                    (lo, hi) = (start, end);
                }
            }
        }
        (best.0 as u32, best.1 as u32)
    }

    fn range(&self, lo: usize, hi: usize) -> impl Iterator<Item = (usize, &Line<'a>)> {
        self.lines
            .get(lo..hi)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(move |(j, l)| (lo + j, l))
            .filter(|(_, l)| !l.empty)
    }

    fn col(&mut self, lo: usize, hi: usize) -> Option<usize> {
        if let Some(&c) = self.cols.get(&(lo, hi)) {
            return c;
        }
        let c = self
            .range(lo, hi)
            .find(|(_, l)| l.key.is_some())
            .map(|(_, l)| l.key_col);
        self.cols.insert((lo, hi), c);
        c
    }

    fn keys(&mut self, lo: usize, hi: usize, col: usize) -> &Keys<'a> {
        let lines = &self.lines;
        self.keys.entry((lo, hi, col)).or_insert_with(|| {
            let mut keys = Keys {
                first: HashMap::new(),
                stops: Vec::new(),
            };
            for (j, l) in lines.get(lo..hi).unwrap_or_default().iter().enumerate() {
                if l.empty {
                    continue;
                }
                if let Some(k) = l.key.filter(|_| l.key_col == col) {
                    keys.first.entry(k).or_insert(lo + j);
                }
                if l.indent < col || (l.indent == col && !l.dash) {
                    keys.stops.push(lo + j);
                }
            }
            keys
        })
    }

    fn items(&mut self, lo: usize, hi: usize) -> &Items {
        let lines = &self.lines;
        self.items.entry((lo, hi)).or_insert_with(|| {
            let mut non_empty = lines
                .get(lo..hi)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.empty);
            let indent = non_empty.clone().next().map(|(_, l)| l.indent);
            let starts = non_empty
                .by_ref()
                .filter(|(_, l)| l.dash && Some(l.indent) == indent)
                .map(|(j, _)| lo + j)
                .collect();
            Items { indent, starts }
        })
    }
}

/// The walk `DocIndex::locate` indexes, as a plain scan of the lines: what
/// a document asked for a few fields does (an index costs more to build
/// than a few scans), and what the index is compared with in the tests.
fn walk(lines: &[Line<'_>], path: &FieldPath) -> (u32, u32) {
    let first = lines
        .iter()
        .position(|l| !l.empty && !is_marker(l))
        .unwrap_or(0);
    let mut best = (first, 1usize);
    let (mut lo, mut hi) = (first, lines.len());
    let mut map_col: Option<usize> = None;
    for seg in path.segs() {
        match seg {
            Seg::Key(k) => {
                let col = map_col.or_else(|| {
                    (lo..hi)
                        .find(|&j| !lines[j].empty && lines[j].key.is_some())
                        .map(|j| lines[j].key_col)
                });
                let Some(col) = col else { break };
                let found = (lo..hi).find(|&j| {
                    let l = &lines[j];
                    !l.empty && l.key_col == col && l.key == Some(k)
                });
                let Some(j) = found else { break };
                best = (j, col + 1);
                let end = (j + 1..hi)
                    .find(|&m| {
                        let l = &lines[m];
                        !l.empty && (l.indent < col || (l.indent == col && !l.dash))
                    })
                    .unwrap_or(hi);
                lo = j + 1;
                hi = end;
                map_col = None;
            }
            Seg::Index(i) => {
                let Some(d) = (lo..hi).find(|&j| !lines[j].empty).map(|j| lines[j].indent) else {
                    break;
                };
                let items: Vec<usize> = (lo..hi)
                    .filter(|&j| lines[j].dash && lines[j].indent == d)
                    .collect();
                let Some(&start) = items.get(i) else { break };
                let end = items.get(i + 1).copied().unwrap_or(hi);
                best = (start, d + 1);
                map_col = Some(lines[start].key_col);
                lo = start;
                hi = end;
            }
        }
    }
    (best.0 as u32, best.1 as u32)
}

fn is_marker(l: &Line<'_>) -> bool {
    l.key.is_none() && l.indent == 0 && !l.dash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldPath;
    use proptest::strategy::Strategy as _;

    const DOC: &str = "\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    synapse.gen0sec.com/read-timeout: soon
spec:
  rules:
  - host: a.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
      - path: /api
        pathType: Exact
  - host: b.example.com
";

    fn at(p: FieldPath) -> (u32, u32) {
        let here = locate(DOC, &p);
        assert_eq!(Shape::of(DOC).locate(&p), here, "{p}");
        let lines: Vec<Line<'_>> = DOC.lines().map(scan).collect();
        assert_eq!(walk(&lines, &p), here, "{p}");
        here
    }

    /// `list_items` finds, in one pass, the items `locate` finds one by
    /// one, and each item's text reads as that item.
    #[test]
    fn list_items_are_the_items_of_the_list() {
        let lists = [
            "apiVersion: v1\nkind: List\nitems:\n- a: 1\n  b:\n  - x\n- c: 2\n",
            "# head\n---\napiVersion: v1\nitems:\n  - a: 1\n\n    # note\n    items:\n    - not: this\n  -   b: 2\n  - - nested\n    - seq\nkind: List\nmetadata: {}\n",
            "kind: List\r\nitems:\r\n- name: a\r\n  v: 1\r\n- name: b\r\n",
            "metadata:\n  items:\n  - inner\nitems:\n- top\n-\n  k: v\n",
            "kind: List\nitems: []\n",
            "kind: List\nitems: [{a: 1}, {b: 2}]\n",
            "kind: List\n",
        ];
        for text in lists {
            let value: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
            let expected = value
                .get("items")
                .and_then(|v| v.as_sequence())
                .cloned()
                .unwrap_or_default();
            let found = list_items(text);
            let block = text.contains("items:\n") || text.contains("items:\r\n");
            if !block {
                assert!(found.is_empty(), "{text:?}");
                continue;
            }
            assert_eq!(found.len(), expected.len(), "{text:?}");
            for (i, (&(start, end, line), item)) in found.iter().zip(&expected).enumerate() {
                let path = FieldPath::of(&["items"]).idx(i);
                assert_eq!(line, locate(text, &path).0, "{text:?} item {i}");
                let alone: Vec<serde_yaml::Value> =
                    serde_yaml::from_str(&text[start..end]).unwrap();
                assert_eq!(
                    alone.as_slice(),
                    std::slice::from_ref(item),
                    "{text:?} item {i}"
                );
            }
        }
    }

    #[test]
    fn common_keys_are_their_index() {
        for (i, k) in KEYS.iter().enumerate() {
            assert_eq!(common(k), Some(i as u8));
        }
        assert_eq!(common("apiversion"), None);
    }

    #[test]
    fn a_shape_reads_as_its_text() {
        let text =
            "a: 1\r\n\n# c\n- - b: x\n  \"q k\": y\n  -\n  - plain\n  tls.crt: AAAA\nürl: ü\n";
        let lines: Vec<Line<'_>> = text.lines().map(scan).collect();
        assert_eq!(Shape::of(text).lines(), lines);
        assert!(Shape::of(text).len() < text.len());
    }

    #[test]
    fn finds_nested_items_and_keys() {
        assert_eq!(at(FieldPath::of(&["spec", "rules"]).idx(0)), (8, 3));
        assert_eq!(at(FieldPath::of(&["spec", "rules"]).idx(1)), (15, 3));
        let p = FieldPath::of(&["spec", "rules"])
            .idx(0)
            .key("http")
            .key("paths")
            .idx(1);
        assert_eq!(at(p.clone()), (13, 7));
        assert_eq!(at(p.key("pathType")), (14, 9));
        let a = FieldPath::of(&["metadata", "annotations"]).key("synapse.gen0sec.com/read-timeout");
        assert_eq!(at(a), (5, 5));
    }

    #[test]
    fn missing_fields_fall_back_to_deepest_found() {
        assert_eq!(at(FieldPath::of(&["spec", "tls"])), (6, 1));
        assert_eq!(at(FieldPath::of(&["spec", "rules"]).idx(7)), (7, 3));
        assert_eq!(locate("{\"a\": 1}", &FieldPath::of(&["spec"])), (0, 1));
        assert_eq!(locate("", &FieldPath::of(&["spec"])), (0, 1));
    }

    /// `mapping_key` as a plain loop over every byte.
    fn mapping_key_by_bytes(s: &str) -> Option<&str> {
        if s.starts_with(['"', '\'']) {
            return mapping_key(s);
        }
        let bytes = s.as_bytes();
        for i in 0..bytes.len() {
            if bytes[i] == b':'
                && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t')
            {
                let k = s[..i].trim_end();
                return (!k.is_empty()).then_some(k);
            }
            if bytes[i] == b'#' && i > 0 && bytes[i - 1] == b' ' {
                return None;
            }
        }
        None
    }

    proptest::proptest! {
        /// The key of a line is what the byte loop finds.
        #[test]
        fn mapping_keys_as_by_bytes(s in "[a-z #:\t\"'é]{0,40}") {
            proptest::prop_assert_eq!(mapping_key(&s), mapping_key_by_bytes(&s));
        }

        /// One `DocIndex` locating many paths, in any order, finds what the
        /// plain walk finds for each: the blocks it indexed on the way
        /// are the blocks the walk scans.
        #[test]
        fn an_indexed_doc_locates_as_the_walk(
            lines in proptest::collection::vec(
                "( {0,4}|- | {2}- |- - )(#|[ab]|items|\"a\")(: ?| #)?([ab:# -]{0,3})?",
                0..24,
            ),
            paths in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::prop_oneof![
                        proptest::sample::select(vec!["a", "b", "items"]).prop_map(Ok),
                        (0usize..4).prop_map(Err),
                    ],
                    0..5,
                ),
                1..12,
            ),
        ) {
            let text = lines.join("\n");
            let scanned: Vec<Line<'_>> = text.lines().map(scan).collect();
            let mut doc = DocIndex::of(&text);
            let shape = Shape::of(&text);
            let mut from_shape = shape.doc();
            for segs in paths {
                let mut p = FieldPath::root();
                for seg in segs {
                    p = match seg {
                        Ok(k) => p.key(k),
                        Err(i) => p.idx(i),
                    };
                }
                let want = walk(&scanned, &p);
                proptest::prop_assert_eq!(doc.locate(&p), want, "{} in {:?}", p, text);
                proptest::prop_assert_eq!(from_shape.locate(&p), want, "{} in {:?}", p, text);
            }
        }

        /// `lines` splits any text as `str::lines` does.
        #[test]
        fn lines_are_str_lines(
            chars in proptest::collection::vec(
                proptest::sample::select(vec!['\n', '\r', 'a', ' ', 'é']),
                0..48,
            )
        ) {
            let s: String = chars.into_iter().collect();
            proptest::prop_assert_eq!(lines(&s).collect::<Vec<_>>(), s.lines().collect::<Vec<_>>());
        }

        /// Any text: its shape decodes to the lines `scan` reads (so every
        /// field is located alike), and is never longer than the text plus
        /// a byte per line.
        #[test]
        fn shapes_keep_what_scan_reads(
            lines in proptest::collection::vec(
                "( {0,3}|- |  - )(#|[a-z]{0,3}|\"[a-z ]{0,3}\"|apiVersion|tls.crt)(: ?| #)?([a-z:# ]{0,4})?",
                0..12,
            ),
            long in 0usize..300,
        ) {
            let mut text = lines.join("\n");
            text.push_str(&format!("\n{}k: v", " ".repeat(long)));
            let shape = Shape::of(&text);
            let want: Vec<Line<'_>> = text.lines().map(scan).collect();
            let got = shape.lines();
            proptest::prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                if w.empty {
                    proptest::prop_assert!(g.empty);
                } else {
                    proptest::prop_assert_eq!(g, w);
                }
            }
            proptest::prop_assert!(shape.len() <= text.len() + text.lines().count() * 3);
        }
    }
}
