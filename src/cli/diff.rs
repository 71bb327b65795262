//! `diff`: two renders (or routing files) compared as routing.
//!
//! Comparing and printing are `diff/`'s; this file reads the two sides
//! (through `inputs.rs`) and writes the answer.

use std::io::{self, Read, Write};

use super::check::routing_file;
use super::{DiffArgs, EXIT_ERROR, EXIT_FOUND, EXIT_OK, options, print_diagnostics};
use crate::diag::Severity;
use crate::diff::Side;
use crate::inputs::collect_sources;
use crate::target::Target;
use crate::{Source, render};

/// One side of `diff`: a rendered upstreams.yaml (recognised by its
/// content), or manifests to render. None: malformed (already reported).
pub(super) fn diff_side(
    path: &str,
    a: &DiffArgs,
    old_target: Option<Target>,
    stdin: &mut dyn Read,
    stderr: &mut dyn Write,
) -> io::Result<Option<Side>> {
    let sources = if path == "-" {
        let mut buf = Vec::new();
        stdin.read_to_end(&mut buf)?;
        vec![Source::new("-", buf)]
    } else {
        collect_sources(&[path.to_string()], &a.read.exclude)?
    };
    // A routing file, or what `render --emit` wrote: the routing file its
    // ConfigMap holds.
    let file = crate::gitops::emitted_routing(&sources).or_else(|| {
        routing_file(&sources).map(|(name, text, _)| (name.to_string(), text.to_string()))
    });
    if let Some((name, text)) = file {
        // A file is read as the format given for its side, else its own.
        let format = old_target.or(a.routing.route.target);
        return match Side::from_routing_file(&text, format) {
            Ok(side) => Ok(Some(side)),
            Err(e) => {
                writeln!(stderr, "synroute: error: {name}: {e}")?;
                Ok(None)
            }
        };
    }
    let mut opts = options(&a.read, a.routing.groups(), false);
    if let Some(t) = old_target {
        opts.target = t;
    }
    let rendered = render(&sources, &opts);
    if rendered.malformed {
        print_diagnostics(&rendered, Severity::Error, stderr)?;
        writeln!(stderr, "synroute: {path}: the input is malformed")?;
        return Ok(None);
    }
    Ok(Some(Side::from_rendered(&rendered, &sources)))
}

pub(super) fn cmd_diff(
    a: DiffArgs,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    if a.old == "-" && a.new == "-" {
        writeln!(
            stderr,
            "synroute: error: only one side of diff can be stdin"
        )?;
        return Ok(EXIT_ERROR);
    }
    let (Some(old), Some(new)) = (
        diff_side(&a.old, &a, a.old_target, stdin, stderr)?,
        diff_side(&a.new, &a, None, stdin, stderr)?,
    ) else {
        return Ok(EXIT_ERROR);
    };
    let d = crate::diff::diff(&old, &new);
    let body = match a.format.as_str() {
        "markdown" => crate::diff::markdown(&d),
        "json" => crate::diff::json(&d),
        _ => crate::diff::text(&d),
    };
    stdout.write_all(body.as_bytes())?;
    if a.unified {
        let u = crate::diff::unified(&old, &new, &a.old, &a.new);
        if a.format == "markdown" {
            write!(stdout, "\n```diff\n{u}```\n")?;
        } else {
            stdout.write_all(u.as_bytes())?;
        }
    }
    Ok(if d.is_empty() { EXIT_OK } else { EXIT_FOUND })
}
