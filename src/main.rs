//! The `synroute` binary: hands the arguments and the standard streams to
//! `cli::run` and turns its answer into the exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = synroute::cli::run(
        std::env::args_os(),
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}
