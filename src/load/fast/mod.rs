//! A fast reader for the plain block YAML that manifests are written in.
//!
//! Most documents synroute reads are block mappings and sequences of plain
//! or simply quoted one-line scalars. This reader parses exactly that
//! subset into a small tree borrowed from the text and deserializes typed
//! objects from it, several times faster than the general YAML parser.
//! One-line flow collections of such scalars (`{name: a, port: 80}`,
//! `hosts: [a.example.com]`) are read too. Anything outside the subset —
//! anchors, aliases, tags, flow collections over several lines, folded or
//! multi-line scalars, tabs, duplicate keys, a scalar or key whose type is
//! in doubt — and every error at all makes it give up (`Bail`), and the
//! caller parses the document with serde_yaml instead. So it never decides
//! what a document means differently from serde_yaml and never produces an
//! error message of its own; `tests/fast_yaml.rs` holds it to that.

use std::borrow::Cow;
use std::fmt;

use super::bytes::{find_either, find_newline, find_pair};
use scalar::{double_quoted, end_of_line, maybe_not_string, plain, single_quoted, strip_comment};

mod deserialize;
mod scalar;

/// A mapping's keys up to this many are checked for duplicates by a scan;
/// past it, through a set.
const SCAN_KEYS: usize = 16;

/// The reader gave up; the document goes to the general parser.
#[derive(Debug)]
pub struct Bail;

impl fmt::Display for Bail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not in the fast YAML subset")
    }
}

impl std::error::Error for Bail {}

/// A node of the document, borrowing the text (`'a`) and an arena (`'b`)
/// that holds the lists of maps and sequences.
#[derive(Debug, PartialEq)]
pub enum Node<'a, 'b> {
    /// An empty value (`key:` with nothing after it).
    Empty,
    Plain(&'a str),
    Quoted(Cow<'a, str>),
    Map(BVec<'b, (Cow<'a, str>, Node<'a, 'b>)>),
    Seq(BVec<'b, Node<'a, 'b>>),
}

type BVec<'b, T> = bumpalo::collections::Vec<'b, T>;

/// `f` on the tree of `text` (see `parse`), built in this thread's arena,
/// which is reset afterwards and so reused from one document to the next.
/// None when the fast reader gives up on the text.
pub fn with_tree<R>(text: &str, f: impl FnOnce(&Node<'_, '_>) -> R) -> Option<R> {
    thread_local! {
        static ARENA: std::cell::RefCell<bumpalo::Bump> = std::cell::RefCell::new(bumpalo::Bump::new());
    }
    ARENA.with(|cell| match cell.try_borrow_mut() {
        Ok(mut arena) => {
            let out = parse(text, &arena).ok().map(|node| f(&node));
            arena.reset();
            out
        }
        // Not reached (nothing reads a document inside `f`), but never
        // a panic: a fresh arena of its own.
        Err(_) => {
            let arena = bumpalo::Bump::new();
            parse(text, &arena).ok().map(|node| f(&node))
        }
    })
}

/// Parses `text` (one document) into a tree, or gives up.
///
/// The tree's lists live in `arena`, which the caller may reset once the
/// tree is dropped: reading a document then allocates nothing per node.
pub fn parse<'a, 'b>(text: &'a str, arena: &'b bumpalo::Bump) -> Result<Node<'a, 'b>, Bail> {
    // By bytes, both at once: a pattern of chars decodes every char, and
    // a `contains` per byte crosses the document twice.
    let bytes = text.as_bytes();
    if find_either(bytes, 0, b'\t', b'\r').is_some() || text.starts_with('\u{feff}') {
        return Err(Bail);
    }
    // `text.split('\n')`, by `find_either`.
    let mut lines = BVec::new_in(arena);
    let mut from = 0;
    while let Some(nl) = find_newline(bytes, from) {
        lines.push(text.get(from..nl).unwrap_or_default());
        from = nl + 1;
    }
    lines.push(text.get(from..).unwrap_or_default());
    let mut p = Parser {
        arena,
        lines,
        i: 0,
        cur: None,
        seen: None,
    };
    // Leading `---` marker (the splitter keeps it with the document).
    if let Some((0, "---")) = p.peek() {
        p.advance();
    }
    let node = match p.peek() {
        Some((indent, _)) => p.node(indent)?,
        None => return Err(Bail),
    };
    match p.peek() {
        None => Ok(node),
        Some((_, "...")) => {
            p.advance();
            if p.peek().is_none() {
                Ok(node)
            } else {
                Err(Bail)
            }
        }
        Some(_) => Err(Bail),
    }
}

struct Parser<'a, 'b> {
    arena: &'b bumpalo::Bump,
    lines: BVec<'b, &'a str>,
    i: usize,
    /// The rest of a `- key: value` line, seen as a line of its own at the
    /// column of `key`.
    cur: Option<(usize, &'a str)>,
    /// The last line `peek` found: (its index, indent, content).
    seen: Option<(usize, usize, &'a str)>,
}

impl<'a, 'b> Parser<'a, 'b> {
    /// The next line with content: (indent, content). Comment lines and
    /// blank lines are skipped.
    fn peek(&mut self) -> Option<(usize, &'a str)> {
        if let Some(c) = self.cur {
            return Some(c);
        }
        if let Some((i, ind, c)) = self.seen
            && i == self.i
        {
            return Some((ind, c));
        }
        while let Some(line) = self.lines.get(self.i) {
            let content = after_spaces(line);
            if content.is_empty() || content.starts_with('#') {
                self.i += 1;
                continue;
            }
            let ind = line.len() - content.len();
            self.seen = Some((self.i, ind, content));
            return Some((ind, content));
        }
        None
    }

    fn advance(&mut self) {
        if self.cur.take().is_none() {
            self.i += 1;
        }
    }

    /// A block node whose first line is at `indent`.
    fn node(&mut self, indent: usize) -> Result<Node<'a, 'b>, Bail> {
        match self.peek() {
            Some((_, c)) if c == "-" || c.starts_with("- ") => self.seq(indent),
            Some(_) => self.map(indent),
            None => Err(Bail),
        }
    }

    fn seq(&mut self, indent: usize) -> Result<Node<'a, 'b>, Bail> {
        let mut items = BVec::new_in(self.arena);
        while let Some((ind, content)) = self.peek() {
            if ind < indent {
                break;
            }
            if ind > indent {
                return Err(Bail);
            }
            let rest = if content == "-" {
                ""
            } else if let Some(r) = content.strip_prefix("- ") {
                r
            } else {
                break;
            };
            let trimmed = rest.trim_start_matches(' ');
            if trimmed.is_empty() || trimmed.starts_with('#') {
                self.advance();
                items.push(self.block_value(indent, true)?);
                continue;
            }
            let column = ind + (content.len() - trimmed.len());
            if trimmed == "-" || trimmed.starts_with("- ") {
                return Err(Bail);
            }
            if trimmed.starts_with(['{', '[']) {
                // `- {name: a, port: 80}`: a flow collection as the item.
                self.advance();
                items.push(self.inline(trimmed, indent)?);
                continue;
            }
            if split_key(trimmed)?.is_some() {
                // `- key: value`: a mapping whose keys sit at `column`.
                self.advance();
                self.cur = Some((column, trimmed));
                items.push(self.map(column)?);
                continue;
            }
            self.advance();
            items.push(self.inline(trimmed, indent)?);
        }
        Ok(Node::Seq(items))
    }

    fn map(&mut self, indent: usize) -> Result<Node<'a, 'b>, Bail> {
        let mut entries: BVec<'b, (Cow<'a, str>, Node<'a, 'b>)> = BVec::new_in(self.arena);
        // Past a few keys, duplicates are found through a set: a scan of
        // the keys before each one made a map of n keys cost n² (200,000
        // annotations ran past a minute).
        let mut keys = Keys::default();
        while let Some((ind, content)) = self.peek() {
            if ind < indent {
                break;
            }
            if ind > indent {
                return Err(Bail);
            }
            if content == "-" || content.starts_with("- ") {
                // A sequence at a mapping's indentation ends the mapping
                // only where a parent sequence continues.
                break;
            }
            let Some((key, rest)) = split_key(content)? else {
                return Err(Bail);
            };
            keys.insert(key.clone(), &entries)?;
            self.advance();
            let value = if rest.is_empty() || rest.starts_with('#') {
                self.block_value(indent, false)?
            } else {
                self.inline(rest, indent)?
            };
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }

    /// The value of `key:` or `-` with nothing after it on the line: a
    /// block node on the next lines, or empty.
    fn block_value(&mut self, indent: usize, in_seq: bool) -> Result<Node<'a, 'b>, Bail> {
        match self.peek() {
            Some((ind, _)) if ind > indent => self.node(ind),
            // `key:` followed by `- item` at the key's own indentation.
            Some((ind, c)) if !in_seq && ind == indent && (c == "-" || c.starts_with("- ")) => {
                self.seq(indent)
            }
            _ => Ok(Node::Empty),
        }
    }

    /// A value written on the line of its key (or dash); `parent` is the
    /// indentation of that key or dash.
    fn inline(&mut self, text: &'a str, parent: usize) -> Result<Node<'a, 'b>, Bail> {
        let node = match text.as_bytes().first() {
            Some(b'"') => {
                let (s, rest) = double_quoted(text)?;
                end_of_line(rest)?;
                Node::Quoted(s)
            }
            Some(b'\'') => {
                let (s, rest) = single_quoted(text)?;
                end_of_line(rest)?;
                Node::Quoted(s)
            }
            Some(b'|') => return self.literal(text, parent),
            Some(b'{' | b'[') => {
                let (node, rest) = self.flow(text, 0)?;
                end_of_line(rest)?;
                node
            }
            _ => Node::Plain(plain(text)?),
        };
        // A more indented line after a one-line value would continue it
        // (a multi-line plain scalar) or be an error: not ours to judge.
        match self.peek() {
            Some((ind, _)) if ind > parent => Err(Bail),
            _ => Ok(node),
        }
    }

    /// A flow collection (`[a, b]`, `{k: v, k2: [x]}`) that opens `text`
    /// and closes on the same line: the node and what follows it. Only
    /// what reads one way is taken — entries of plain scalars without `:`
    /// or `#`, quoted scalars and nested collections, `k: v` pairs with a
    /// space after the colon, no empty entry, no trailing comma, unique
    /// keys; anything else, and a collection continued on the next line,
    /// goes to the general parser.
    fn flow(&self, text: &'a str, depth: usize) -> Result<(Node<'a, 'b>, &'a str), Bail> {
        const MAX_DEPTH: usize = 32;
        let (is_map, close) = match text.as_bytes().first() {
            Some(b'{') if depth < MAX_DEPTH => (true, b'}'),
            Some(b'[') if depth < MAX_DEPTH => (false, b']'),
            _ => return Err(Bail),
        };
        let mut rest = after_spaces(text.get(1..).ok_or(Bail)?);
        let mut entries: BVec<'b, (Cow<'a, str>, Node<'a, 'b>)> = BVec::new_in(self.arena);
        let mut items: BVec<'b, Node<'a, 'b>> = BVec::new_in(self.arena);
        let mut keys = Keys::default();
        if rest.as_bytes().first() == Some(&close) {
            rest = rest.get(1..).ok_or(Bail)?;
        } else {
            loop {
                if is_map {
                    let (key, after) = flow_scalar(rest, true)?;
                    let key = match key {
                        Node::Plain(k) if !maybe_not_string(k) => Cow::Borrowed(k),
                        Node::Quoted(k) => k,
                        _ => return Err(Bail),
                    };
                    let (value, after) = self.flow_value(after, depth)?;
                    keys.insert(key.clone(), &entries)?;
                    entries.push((key, value));
                    rest = after;
                } else {
                    let (item, after) = match rest.as_bytes().first() {
                        Some(b'{' | b'[') => self.flow(rest, depth + 1)?,
                        _ => flow_scalar(rest, false)?,
                    };
                    items.push(item);
                    rest = after;
                }
                match next_entry(rest, close)? {
                    Some(after) => rest = after,
                    None => {
                        rest = after_spaces(rest).get(1..).ok_or(Bail)?;
                        break;
                    }
                }
            }
        }
        let node = if is_map {
            Node::Map(entries)
        } else {
            Node::Seq(items)
        };
        Ok((node, rest))
    }

    /// `: value` after a flow mapping's key: the value and what follows.
    fn flow_value(&self, text: &'a str, depth: usize) -> Result<(Node<'a, 'b>, &'a str), Bail> {
        let value = text.strip_prefix(": ").ok_or(Bail)?;
        let value = after_spaces(value);
        match value.as_bytes().first() {
            Some(b'{' | b'[') => self.flow(value, depth + 1),
            _ => flow_scalar(value, false),
        }
    }

    /// A literal block scalar (`|`, `|-`, `|+`) under a key or dash at
    /// indentation `parent`.
    fn literal(&mut self, header: &str, parent: usize) -> Result<Node<'a, 'b>, Bail> {
        let chomp = match strip_comment(header) {
            "|" => Chomp::Clip,
            "|-" => Chomp::Strip,
            "|+" => Chomp::Keep,
            _ => return Err(Bail),
        };
        let mut body: BVec<'b, &str> = BVec::new_in(self.arena);
        let mut content_indent = None;
        while let Some(line) = self.lines.get(self.i) {
            let content = after_spaces(line);
            let ind = line.len() - content.len();
            if content.is_empty() {
                body.push("");
                self.i += 1;
                continue;
            }
            let want = *content_indent.get_or_insert(ind);
            if want <= parent || ind < want {
                break;
            }
            body.push(line.get(want..).ok_or(Bail)?);
            self.i += 1;
        }
        if content_indent.is_none_or(|w| w <= parent) {
            return Err(Bail);
        }
        // Blank lines before an indented first line would make the
        // indentation ambiguous; so would a last line of only spaces.
        let mut out = body.join("\n");
        let trailing = body.iter().rev().take_while(|l| l.is_empty()).count();
        out.truncate(out.trim_end_matches('\n').len());
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => out.push('\n'),
            Chomp::Keep => {
                // The last line break and every trailing blank line.
                for _ in 0..=trailing {
                    out.push('\n');
                }
            }
        }
        Ok(Node::Quoted(Cow::Owned(out)))
    }
}

/// The keys of a mapping so far, to refuse a duplicate: compared one by
/// one while few, then through a set (a scan of the keys before each one
/// made a mapping of n keys cost n²).
#[derive(Default)]
struct Keys<'a>(Option<std::collections::HashSet<Cow<'a, str>>>);

impl<'a> Keys<'a> {
    /// Records `key` after `entries`; Bail when it is among them.
    fn insert<T>(&mut self, key: Cow<'a, str>, entries: &[(Cow<'a, str>, T)]) -> Result<(), Bail> {
        let duplicate = match &mut self.0 {
            Some(set) => !set.insert(key),
            None if entries.len() < SCAN_KEYS => entries.iter().any(|(k, _)| *k == key),
            None => {
                let set = self
                    .0
                    .insert(entries.iter().map(|(k, _)| k.clone()).collect());
                !set.insert(key)
            }
        };
        if duplicate { Err(Bail) } else { Ok(()) }
    }
}

/// After a flow entry: `Some(rest)` past a `,` when another entry
/// follows, None when `close` is next (not consumed); Bail otherwise (a
/// trailing comma, the line ending inside the collection).
fn next_entry(text: &str, close: u8) -> Result<Option<&str>, Bail> {
    let t = after_spaces(text);
    match t.as_bytes().first() {
        Some(b',') => {
            let next = after_spaces(t.get(1..).ok_or(Bail)?);
            match next.as_bytes().first() {
                None | Some(b',' | b']' | b'}') => Err(Bail),
                Some(_) => Ok(Some(next)),
            }
        }
        Some(&c) if c == close => Ok(None),
        _ => Err(Bail),
    }
}

/// A scalar entry of a flow collection at the start of `text` (a key of a
/// mapping when `key`): quoted, or plain up to the next `,`, `]`, `}`
/// (and `:` for a key). A plain scalar with a `:` or `#` inside, one that
/// starts with an indicator, or an empty one is not read here.
fn flow_scalar(text: &str, key: bool) -> Result<(Node<'_, '_>, &str), Bail> {
    match text.as_bytes().first() {
        Some(b'"') => {
            let (s, rest) = double_quoted(text)?;
            return Ok((Node::Quoted(s), rest));
        }
        Some(b'\'') => {
            let (s, rest) = single_quoted(text)?;
            return Ok((Node::Quoted(s), rest));
        }
        _ => {}
    }
    let bytes = text.as_bytes();
    let end = bytes
        .iter()
        .position(|b| matches!(b, b',' | b'[' | b']' | b'{' | b'}' | b':' | b'#'))
        .unwrap_or(bytes.len());
    match bytes.get(end) {
        Some(b':') if key => {}
        Some(b',' | b']' | b'}') => {}
        _ => return Err(Bail),
    }
    let (raw, rest) = text.split_at(end);
    let s = raw.trim_end_matches(' ');
    // `{a : 1}`: a key is read only when its colon follows it directly.
    if key && s.len() != raw.len() && rest.starts_with(':') {
        return Err(Bail);
    }
    let first = s.as_bytes().first().copied().ok_or(Bail)?;
    if matches!(
        first,
        b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'\'' | b'"'
    ) || (matches!(first, b'-' | b'?') && (s.len() == 1 || s.as_bytes().get(1) == Some(&b' ')))
    {
        return Err(Bail);
    }
    Ok((Node::Plain(s), rest))
}

/// `s` after its leading spaces, counted byte by byte (`trim_start_matches`
/// decodes a char at a time; with the last line `peek` found kept, the
/// reader over the 50k corpus went 211 -> 189 ms).
fn after_spaces(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| b == b' ').count();
    s.get(n..).unwrap_or(s)
}

enum Chomp {
    Clip,
    Strip,
    Keep,
}

/// `key: rest` → (key, rest after the colon and spaces). None when the
/// line is not a mapping entry; Bail when it might be one we do not read.
fn split_key(content: &str) -> Result<Option<(Cow<'_, str>, &str)>, Bail> {
    let (key, after) = match content.as_bytes().first() {
        Some(b'"') => {
            let (k, rest) = double_quoted(content)?;
            match rest.strip_prefix(':') {
                Some(a) => (k, a),
                None => return Ok(None),
            }
        }
        Some(b'\'') => {
            let (k, rest) = single_quoted(content)?;
            match rest.strip_prefix(':') {
                Some(a) => (k, a),
                None => return Ok(None),
            }
        }
        Some(
            b'?' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b'{' | b'[' | b']' | b'}' | b','
            | b'|' | b'>',
        ) => {
            return Err(Bail);
        }
        _ => {
            let at = match find_pair(content, *b": ", 0) {
                Some(i) => Some(i),
                None => content.strip_suffix(':').map(str::len),
            };
            let Some(i) = at else {
                return Ok(None);
            };
            let key = content.get(..i).ok_or(Bail)?;
            // A key YAML reads as a number, boolean or null (`404:`) is
            // not a string to serde_yaml's Value: not ours to read.
            if key.is_empty()
                || find_pair(key, *b" #", 1).is_some()
                || key.ends_with(' ')
                || maybe_not_string(key)
            {
                return Err(Bail);
            }
            (Cow::Borrowed(key), content.get(i + 1..).ok_or(Bail)?)
        }
    };
    if !(after.is_empty() || after.starts_with(' ')) {
        return Err(Bail);
    }
    Ok(Some((key, after.trim_start_matches(' '))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map<'a, 'b>(b: &'b bumpalo::Bump, entries: Vec<(&'a str, Node<'a, 'b>)>) -> Node<'a, 'b> {
        let mut v = BVec::new_in(b);
        v.extend(entries.into_iter().map(|(k, n)| (Cow::Borrowed(k), n)));
        Node::Map(v)
    }

    fn seq<'a, 'b>(b: &'b bumpalo::Bump, items: Vec<Node<'a, 'b>>) -> Node<'a, 'b> {
        let mut v = BVec::new_in(b);
        v.extend(items);
        Node::Seq(v)
    }

    /// A duplicate key anywhere in a large mapping makes the reader give
    /// up (serde_yaml then reports it), before and after the set takes
    /// over from the scan.
    #[test]
    fn duplicate_keys_in_large_mappings_bail() {
        let b = bumpalo::Bump::new();
        for n in [3, SCAN_KEYS - 1, SCAN_KEYS, SCAN_KEYS + 1, 500] {
            let keys: Vec<String> = (0..n).map(|i| format!("k{i}: v{i}")).collect();
            let text = format!("a:\n  {}\n", keys.join("\n  "));
            assert!(parse(&text, &b).is_ok(), "{n} keys");
            for dup in [0, n / 2, n - 1] {
                let again = format!("{text}  k{dup}: again\n");
                assert!(parse(&again, &b).is_err(), "{n} keys, k{dup} twice");
            }
        }
    }

    #[test]
    fn reads_block_mappings_and_sequences() {
        let text = "---\napiVersion: v1\nkind: Service # c\nmetadata:\n  name: 'a''b'\n  labels: {}\nspec:\n  ports:\n  - name: \"h\\\"t\"\n    port: 80\n  -\n    port: 81\n  x:\n";
        let b = bumpalo::Bump::new();
        let n = parse(text, &b).unwrap();
        assert_eq!(
            n,
            map(
                &b,
                vec![
                    ("apiVersion", Node::Plain("v1")),
                    ("kind", Node::Plain("Service")),
                    (
                        "metadata",
                        map(
                            &b,
                            vec![
                                ("name", Node::Quoted("a'b".into())),
                                ("labels", map(&b, vec![]))
                            ]
                        )
                    ),
                    (
                        "spec",
                        map(
                            &b,
                            vec![
                                (
                                    "ports",
                                    seq(
                                        &b,
                                        vec![
                                            map(
                                                &b,
                                                vec![
                                                    ("name", Node::Quoted("h\"t".into())),
                                                    ("port", Node::Plain("80"))
                                                ]
                                            ),
                                            map(&b, vec![("port", Node::Plain("81"))]),
                                        ]
                                    )
                                ),
                                ("x", Node::Empty),
                            ]
                        )
                    ),
                ]
            )
        );
    }

    #[test]
    fn reads_literal_blocks() {
        let b = bumpalo::Bump::new();
        let n = parse("a: |\n  x\n\n   y\nb: |-\n  z\n", &b).unwrap();
        assert_eq!(
            n,
            map(
                &b,
                vec![
                    ("a", Node::Quoted("x\n\n y\n".into())),
                    ("b", Node::Quoted("z".into()))
                ]
            )
        );
    }

    #[test]
    fn reads_one_line_flow_collections() {
        let b = bumpalo::Bump::new();
        let n = parse("a: {x: [1, 'q, ]'], \"y z\": {}}  # c\n- {}\n", &b);
        assert!(n.is_err(), "a sequence at a mapping's indentation");
        let n = parse("a: {x: [1, 'q, ]'], \"y z\": {}}  # c\nb:\n- [c d]\n", &b).unwrap();
        let seq = |items| Node::Seq(BVec::from_iter_in(items, &b));
        assert_eq!(
            n,
            map(
                &b,
                vec![
                    (
                        "a",
                        map(
                            &b,
                            vec![
                                (
                                    "x",
                                    seq(vec![Node::Plain("1"), Node::Quoted("q, ]".into())])
                                ),
                                ("y z", map(&b, vec![])),
                            ]
                        )
                    ),
                    ("b", seq(vec![seq(vec![Node::Plain("c d")])])),
                ]
            )
        );
    }

    #[test]
    fn gives_up_outside_the_subset() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: [1,\n  2]\n",
            "a: [b, ]\n",
            "a: {b:c}\n",
            "a: {b: 1, b: 2}\n",
            "a: [http://x]\n",
            "a: [b] c\n",
            "404: x\n",
            "]a: b\n",
            "a: >\n  folded\n",
            "a: multi\n  line\n",
            "a: 1\na: 2\n",
            "a:\tb\n",
            "? complex\n: key\n",
            "a: \"open\n  quote\"\n",
            "a: b: c\n",
            "- - nested\n",
        ] {
            assert!(parse(text, &bumpalo::Bump::new()).is_err(), "{text:?}");
        }
    }

    proptest::proptest! {
        /// The eight-bytes-at-once search finds what a byte loop finds.
        #[test]
        fn find_either_is_a_byte_loop(
            hay in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b':', b'#', b'\n', 0x80, 0xFF, 0, b' ']),
                0..40,
            ),
            from in 0usize..44,
            a in proptest::sample::select(vec![b':', b'#', b'\n', 0x80, 0]),
            b in proptest::sample::select(vec![b':', b'#', b'\n', 0xFF]),
        ) {
            let want = hay
                .get(from..)
                .and_then(|r| r.iter().position(|&c| c == a || c == b))
                .map(|p| from + p);
            proptest::prop_assert_eq!(find_either(&hay, from, a, b), want);
        }

        /// `find_pair` says what `str::find` says, for each pair the
        /// reader looks for, over text made of those bytes and others
        /// (multi-byte characters among them).
        #[test]
        fn find_pair_is_find(
            chars in proptest::collection::vec(
                proptest::sample::select(vec![' ', '#', ':', 'a', 'é', '\u{2003}']),
                0..24,
            )
        ) {
            let s: String = chars.into_iter().collect();
            proptest::prop_assert_eq!(find_pair(&s, *b": ", 0), s.find(": "));
            proptest::prop_assert_eq!(find_pair(&s, *b" #", 1), s.find(" #"));
            proptest::prop_assert_eq!(find_pair(&s, *b"a:", 1), s.find("a:"));
        }
    }
}
