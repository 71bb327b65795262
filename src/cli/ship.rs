//! The commands that describe synroute itself rather than a manifest:
//! `version` (and the `--version` line), `completions`, `man` and
//! `schema`. Each prints what the clap definition, the build facts
//! (build.rs) or the emitters' types say; none reads an input.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::{Cli, EXIT_OK, parse_target};
use crate::target::Target;

/// The commit the binary was built from: 12 hex digits, or "unknown".
pub const COMMIT: &str = env!("SYNROUTE_BUILD_COMMIT");
/// The cargo features built in, comma-separated, or "none".
pub const FEATURES: &str = env!("SYNROUTE_BUILD_FEATURES");
/// The rustc target triple.
pub const TARGET: &str = env!("SYNROUTE_BUILD_TARGET");

/// What `--version` prints after "synroute ": one line whose shape stays
/// (README, "Install"): `0.1.0 (commit C, features F, target T, formats
/// v1 0.2 v2)`.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SYNROUTE_BUILD_COMMIT"),
    ", features ",
    env!("SYNROUTE_BUILD_FEATURES"),
    ", target ",
    env!("SYNROUTE_BUILD_TARGET"),
    ", formats v1 0.2 v2 pingress)"
);

#[derive(Args, Debug)]
pub(super) struct VersionArgs {
    /// Print the build facts as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(super) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub(super) struct ManArgs {
    /// Write synroute.1 and a page per command (synroute-render.1, …)
    /// into this folder instead of printing synroute.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(super) struct SchemaArgs {
    /// The routing-file format whose JSON Schema is printed.
    #[arg(long, value_name = "FORMAT", value_parser = parse_target, default_value = "v1")]
    target: Target,
}

pub(super) fn cmd_version(a: VersionArgs, stdout: &mut dyn Write) -> io::Result<u8> {
    if a.json {
        let features: Vec<&str> = FEATURES.split(',').filter(|f| *f != "none").collect();
        let facts = serde_json::json!({
            "name": env!("CARGO_PKG_NAME"),
            "version": env!("CARGO_PKG_VERSION"),
            "commit": COMMIT,
            "features": features,
            "target": TARGET,
            "rustc": env!("SYNROUTE_BUILD_RUSTC"),
            "formats": Target::ALL.map(Target::as_str),
            "default_format": Target::default().as_str(),
        });
        writeln!(stdout, "{facts}")?;
    } else {
        writeln!(stdout, "synroute {LONG_VERSION}")?;
    }
    Ok(EXIT_OK)
}

pub(super) fn cmd_completions(a: CompletionsArgs, stdout: &mut dyn Write) -> io::Result<u8> {
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "synroute", stdout);
    Ok(EXIT_OK)
}

pub(super) fn cmd_man(a: ManArgs, stdout: &mut dyn Write) -> io::Result<u8> {
    let cmd = Cli::command();
    match a.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(cmd, &dir)?;
        }
        None => clap_mangen::Man::new(cmd).render(stdout)?,
    }
    Ok(EXIT_OK)
}

pub(super) fn cmd_schema(a: SchemaArgs, stdout: &mut dyn Write) -> io::Result<u8> {
    stdout.write_all(crate::emit::json_schema::json_schema(a.target).as_bytes())?;
    Ok(EXIT_OK)
}
