//! Refuses YAML nested deeper than the general parser reads, before it is
//! parsed: serde_yaml stops at a depth of 128 ("recursion limit
//! exceeded"), but its scanner takes time quadratic in the depth of flow
//! collections to get there (a 200 KB `a: [[[[…]]]]` 100,000 deep took 30
//! seconds). One pass over the bytes finds where the flow collections
//! (`[`, `{`) nest deeper than that, and the document is refused at that
//! line and column, as serde_yaml would refuse it.
//!
//! The scan only ever refuses what serde_yaml refuses: a bracket counts
//! only where YAML reads it as a flow indicator — inside a flow
//! collection, or where a block value starts — never inside a quoted or
//! plain scalar, a comment or a block scalar (`|`, `>`).

/// The deepest nesting serde_yaml reads.
pub const MAX_DEPTH: usize = 128;

/// (line, column), 1-based, of the first flow indicator that opens a
/// collection deeper than `MAX_DEPTH`, if any.
pub fn too_deep(text: &str) -> Option<(u32, u32)> {
    // A quick way out for the usual document: fewer opening brackets than
    // the limit cannot nest past it.
    if memchr_count(text.as_bytes()) <= MAX_DEPTH {
        return None;
    }
    Scan::default().run(text)
}

/// How many `[` and `{` the text holds.
fn memchr_count(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'[' || c == b'{').count()
}

#[derive(Default)]
struct Scan {
    depth: usize,
    /// The indentation of the line that opened a block scalar: lines more
    /// indented than it (and blank ones) are its text.
    block_scalar: Option<usize>,
}

impl Scan {
    fn run(mut self, text: &str) -> Option<(u32, u32)> {
        for (n, line) in text.split('\n').enumerate() {
            let indent = line.len() - line.trim_start_matches(' ').len();
            if let Some(parent) = self.block_scalar {
                if line.trim().is_empty() || indent > parent {
                    continue;
                }
                self.block_scalar = None;
            }
            if let Some(col) = self.line(line.as_bytes(), indent) {
                return Some((u32::try_from(n + 1).unwrap_or(u32::MAX), col));
            }
        }
        None
    }

    /// Scans one line; the column where the depth goes past the limit.
    fn line(&mut self, b: &[u8], indent: usize) -> Option<u32> {
        let mut i = 0;
        // The last byte that is not a space: what decides whether a bracket
        // or a quote starts a node here.
        let mut prev: u8 = b'\n';
        while let Some(&c) = b.get(i) {
            let value_start = match prev {
                b'\n' => true,
                b'[' | b'{' | b',' => self.depth > 0,
                b':' | b'-' | b'?' => b.get(i.wrapping_sub(1)) == Some(&b' ') || prev == b'\n',
                _ => false,
            };
            match c {
                b' ' | b'\t' | b'\r' => {
                    i += 1;
                    continue;
                }
                b'#' if i == 0 || matches!(b.get(i - 1), Some(b' ' | b'\t')) => return None,
                b'"' | b'\'' if value_start || (self.depth > 0 && prev == b':') => {
                    i = skip_quoted(b, i, c);
                    prev = c;
                    continue;
                }
                b'[' | b'{' if self.depth > 0 || value_start => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Some(u32::try_from(i + 1).unwrap_or(u32::MAX));
                    }
                }
                b']' | b'}' if self.depth > 0 => self.depth -= 1,
                b'|' | b'>' if self.depth == 0 && value_start => {
                    self.block_scalar = Some(indent);
                    return None;
                }
                _ => {}
            }
            prev = c;
            i += 1;
        }
        None
    }
}

/// The index after the quoted scalar that opens at `start` with `quote`
/// (or the line's end: a multi-line quoted scalar goes on, which only
/// makes the scan count fewer brackets).
fn skip_quoted(b: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while let Some(&c) = b.get(i) {
        match (quote, c) {
            (b'"', b'\\') => i += 2,
            (b'\'', b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
            (q, c) if c == q => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(d: usize) -> String {
        format!("a: {}{}\n", "[".repeat(d), "]".repeat(d))
    }

    #[test]
    fn refuses_only_past_what_serde_yaml_reads() {
        for d in [1, 100, 126, 127, 128, 129, 130, 1000] {
            let text = nested(d);
            let ours = too_deep(&text).is_some();
            let theirs = serde_yaml::from_str::<serde_yaml::Value>(&text).is_err();
            // The mapping holding the flow collections is a level of its own.
            assert_eq!(ours, d > MAX_DEPTH, "depth {d}");
            if ours {
                assert!(theirs, "depth {d}: serde_yaml reads it");
            }
        }
        assert_eq!(too_deep(&nested(200)), Some((1, 4 + MAX_DEPTH as u32)));
    }

    #[test]
    fn brackets_that_are_text_do_not_count() {
        let deep = "[".repeat(300);
        for text in [
            format!("a: \"{deep}\"\n"),
            format!("a: '{deep}'\n"),
            format!("a: x{deep}\n"),
            format!("a: b # {deep}\n"),
            format!("a: |\n  {deep}\n  {deep}\nb: 1\n"),
            format!("a: >-\n    {deep}\n"),
            format!("a: [\"{deep}\", '{deep}']\n"),
        ] {
            assert_eq!(too_deep(&text), None, "{text}");
            assert!(
                serde_yaml::from_str::<serde_yaml::Value>(&text).is_ok(),
                "{text}"
            );
        }
        // Once the block scalar ends, brackets count again.
        let after = format!(
            "a: |\n  {deep}\nb: {}\n",
            nested(200).trim_start_matches("a: ")
        );
        assert!(too_deep(&after).is_some());
        // A sequence entry and a flow mapping open collections too.
        let seq = format!("- {}\n", "{a: ".repeat(200));
        assert!(too_deep(&seq).is_some());
    }
}
