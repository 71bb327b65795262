//! One-line scalars of the fast reader's subset: plain, single- and
//! double-quoted, and the plain forms YAML 1.1 may read as something other
//! than a string (null, booleans, numbers). Anything in doubt bails.
//!
//! It builds no tree: the parser in `mod.rs` does.

use std::borrow::Cow;

use super::super::bytes::find_pair;
use super::Bail;

/// Text up to a ` #` comment, without trailing spaces.
pub(super) fn strip_comment(text: &str) -> &str {
    let t = match find_pair(text, *b" #", 1) {
        Some(i) => text.get(..i).unwrap_or(text),
        None => text,
    };
    t.trim_end_matches(' ')
}

/// Nothing but spaces and a comment may follow a quoted scalar.
pub(super) fn end_of_line(rest: &str) -> Result<(), Bail> {
    let r = rest.trim_start_matches(' ');
    if r.is_empty() || (r.starts_with('#') && rest.starts_with(' ')) {
        Ok(())
    } else {
        Err(Bail)
    }
}

/// A one-line plain scalar.
pub(super) fn plain(text: &str) -> Result<&str, Bail> {
    let v = strip_comment(text);
    let first = v.as_bytes().first().copied().ok_or(Bail)?;
    let indicator = matches!(
        first,
        b'&' | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'%'
            | b'@'
            | b'`'
            | b'#'
            | b'{'
            | b'['
            | b']'
            | b'}'
            | b','
    ) || (matches!(first, b'-' | b'?' | b':')
        && (v.len() == 1 || v.as_bytes().get(1) == Some(&b' ')));
    if indicator
        || find_pair(v, *b": ", 0).is_some()
        || v.ends_with(':')
        || find_pair(v, *b" #", 1).is_some()
    {
        return Err(Bail);
    }
    Ok(v)
}

/// `"…"` at the start of `text`: the value and what follows the quote.
pub(super) fn double_quoted(text: &str) -> Result<(Cow<'_, str>, &str), Bail> {
    let body = text.get(1..).ok_or(Bail)?;
    let end = body
        .bytes()
        .position(|b| b == b'"' || b == b'\\')
        .ok_or(Bail)?;
    if body.as_bytes().get(end) == Some(&b'"') {
        let rest = body.get(end + 1..).ok_or(Bail)?;
        return Ok((Cow::Borrowed(body.get(..end).ok_or(Bail)?), rest));
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((Cow::Owned(out), body.get(i + 1..).ok_or(Bail)?)),
            '\\' => {
                let (_, e) = chars.next().ok_or(Bail)?;
                out.push(match e {
                    '\\' => '\\',
                    '"' => '"',
                    '/' => '/',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        let n = u32::from_str_radix(&hex, 16).map_err(|_| Bail)?;
                        if hex.len() != 4 {
                            return Err(Bail);
                        }
                        char::from_u32(n).ok_or(Bail)?
                    }
                    _ => return Err(Bail),
                });
            }
            c => out.push(c),
        }
    }
    Err(Bail)
}

/// `'…'` at the start of `text` (`''` is a quote).
pub(super) fn single_quoted(text: &str) -> Result<(Cow<'_, str>, &str), Bail> {
    let body = text.get(1..).ok_or(Bail)?;
    let mut out: Option<String> = None;
    let mut start = 0;
    let bytes = body.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                let s = out.get_or_insert_with(String::new);
                s.push_str(body.get(start..=i).ok_or(Bail)?);
                i += 2;
                start = i;
                continue;
            }
            let tail = body.get(start..i).ok_or(Bail)?;
            let rest = body.get(i + 1..).ok_or(Bail)?;
            return Ok(match out {
                Some(mut s) => {
                    s.push_str(tail);
                    (Cow::Owned(s), rest)
                }
                None => (Cow::Borrowed(tail), rest),
            });
        }
        i += 1;
    }
    Err(Bail)
}

pub(super) fn is_null(s: &str) -> bool {
    matches!(s, "~" | "null" | "Null" | "NULL")
}

pub(super) fn bool_of(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// A plain decimal integer as serde_yaml reads it; None for anything else
/// (including forms whose reading is in doubt: signs, leading zeros).
pub(super) fn decimal(s: &str) -> Option<u64> {
    let digits_ok = !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// True when serde_yaml might read a plain scalar as something other than
/// a string (a number, a boolean, null, infinity).
pub(super) fn maybe_not_string(s: &str) -> bool {
    is_null(s)
        || bool_of(s).is_some()
        || s.is_empty()
        || s.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '.')
}
