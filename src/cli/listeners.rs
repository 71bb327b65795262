//! `listeners`: the Gateways that the input's WrappedGateways generate
//! (gateway-route-sync's job, `crate::listeners`), to stdout or `-o FILE`,
//! with what could not be generated on stderr. Writing is `outputs.rs`'s.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use clap::Args;

use super::{EXIT_ERROR, EXIT_FOUND, EXIT_OK, Groups, InputArgs, ReportArgs, options, read_inputs};
use crate::diag::{Code, Diagnostic, Severity};
use crate::outputs::write_atomic_if_changed;

#[derive(Args, Debug)]
pub(super) struct ListenersArgs {
    #[command(flatten)]
    pub(super) input: InputArgs,
    /// Write the Gateways here (atomically, only when they change) instead
    /// of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
}

pub(super) fn cmd_listeners(
    a: ListenersArgs,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    let sources = read_inputs(&a.input, stdin)?;
    let opts = options(&a.input.read, Groups::default(), a.report.strict);
    let mut s = crate::listeners::synthesize(&sources, &opts);
    if s.gateways.is_empty()
        && !s
            .diagnostics
            .iter()
            .any(|d| d.code == Code::MalformedDocument)
    {
        s.diagnostics.push(Diagnostic::new(
            Code::NoObjects,
            "the input holds no WrappedGateway (gateway-route-sync.homelab-helper.benfiola.com/v1)",
        ));
    }
    let min = Severity::parse(&a.report.min_severity).unwrap_or(Severity::Warning);
    let mut err = io::BufWriter::new(&mut *stderr);
    for d in s.diagnostics.iter().filter(|d| d.severity >= min) {
        writeln!(err, "{}", d.concise())?;
    }
    err.flush()?;
    drop(err);
    let worst = s.diagnostics.iter().map(|d| d.severity).max();
    if worst == Some(Severity::Error) {
        writeln!(
            stderr,
            "synroute: the input is malformed; nothing was written"
        )?;
        return Ok(EXIT_ERROR);
    }
    if a.report.strict && worst >= Some(Severity::Warning) {
        writeln!(
            stderr,
            "synroute: --strict: warnings or errors found; nothing was written"
        )?;
        return Ok(EXIT_FOUND);
    }
    let text = s.stream();
    match &a.output {
        Some(path) => {
            write_atomic_if_changed(path, &|w: &mut dyn Write| w.write_all(text.as_bytes()))?;
        }
        None => stdout.write_all(text.as_bytes())?,
    }
    if !a.report.quiet {
        let listeners: usize = s.gateways.iter().map(|g| g.listeners).sum();
        let count = |sev: Severity| s.diagnostics.iter().filter(|d| d.severity == sev).count();
        writeln!(
            stderr,
            "synroute: {} Gateways, {listeners} listeners; {} errors, {} warnings, {} infos",
            s.gateways.len(),
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info),
        )?;
    }
    Ok(EXIT_OK)
}
