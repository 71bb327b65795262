//! `check`: the CI lint — a render judged by a policy and reported in a
//! CI format, or a routing file checked as its Synapse reads it.
//!
//! Policy and formats are `report.rs`'s; this file only reads the flags,
//! calls the library and picks the exit code.

use std::io::{self, Read, Write};

use super::{CheckArgs, EXIT_ERROR, EXIT_FOUND, EXIT_OK, Groups, options, read_inputs};
use crate::diag::{Code, Severity};
use crate::emit::schema::Effect;
use crate::report::{self, Format, Ignore, Policy, Report};
use crate::target::Target;
use crate::{Options, Rendered, Source, render};

pub(super) fn cmd_check(
    a: CheckArgs,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    if a.list_codes {
        stdout.write_all(report::list_codes().as_bytes())?;
        return Ok(EXIT_OK);
    }
    if let Some(code) = &a.explain {
        return Ok(match Code::parse(code) {
            Some(c) => {
                stdout.write_all(report::explain_code(c).as_bytes())?;
                EXIT_OK
            }
            None => {
                writeln!(
                    stderr,
                    "synroute: error: {code:?} is not a synroute code (see --list-codes)"
                )?;
                EXIT_ERROR
            }
        });
    }
    let mut policy = Policy {
        min_severity: Severity::parse(&a.min_severity).unwrap_or(Severity::Info),
        fail_on: Severity::parse(&a.fail_on),
        ..Policy::default()
    };
    for o in &a.severity {
        let parsed = o
            .split_once('=')
            .and_then(|(c, s)| Some((Code::parse(c)?, Severity::parse(s)?)));
        match parsed {
            Some((c, s)) => {
                policy.overrides.insert(c, s);
            }
            None => {
                writeln!(
                    stderr,
                    "synroute: error: --severity {o:?} is not CODE=error|warning|info"
                )?;
                return Ok(EXIT_ERROR);
            }
        }
    }
    for i in &a.ignore {
        match Ignore::parse(i) {
            Ok(ig) => policy.ignores.push(ig),
            Err(e) => {
                writeln!(stderr, "synroute: error: --ignore {i:?}: {e}")?;
                return Ok(EXIT_ERROR);
            }
        }
    }
    let format = match a.format.as_deref() {
        Some(f) => Format::parse(f).unwrap_or(Format::Text),
        None if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") => Format::Github,
        None => Format::Text,
    };
    let sources = read_inputs(&a.input, stdin)?;
    let opts = options(
        &a.input.read,
        Groups {
            route: Some(&a.route),
            certs: Some(&a.certs),
            ..Groups::default()
        },
        a.strict,
    );
    let rendered = match routing_file(&sources) {
        Some((name, text, format)) => {
            let target = a.route.target.unwrap_or(format);
            check_routing_file(name, text, target, &opts)
        }
        None => crate::render_owned(sources, &opts),
    };
    let report = Report::new(&rendered, &policy);
    stdout.write_all(report::render(&report, format).as_bytes())?;
    Ok(if rendered.malformed {
        EXIT_ERROR
    } else if report.fails() {
        EXIT_FOUND
    } else {
        EXIT_OK
    })
}

/// The one input, when it is a Synapse routing file rather than
/// manifests: its name, text and format.
pub(super) fn routing_file(sources: &[Source]) -> Option<(&str, &str, Target)> {
    let [only] = sources else { return None };
    let text = std::str::from_utf8(&only.content).ok()?;
    let format = crate::emit::schema::sniff(text)?;
    Some((&only.name, text, format))
}

/// `check` of a routing file: what would make `target`'s Synapse refuse
/// the file (or ignore a key of it), as diagnostics at its lines.
pub(super) fn check_routing_file(
    name: &str,
    text: &str,
    target: Target,
    opts: &Options,
) -> Rendered {
    let mut rendered = render(&[], opts);
    rendered.diagnostics = crate::emit::schema::validate(target, text)
        .into_iter()
        .map(|f| {
            let (code, what) = match f.effect {
                Effect::Refuses => (Code::RoutingFileRefused, "refuses the whole file"),
                Effect::Ignores => (Code::RoutingKeyIgnored, "ignores this"),
                Effect::Drops => (Code::RoutingServerDropped, "drops this"),
            };
            let mut d = crate::diag::Diagnostic::new(
                code,
                format!("{} {what}: {}", target.describe(), f.message),
            );
            d.location = Some(crate::diag::Location {
                file: name.to_string(),
                line: f.line.unwrap_or(1),
                column: None,
            });
            d
        })
        .collect();
    rendered
}
