//! Regular expressions and string literals as Synapse's `match_expr`
//! (wirefilter) reads them.
//!
//! A path regex is parsed with regex-syntax, the parser of Synapse's own
//! engine, and then held to what that engine's build has: no Unicode
//! classes (so `\d`, `\s`, `\w` are written out as their ASCII classes, and
//! `\p{…}`, Unicode word boundaries and case folding are refused), and a
//! `"` written as `\x22` so that it cannot end the literal. What comes out
//! compiles with the `regex` crate, which is how `explain` evaluates it.
//! Nothing here knows about manifests or the file's layout.

use std::fmt::Write as _;

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassPerlKind, ClassSetItem, Flag, FlagsItemKind, GroupKind,
};

/// `pattern` as Synapse's engine will read it, or why it cannot.
pub fn for_synapse(pattern: &str) -> Result<String, String> {
    let parsed = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| e.kind().to_string())?;
    let edits = ast::visit(&parsed, Edits::default())?;
    let mut out = pattern.to_string();
    // From the end, so that earlier spans keep their offsets.
    for (start, end, text) in edits.into_iter().rev() {
        out.replace_range(start..end, &text);
    }
    regex::RegexBuilder::new(&out)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("it compiles to more than {limit} bytes")
            }
            other => other.to_string(),
        })?;
    Ok(out)
}

/// The replacements a pattern needs, by byte span, in order.
#[derive(Default)]
struct Edits(Vec<(usize, usize, String)>);

fn perl_class(kind: &ClassPerlKind, negated: bool, bracketed: bool) -> String {
    let set = match kind {
        ClassPerlKind::Digit => "0-9",
        ClassPerlKind::Space => r"\t\n\x0B\x0C\r ",
        ClassPerlKind::Word => "0-9A-Za-z_",
    };
    match (negated, bracketed) {
        (false, true) => set.to_string(),
        (false, false) => format!("[{set}]"),
        (true, _) => format!("[^{set}]"),
    }
}

const UNICODE_CLASS: &str = "Unicode classes (\\p{…}) are not in Synapse's regex engine";
const CASE_FOLDING: &str = "case-insensitive matching ((?i)) needs Unicode case tables, which Synapse's regex engine lacks";
const WORD_BOUNDARY: &str =
    "word boundaries (\\b, \\B) need Unicode word tables, which Synapse's regex engine lacks";

fn check_flags(flags: &ast::Flags) -> Result<(), String> {
    let mut negated = false;
    for item in &flags.items {
        match item.kind {
            FlagsItemKind::Negation => negated = true,
            FlagsItemKind::Flag(Flag::CaseInsensitive) if !negated => {
                return Err(CASE_FOLDING.to_string());
            }
            FlagsItemKind::Flag(_) => {}
        }
    }
    Ok(())
}

impl Edits {
    fn literal(&mut self, lit: &ast::Literal) {
        if lit.c == '"' {
            self.0
                .push((lit.span.start.offset, lit.span.end.offset, r"\x22".into()));
        }
    }
}

impl ast::Visitor for Edits {
    type Output = Vec<(usize, usize, String)>;
    type Err = String;

    fn finish(mut self) -> Result<Self::Output, String> {
        self.0.sort_by_key(|(start, _, _)| *start);
        Ok(self.0)
    }

    fn visit_pre(&mut self, ast: &Ast) -> Result<(), String> {
        match ast {
            Ast::ClassUnicode(_) => return Err(UNICODE_CLASS.into()),
            Ast::ClassPerl(p) => self.0.push((
                p.span.start.offset,
                p.span.end.offset,
                perl_class(&p.kind, p.negated, false),
            )),
            Ast::Assertion(a) => match a.kind {
                AssertionKind::StartLine
                | AssertionKind::EndLine
                | AssertionKind::StartText
                | AssertionKind::EndText => {}
                _ => return Err(WORD_BOUNDARY.into()),
            },
            Ast::Flags(f) => check_flags(&f.flags)?,
            Ast::Group(g) => {
                if let GroupKind::NonCapturing(flags) = &g.kind {
                    check_flags(flags)?;
                }
            }
            Ast::Literal(l) => self.literal(l),
            _ => {}
        }
        Ok(())
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), String> {
        match item {
            ClassSetItem::Unicode(_) => return Err(UNICODE_CLASS.into()),
            ClassSetItem::Perl(p) => self.0.push((
                p.span.start.offset,
                p.span.end.offset,
                perl_class(&p.kind, p.negated, true),
            )),
            ClassSetItem::Literal(l) => self.literal(l),
            ClassSetItem::Range(r) => {
                self.literal(&r.start);
                self.literal(&r.end);
            }
            _ => {}
        }
        Ok(())
    }
}

/// `s` as a wirefilter string literal, quotes included: `"` and `\`
/// escaped, every control or non-ASCII byte as `\xHH` (the only escapes
/// Synapse takes).
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02X}");
            }
        }
    }
    out.push('"');
    out
}

/// The regex literal for `pattern` (already `for_synapse`): quoted, its
/// backslashes as they are.
pub fn regex_literal(pattern: &str) -> String {
    format!("\"{pattern}\"")
}

/// `literal` with the characters a regex gives a meaning escaped (not `-`,
/// `&`, `~` or `#`, which regex-syntax also escapes but only classes and
/// verbose mode read: a path reads better without them).
pub fn escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len() + 4);
    for c in literal.chars() {
        if matches!(
            c,
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The expression of a path prefix at `/` boundaries: the path itself or
/// anything below it.
pub fn prefix_expr(prefix: &str) -> String {
    if prefix == "/" {
        return format!("http.request.path matches {}", regex_literal("^/"));
    }
    let below = format!("^{}/", escape(prefix));
    // An escaped literal path always parses; a `"` in it is written out.
    let below = for_synapse(&below).unwrap_or(below);
    format!(
        "(http.request.path eq {} or http.request.path matches {})",
        string_literal(prefix),
        regex_literal(&below)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_written_out() {
        assert_eq!(for_synapse(r"/v\d+/items").unwrap(), "/v[0-9]+/items");
        assert_eq!(for_synapse(r"/[\d_]+").unwrap(), "/[0-9_]+");
        assert_eq!(for_synapse(r"/\W").unwrap(), "/[^0-9A-Za-z_]");
        assert_eq!(for_synapse(r"/a\.b").unwrap(), r"/a\.b");
    }

    #[test]
    fn what_synapse_lacks_is_refused() {
        for bad in [
            r"/\p{L}",
            r"/[\pL]",
            "/app/(?!admin).*",
            r"/\Qa\E",
            "/{foo}",
            r"/\bword",
            "(?i)/abc",
            "/(?i:x)",
            "/(",
        ] {
            assert!(for_synapse(bad).is_err(), "{bad} was taken");
        }
        assert!(for_synapse("(?-i)/abc").is_ok());
        assert!(for_synapse("/a{2,3}").is_ok());
    }

    #[test]
    fn quotes_cannot_end_the_literal() {
        let re = for_synapse(r#"/a"b/[x"]"#).unwrap();
        assert_eq!(re, r"/a\x22b/[x\x22]");
        assert!(!re.contains('"'));
        let r = regex::Regex::new(&re).unwrap();
        assert!(r.is_match("/a\"b/\""));
    }

    #[test]
    fn string_escapes_are_the_ones_synapse_takes() {
        assert_eq!(string_literal("/a\"b\\c"), r#""/a\"b\\c""#);
        assert_eq!(string_literal("/é\t"), r#""/\xC3\xA9\x09""#);
    }

    #[test]
    fn prefix_expressions() {
        assert_eq!(prefix_expr("/"), r#"http.request.path matches "^/""#);
        assert_eq!(escape("/a-b.c(d)"), r"/a-b\.c\(d\)");
        for path in ["/a-b.c(d)", "/x+y/[z]", "/a\\b", "/$^|?*{1}"] {
            let re = regex::Regex::new(&format!("^{}$", escape(path))).unwrap();
            assert!(re.is_match(path), "{path}");
        }
        assert_eq!(
            prefix_expr("/a.b"),
            r#"(http.request.path eq "/a.b" or http.request.path matches "^/a\.b/")"#
        );
    }
}
