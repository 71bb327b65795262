//! `render`: one render of the inputs to stdout or `-o FILE` and
//! `--certs-out DIR`, or with `--check`, whether those are up to date.
//!
//! Writing is `outputs.rs`'s (atomic, in place, pruning); this file only
//! chooses what to write and the exit code.

use std::fs;
use std::io::{self, Read, Write};

use super::emit::Emit as Mode;
use super::{
    EXIT_ERROR, EXIT_FOUND, EXIT_OK, RenderArgs, options, print_diagnostics, read_inputs, summary,
};
use crate::diag::Severity;
use crate::outputs::{Emit, empty_render_refusal, holds, read_owned, write_outputs};
use crate::{Rendered, Source};

pub(super) fn cmd_render(
    a: RenderArgs,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    let mode = a.emit.mode();
    let emitted = match a
        .emit
        .options(&a.input.read, &a.flags.routing.route, &a.flags.routing.keys)
    {
        Ok(eo) => eo,
        Err(why) => {
            writeln!(stderr, "synroute: error: {why}")?;
            return Ok(EXIT_ERROR);
        }
    };
    if mode != Mode::File && a.certs_out.is_some() {
        writeln!(
            stderr,
            "synroute: error: --emit {} writes Kubernetes objects, the TLS Secrets staying in the cluster; --certs-out writes files, and goes with --emit file",
            a.emit.emit
        )?;
        return Ok(EXIT_ERROR);
    }
    if mode == Mode::Kustomize && a.output.is_none() {
        writeln!(
            stderr,
            "synroute: error: --emit kustomize writes a folder: give it with -o DIR"
        )?;
        return Ok(EXIT_ERROR);
    }
    let sources = render_inputs(&a, stdin, stderr)?;
    let mut opts = options(&a.input.read, a.flags.groups(), a.report.strict);
    super::emit::prepare(mode, &emitted, &mut opts);
    // upstreams.yaml goes straight from the table to its file or stdout.
    let rendered = crate::render_owned_unwritten(sources, &opts);
    let upstreams = |w: &mut dyn Write| rendered.write_upstreams(w, opts.jobs);
    let min = Severity::parse(&a.report.min_severity).unwrap_or(Severity::Warning);
    print_diagnostics(&rendered, min, stderr)?;
    if rendered.malformed {
        writeln!(
            stderr,
            "synroute: the input is malformed; nothing was written"
        )?;
        return Ok(EXIT_ERROR);
    }
    if a.check && mode == Mode::File {
        return check_outputs(&a, &rendered, &upstreams, stderr);
    }
    if a.report.strict && rendered.worst() >= Some(Severity::Warning) {
        writeln!(
            stderr,
            "synroute: --strict: warnings or errors found; nothing was written"
        )?;
        return Ok(EXIT_FOUND);
    }
    if mode != Mode::File {
        let how = (a.output.as_deref(), a.check, a.allow_empty, a.report.quiet);
        return super::emit::write(mode, &emitted, how, (&rendered, opts.jobs), stdout, stderr);
    }
    if let Some(path) = a.output.as_deref().filter(|_| !a.allow_empty)
        && let Some(d) = empty_render_refusal(path, &rendered)
    {
        writeln!(stderr, "{}", d.concise())?;
        return Ok(EXIT_FOUND);
    }
    write_outputs(
        a.output.as_deref(),
        a.certs_out.as_deref(),
        &rendered,
        &upstreams,
    )?;
    if a.output.is_none() {
        upstreams(stdout)?;
    }
    if !a.report.quiet {
        writeln!(stderr, "{}", summary(&rendered))?;
    }
    // The process ends after the command: freeing a large render's objects
    // one by one takes about a tenth of its run and gives nothing back.
    std::mem::forget(rendered);
    Ok(EXIT_OK)
}

/// The files (or stdin) named, or with `--from-cluster` the objects listed
/// from the API server.
pub(super) fn render_inputs(
    a: &RenderArgs,
    stdin: &mut dyn Read,
    stderr: &mut dyn Write,
) -> io::Result<Vec<Source>> {
    #[cfg(feature = "watch")]
    if a.from_cluster {
        if !a.input.paths.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "--from-cluster reads the API server; give no PATH",
            ));
        }
        return crate::cluster::snapshot(a.input.read.namespace.clone(), stderr);
    }
    let _ = stderr;
    read_inputs(&a.input, stdin)
}

/// `render --check`: compares what is on disk with what would be written.
pub(super) fn check_outputs(
    a: &RenderArgs,
    rendered: &Rendered,
    upstreams: Emit<'_>,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    if a.output.is_none() && a.certs_out.is_none() {
        writeln!(
            stderr,
            "synroute: error: --check needs -o FILE and/or --certs-out DIR to compare"
        )?;
        return Ok(EXIT_ERROR);
    }
    let mut stale = Vec::new();
    if let Some(path) = &a.output
        && !holds(path, upstreams)
    {
        stale.push(format!("{} differs from the render", path.display()));
    }
    if let Some(dir) = &a.certs_out {
        for (name, file) in &rendered.certs {
            if fs::read(dir.join(name)).ok().as_deref() != Some(&*file.bytes) {
                stale.push(format!(
                    "{} is missing or differs",
                    dir.join(name).display()
                ));
            }
        }
        for name in read_owned(dir) {
            if !rendered.certs.contains_key(&name) && dir.join(&name).exists() {
                stale.push(format!("{} is no longer needed", dir.join(&name).display()));
            }
        }
    }
    for s in &stale {
        writeln!(stderr, "synroute: stale: {s}")?;
    }
    if stale.is_empty() {
        if !a.report.quiet {
            writeln!(stderr, "synroute: up to date")?;
        }
        Ok(EXIT_OK)
    } else {
        Ok(EXIT_FOUND)
    }
}
