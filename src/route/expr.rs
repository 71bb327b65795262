//! A small evaluator for the `match_expr` expressions synroute writes
//! (wirefilter syntax): the fields `http.request.path` and
//! `http.request.method`, `eq` on strings, `matches` on regular
//! expressions (Synapse's engine: Rust's regex), `and`, `or`, `not` and
//! parentheses. `explain` and the tests use it to pick the route Synapse
//! would; it refuses anything else rather than guess.
//!
//! It never compiles a regex the v2 emitter refused to write.

/// A parsed expression.
#[derive(Debug)]
pub enum Expr {
    Eq(Field, Vec<u8>),
    Matches(Field, regex::bytes::Regex),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Path,
    Method,
}

/// What an expression is evaluated against.
pub struct Request<'a> {
    pub path: &'a str,
    pub method: &'a str,
}

impl Expr {
    /// The match an expression of the forms synroute writes stands for
    /// (`emit::v2::match_expr`), or None for any other expression.
    pub fn route_match(&self) -> Option<crate::ir::RouteMatch> {
        use crate::ir::{PathMatch, RouteMatch};
        let path = |e: &Expr| -> Option<PathMatch> {
            match e {
                Expr::Eq(Field::Path, p) => {
                    Some(PathMatch::Exact(String::from_utf8(p.clone()).ok()?))
                }
                Expr::Matches(Field::Path, re) if re.as_str() == "^/" => {
                    Some(PathMatch::Prefix("/".to_string()))
                }
                Expr::Or(a, b) => match (a.as_ref(), b.as_ref()) {
                    (Expr::Eq(Field::Path, p), Expr::Matches(Field::Path, re)) => {
                        let p = String::from_utf8(p.clone()).ok()?;
                        let below = format!("^{}/", crate::translate::regex::escape(&p));
                        let below = crate::translate::regex::for_synapse(&below).unwrap_or(below);
                        (re.as_str() == below).then_some(PathMatch::Prefix(p))
                    }
                    _ => None,
                },
                Expr::Matches(Field::Path, re) => Some(PathMatch::Regex(re.as_str().to_string())),
                _ => None,
            }
        };
        match self {
            Expr::And(a, b) => match b.as_ref() {
                Expr::Eq(Field::Method, m) => Some(RouteMatch {
                    path: path(a)?,
                    method: Some(String::from_utf8(m.clone()).ok()?),
                }),
                _ => None,
            },
            e => Some(RouteMatch {
                path: path(e)?,
                method: None,
            }),
        }
    }

    pub fn eval(&self, r: &Request<'_>) -> bool {
        let value = |f: Field| match f {
            Field::Path => r.path.as_bytes(),
            Field::Method => r.method.as_bytes(),
        };
        match self {
            Expr::Eq(f, s) => value(*f) == s.as_slice(),
            Expr::Matches(f, re) => re.is_match(value(*f)),
            Expr::And(a, b) => a.eval(r) && b.eval(r),
            Expr::Or(a, b) => a.eval(r) || b.eval(r),
            Expr::Not(a) => !a.eval(r),
        }
    }
}

/// Parses an expression, or says where it stops making sense.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    let e = p.or()?;
    p.space();
    if p.at != p.s.len() {
        return Err(format!("unexpected text at byte {}", p.at));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    /// Consumes `word` (followed by a non-word byte) if it is next.
    fn word(&mut self, word: &str) -> bool {
        self.space();
        let end = self.at + word.len();
        let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.';
        if self.s.get(self.at..end) == Some(word.as_bytes())
            && !self.s.get(end).is_some_and(is_word)
        {
            self.at = end;
            return true;
        }
        false
    }

    fn punct(&mut self, c: u8) -> bool {
        self.space();
        if self.s.get(self.at) == Some(&c) {
            self.at += 1;
            return true;
        }
        false
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.word("or") || (self.punct(b'|') && self.punct(b'|')) {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.word("and") || (self.punct(b'&') && self.punct(b'&')) {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.word("not") || self.punct(b'!') {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.punct(b'(') {
            let e = self.or()?;
            if !self.punct(b')') {
                return Err(format!("expected `)` at byte {}", self.at));
            }
            return Ok(e);
        }
        let field = if self.word("http.request.path") {
            Field::Path
        } else if self.word("http.request.method") {
            Field::Method
        } else {
            return Err(format!("unknown field at byte {}", self.at));
        };
        if self.word("eq") || (self.punct(b'=') && self.punct(b'=')) {
            return Ok(Expr::Eq(field, self.string()?));
        }
        if self.word("matches") || (self.punct(b'~')) {
            let pattern = self.regex()?;
            let re = regex::bytes::Regex::new(&pattern).map_err(|e| e.to_string())?;
            return Ok(Expr::Matches(field, re));
        }
        Err(format!("expected `eq` or `matches` at byte {}", self.at))
    }

    fn open_quote(&mut self) -> Result<(), String> {
        if self.punct(b'"') {
            Ok(())
        } else {
            Err(format!("expected a string at byte {}", self.at))
        }
    }

    /// A string literal: `\"`, `\\`, `\xHH` and three octal digits.
    fn string(&mut self) -> Result<Vec<u8>, String> {
        self.open_quote()?;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.at) else {
                return Err("unterminated string".into());
            };
            self.at += 1;
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.at) else {
                        return Err("unterminated escape".into());
                    };
                    self.at += 1;
                    match e {
                        b'"' | b'\\' => out.push(e),
                        b'x' => {
                            let hex = self
                                .s
                                .get(self.at..self.at + 2)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u8::from_str_radix(h, 16).ok())
                                .ok_or("bad \\x escape")?;
                            self.at += 2;
                            out.push(hex);
                        }
                        b'0'..=b'7' => {
                            let oct = self
                                .s
                                .get(self.at - 1..self.at + 2)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u8::from_str_radix(h, 8).ok())
                                .ok_or("bad octal escape")?;
                            self.at += 2;
                            out.push(oct);
                        }
                        other => {
                            return Err(format!(
                                "escape \\{} is not one Synapse takes",
                                char::from(other)
                            ));
                        }
                    }
                }
                _ => out.push(b),
            }
        }
    }

    /// A regex literal: a backslash pair goes to the engine as it is, but
    /// `\"` outside a class is a quote.
    fn regex(&mut self) -> Result<String, String> {
        self.open_quote()?;
        let mut out = Vec::new();
        let mut in_class = false;
        loop {
            let Some(&b) = self.s.get(self.at) else {
                return Err("unterminated regex".into());
            };
            self.at += 1;
            match b {
                b'\\' => {
                    let Some(&e) = self.s.get(self.at) else {
                        return Err("unterminated escape".into());
                    };
                    self.at += 1;
                    if in_class || e != b'"' {
                        out.push(b'\\');
                    }
                    out.push(e);
                }
                b'"' if !in_class => {
                    return String::from_utf8(out).map_err(|e| e.to_string());
                }
                b'[' if !in_class => {
                    in_class = true;
                    out.push(b);
                }
                b']' if in_class => {
                    in_class = false;
                    out.push(b);
                }
                _ => out.push(b),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(e: &str, path: &str, method: &str) -> bool {
        parse(e)
            .unwrap_or_else(|err| panic!("{e}: {err}"))
            .eval(&Request { path, method })
    }

    #[test]
    fn what_synroute_writes_evaluates() {
        let prefix = r#"(http.request.path eq "/a.b" or http.request.path matches "^/a\.b/")"#;
        assert!(eval(prefix, "/a.b", "GET"));
        assert!(eval(prefix, "/a.b/c", "GET"));
        assert!(!eval(prefix, "/a.bc", "GET"));
        assert!(!eval(prefix, "/aXb", "GET"));
        let m = format!("{prefix} and http.request.method eq \"POST\"");
        assert!(eval(&m, "/a.b", "POST"));
        assert!(!eval(&m, "/a.b", "GET"));
        assert!(eval(
            r#"http.request.path eq "/\x22q\"\\""#,
            "/\"q\"\\",
            "GET"
        ));
        assert!(eval(
            r#"http.request.path matches "^(?:/v[0-9]+\x22)""#,
            "/v1\"x",
            "GET"
        ));
        assert!(eval(r#"not http.request.path eq "/a""#, "/b", "GET"));
    }

    /// What synroute writes reads back as the match it was written from.
    #[test]
    fn written_matches_read_back() {
        use crate::ir::{PathMatch, RouteMatch};
        for m in [
            RouteMatch::prefix("/"),
            RouteMatch::prefix("/a.b/c\"d"),
            RouteMatch {
                path: PathMatch::Exact("/x y".into()),
                method: Some("POST".into()),
            },
            RouteMatch {
                path: PathMatch::Regex(r"^(?:/v[0-9]+\x22)".into()),
                method: None,
            },
            RouteMatch {
                path: PathMatch::Prefix("/api".into()),
                method: Some("GET".into()),
            },
        ] {
            let e = crate::emit::v2::match_expr(&m);
            let back = parse(&e)
                .unwrap_or_else(|err| panic!("{e}: {err}"))
                .route_match();
            assert_eq!(back.as_ref(), Some(&m), "{e}");
        }
        assert!(
            parse(r#"not http.request.path eq "/""#)
                .unwrap()
                .route_match()
                .is_none()
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            r#"http.request.host eq "a""#,
            r#"http.request.path eq "a\n""#,
            r#"http.request.path eq "a"#,
            r#"(http.request.path eq "a""#,
            r#"http.request.path contains "a""#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
