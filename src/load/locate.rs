//! Finds the line of a field inside one document's text, for diagnostics.
//!
//! Typed parsing keeps no positions, so a diagnostic about
//! `spec.rules[0].http.paths[1]` is located afterwards by walking the block
//! structure of the YAML text: indentation, `key:` lines and `- ` items.
//! It is best effort by design: when the text is in flow style or JSON, the
//! deepest field it could find (at worst the document's first line) is
//! returned. It never fails and never panics.

use crate::model::{FieldPath, Seg};

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
    let indent = line.len() - line.trim_start_matches(' ').len();
    let mut rest = &line[indent..];
    let mut key_col = indent;
    let empty = rest.trim().is_empty() || rest.starts_with('#');
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
    // A plain key ends at the first ": " or a ':' closing the line.
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':'
            && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t')
        {
            let k = s[..i].trim_end();
            return (!k.is_empty()).then_some(k);
        }
        if bytes[i] == b'#' && i > 0 && bytes[i - 1] == b' ' {
            return None;
        }
        i += 1;
    }
    None
}

/// Returns the 0-based line (within `text`) and 1-based column of the
/// deepest element of `path` that could be found.
pub fn locate(text: &str, path: &FieldPath) -> (u32, u32) {
    let lines: Vec<Line<'_>> = text.lines().map(scan).collect();
    let first = lines
        .iter()
        .position(|l| !l.empty && !is_marker(l))
        .unwrap_or(0);
    let mut best = (first, 1usize);
    // The current block: line range and whether its first line is the node
    // itself (an item's first line carries its first key).
    let mut lo = first;
    let mut hi = lines.len();
    let mut map_col: Option<usize> = None;
    for seg in path.segs() {
        match seg {
            Seg::Key(k) => {
                let Some(col) = map_col.or_else(|| block_col(&lines, lo, hi)) else {
                    break;
                };
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

fn block_col(lines: &[Line<'_>], lo: usize, hi: usize) -> Option<usize> {
    (lo..hi)
        .find(|&j| !lines[j].empty && lines[j].key.is_some())
        .map(|j| lines[j].key_col)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldPath;

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
        locate(DOC, &p)
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
}
