//! The shell's commands: the clap definition, turning raw flags into
//! `Options` before the core sees them, printing diagnostics and choosing
//! the exit code; one file per command (`render`, `check`, `diff`,
//! `explain`, `watch`). Reading inputs is `crate::inputs`, writing outputs
//! `crate::outputs`; nothing below the commands imports this module.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::diag::Severity;
use crate::target::Target;
use crate::{Options, Rendered, Source};

mod check;
mod diff;
mod emit;
mod explain;
mod hash;
mod listeners;
mod render;
mod ship;
#[cfg(feature = "watch")]
mod watch;

pub use crate::inputs::collect_sources;
use crate::inputs::read_sources;
use check::cmd_check;
use diff::cmd_diff;
use explain::cmd_explain;
pub use explain::{explain_request, explain_text};
use render::cmd_render;
pub use ship::TARGET as BUILD_TARGET;
use ship::{CompletionsArgs, ManArgs, SchemaArgs, VersionArgs};
#[cfg(feature = "watch")]
use watch::{cmd_watch, watch_settings};

#[derive(Parser, Debug)]
#[command(
    name = "synroute",
    version = ship::LONG_VERSION,
    about = "Render Kubernetes Ingress and Gateway API manifests into Synapse's upstreams.yaml and TLS cert files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Render manifests into upstreams.yaml (stdout or -o) and cert files.
    Render(RenderArgs),
    /// Show which entry Synapse would pick for a URL, and where it came from.
    Explain(ExplainArgs),
    /// Lint manifests: render, write nothing, report every diagnostic.
    Check(CheckArgs),
    /// Show how routes change between two manifest trees (or rendered files).
    Diff(DiffArgs),
    /// Keep -o FILE and --certs-out DIR rendered from PATHs as they change,
    /// and signal Synapse to reload (the sidecar loop).
    #[cfg(feature = "watch")]
    Watch(WatchArgs),
    /// Print the Gateways that WrappedGateways generate (gateway-route-sync's
    /// listeners, offline).
    Listeners(listeners::ListenersArgs),
    /// Print the config hash of the operator's config-sync mode, per
    /// namespace (--patch: the workloads with it stamped).
    Hash(hash::HashArgs),
    /// Print the version, commit, features and target (--json: as JSON).
    Version(VersionArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the man page (--dir: write one page per command).
    Man(ManArgs),
    /// Print the JSON Schema of the routing file of a --target.
    Schema(SchemaArgs),
}

#[cfg(feature = "watch")]
#[derive(Args, Debug)]
struct WatchArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    flags: RenderFlags,
    /// Keep upstreams.yaml here (atomic writes, only on change).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// Keep <stem>.crt / <stem>.key files here (in place, pruned).
    #[arg(long, value_name = "DIR")]
    certs_out: Option<PathBuf>,
    /// Quiet time after the last change of a burst before rendering.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    debounce: std::time::Duration,
    /// SIGHUP every process of this name (from /proc; never synroute) after
    /// a render that changed a file [default for v1 and v2: synapse].
    /// Refused with --target 0.2, which the signal would end; with
    /// --target pingress nothing is sent by default (its proxy watches its
    /// files and restarts itself).
    #[arg(long, value_name = "NAME")]
    reload_process_name: Option<String>,
    /// SIGHUP the PID in this file instead (not with --target 0.2).
    #[arg(long, value_name = "FILE", conflicts_with = "no_reload")]
    reload_pid_file: Option<PathBuf>,
    /// --target 0.2: reload through Synapse's config API at this base URL
    /// (http://HOST:PORT, its config_address): the file is POSTed to
    /// /conf, with the key from --synapse-api-key-file or SYNAPSE_API_KEY.
    /// Without it, a trigger file beside -o FILE makes Synapse's file
    /// watcher read the file again.
    #[arg(long, value_name = "URL", conflicts_with = "no_reload")]
    synapse_api: Option<String>,
    /// The file holding the config API's master key (else the environment
    /// variable SYNAPSE_API_KEY; never a flag value).
    #[arg(long, value_name = "FILE", requires = "synapse_api")]
    synapse_api_key_file: Option<PathBuf>,
    /// --target 0.2: send each reload again this long after it was taken,
    /// past a health-check round of Synapse's (whose write-back can undo a
    /// reload taken in its middle; rounds are healthcheck_interval apart,
    /// 2 s by default, plus the time their checks take).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    reload_repeat: std::time::Duration,
    /// Tell the proxy nothing.
    #[arg(long)]
    no_reload: bool,
    /// Write -o FILE even when a render routes no host and FILE routes some
    /// (by default that render is refused, SR1701, and the file kept).
    #[arg(long)]
    allow_empty: bool,
    /// Create this file after the first successful write (readiness probe).
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
    /// Render once, write, and exit: 0 when the files were written or
    /// already up to date, 2 when the render was not written (malformed
    /// input, an empty render refused, a write that failed; the log says
    /// which).
    #[arg(long, conflicts_with = "max_renders")]
    once: bool,
    /// Stop after this many renders (for tests and scripts).
    #[arg(long, value_name = "N", hide = true)]
    max_renders: Option<usize>,
    /// Watch the Kubernetes API (in-cluster config or KUBECONFIG) instead
    /// of files; --namespace narrows it to one namespace.
    #[arg(long)]
    from_cluster: bool,
    /// With --from-cluster: how often to look again for Gateway API CRDs
    /// that were missing (or are gone).
    #[arg(long, default_value = "60s", value_parser = parse_duration, requires = "from_cluster")]
    crd_recheck: std::time::Duration,
}

/// `500ms`, `2s`, `1m`, or plain milliseconds.
#[cfg(feature = "watch")]
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let t = s.trim();
    let (num, unit): (&str, fn(u64) -> Duration) = if let Some(n) = t.strip_suffix("ms") {
        (n, Duration::from_millis)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, Duration::from_secs)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, |m| Duration::from_secs(m * 60))
    } else {
        (t, Duration::from_millis)
    };
    num.trim()
        .parse::<u64>()
        .map(unit)
        .map_err(|_| format!("{s:?} is not a duration like 500ms, 2s or 1m"))
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// The old side: manifests (file, folder, `-`) or a rendered upstreams.yaml.
    old: String,
    /// The new side: manifests (file, folder, `-`) or a rendered upstreams.yaml.
    new: String,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    routing: RoutingFlags,
    /// How the route diff is printed.
    #[arg(long, default_value = "text", value_parser = ["text", "markdown", "json"])]
    format: String,
    /// Also print the text diff of the rendered files.
    #[arg(long)]
    unified: bool,
    /// Render the old side for this format (default: --target): a
    /// migration's review, v1 → v2 say, compares the routing, not the bytes.
    #[arg(long, value_name = "FORMAT", value_parser = parse_target)]
    old_target: Option<Target>,
}

#[derive(Args, Debug)]
struct InputArgs {
    /// Files, folders (recursive: *.yaml, *.yml, *.json) or `-` for stdin.
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
    #[command(flatten)]
    read: ReadArgs,
}

/// Which documents are read: the flags every command that reads
/// manifests takes.
#[derive(Args, Debug)]
struct ReadArgs {
    /// Leave paths matching GLOB out of folder walks (repeatable). A GLOB
    /// without `/` matches any file or folder name; one with `/` matches the
    /// path below the folder given (`**` spans folders).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Keep only objects of this namespace (also the namespace of objects
    /// that name none).
    #[arg(long, short = 'n', value_name = "NS")]
    namespace: Option<String>,
    /// Threads that read and parse documents (default: every core). The
    /// output is the same whatever it is; only the time changes.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    jobs: usize,
}

/// Which objects are routed and for which proxy: the flags of the commands
/// that render routes (render, check, explain, diff, watch).
#[derive(Args, Debug)]
struct RouteArgs {
    /// The Ingress class synroute renders (default: synapse; pingress
    /// with --target pingress).
    #[arg(long, value_name = "CLASS")]
    ingress_class: Option<String>,
    /// The controller name of our IngressClasses and GatewayClasses.
    #[arg(long, default_value = "gen0sec.com/synapse")]
    controller_name: String,
    /// Render rules that match every host under this host name.
    #[arg(long, value_name = "NAME")]
    catch_all_host: Option<String>,
    /// Render only routes attached to this Gateway (and its ListenerSets);
    /// repeatable. Default: every Gateway of our GatewayClasses.
    #[arg(long, value_name = "NS/NAME", value_parser = parse_gateway)]
    gateway: Vec<(String, String)>,
    /// The routing-file format of the proxy that reads it: v1 (Synapse
    /// 0.8, the default), 0.2 (the public 0.2 release), v2 (Synapse after
    /// 0.8.7) or pingress (Pingress's proxy.json). `check` of a routing
    /// file defaults to its own format.
    #[arg(long, value_name = "FORMAT", value_parser = parse_target)]
    target: Option<Target>,
}

/// How the routing file names what the proxy reaches: the flags of the
/// commands that show addresses (render, explain, diff, watch).
#[derive(Args, Debug)]
struct AddressArgs {
    /// Cluster DNS domain of Service addresses.
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
}

/// Where Pingress finds its TLS files: the flag of the commands that
/// write or compare proxy.json (render, diff, watch).
#[derive(Args, Debug)]
struct KeysArgs {
    /// With --target pingress: the folder the proxy reads <host>.cert and
    /// <host>.key from, as proxy.json names them [default:
    /// /etc/pingress/keys].
    #[arg(long, value_name = "DIR")]
    keys_dir: Option<String>,
}

/// How certificates are checked: the flags of the commands that report
/// them (render, check, watch).
#[derive(Args, Debug)]
struct CertArgs {
    /// Check certificate validity at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    now: Option<i64>,
    /// Warn about certificates expiring within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 21)]
    expiry_warning: u32,
}

fn parse_target(s: &str) -> Result<Target, String> {
    Target::parse(s).ok_or_else(|| format!("{s:?} is not a target: v1, 0.2, v2 or pingress"))
}

fn parse_time(s: &str) -> Result<i64, String> {
    s.parse::<k8s_openapi::jiff::Timestamp>()
        .map(|t| t.as_second())
        .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

fn parse_gateway(s: &str) -> Result<(String, String), String> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_string(), name.to_string()))
        }
        None if !s.is_empty() => Ok(("default".to_string(), s.to_string())),
        _ => Err(format!("{s:?} is not NAMESPACE/NAME")),
    }
}

#[derive(Args, Debug)]
struct RenderArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    flags: RenderFlags,
    /// Write upstreams.yaml here (atomically, only when it changes)
    /// instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write <stem>.crt / <stem>.key files (Pingress: <host>.cert /
    /// <host>.key) here, in place, only on change; prune files synroute
    /// wrote before and no longer needs.
    #[arg(long, value_name = "DIR")]
    certs_out: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
    /// Write -o FILE even when this render routes no host and FILE routes
    /// some (by default that render is refused, SR1701, exit 1).
    #[arg(long)]
    allow_empty: bool,
    /// Write nothing; exit 1 when -o FILE or --certs-out DIR is not what
    /// this render would write ("is the committed output up to date?").
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    emit: emit::EmitArgs,
    /// Read the objects from the Kubernetes API (in-cluster config or
    /// KUBECONFIG) instead of files: list every kind once, render, write,
    /// exit (an initContainer's job; `watch --from-cluster` keeps going).
    #[cfg(feature = "watch")]
    #[arg(long)]
    from_cluster: bool,
}

/// The groups of the commands that write or compare routing files
/// (render, diff, watch).
#[derive(Args, Debug)]
struct RoutingFlags {
    #[command(flatten)]
    route: RouteArgs,
    #[command(flatten)]
    addr: AddressArgs,
    #[command(flatten)]
    keys: KeysArgs,
}

impl RoutingFlags {
    fn groups(&self) -> Groups<'_> {
        Groups {
            route: Some(&self.route),
            addr: Some(&self.addr),
            keys: Some(&self.keys),
            certs: None,
        }
    }
}

/// Every group of the commands that render and write (render, watch).
#[derive(Args, Debug)]
struct RenderFlags {
    #[command(flatten)]
    routing: RoutingFlags,
    #[command(flatten)]
    certs: CertArgs,
}

impl RenderFlags {
    fn groups(&self) -> Groups<'_> {
        Groups {
            certs: Some(&self.certs),
            ..self.routing.groups()
        }
    }
}

/// How a command that writes files reports: the flags `render` and
/// `listeners` share.
#[derive(Args, Debug)]
struct ReportArgs {
    /// Write nothing and exit 1 when any warning or error is found.
    #[arg(long)]
    strict: bool,
    /// Lowest severity printed on stderr.
    #[arg(long, default_value = "warning", value_parser = ["info", "warning", "error"])]
    min_severity: String,
    /// Print no summary line.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    route: RouteArgs,
    #[command(flatten)]
    certs: CertArgs,
    /// Output format (default: github when GITHUB_ACTIONS=true, else text).
    #[arg(long, value_parser = ["text", "json", "github", "sarif", "junit"])]
    format: Option<String>,
    /// Exit 1 when a diagnostic reaches this severity.
    #[arg(long, default_value = "error", value_parser = ["error", "warning", "info", "never"])]
    fail_on: String,
    /// Lowest severity shown (everything is still counted).
    #[arg(long, default_value = "info", value_parser = ["info", "warning", "error"])]
    min_severity: String,
    /// Override a code's severity: SRnnnn=error|warning|info (repeatable).
    #[arg(long, value_name = "CODE=SEVERITY")]
    severity: Vec<String>,
    /// Silence a code everywhere, or on one object: SRnnnn[=Kind/ns/name].
    #[arg(long, value_name = "CODE[=Kind/ns/name]")]
    ignore: Vec<String>,
    /// Dropped HTTPRoute match conditions are errors.
    #[arg(long)]
    strict: bool,
    /// Print a code's explanation and exit.
    #[arg(long, value_name = "CODE", exclusive = true)]
    explain: Option<String>,
    /// Print the table of codes and exit.
    #[arg(long, exclusive = true)]
    list_codes: bool,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    /// The request, as `https://host/path` (port and query are ignored).
    url: String,
    /// The request's method (v2 routes can match on it).
    #[arg(long, short = 'X', default_value = "GET", value_name = "METHOD")]
    method: String,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    route: RouteArgs,
    #[command(flatten)]
    addr: AddressArgs,
}

/// The whole command line's definition (for tests and tools that walk it:
/// the completions and man pages are made from it too).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Exit codes (SPEC §7).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FOUND: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// Runs synroute with `args` (including the program name).
pub fn run<I, T>(
    args: I,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let text = e.render().to_string();
            let _ = if e.use_stderr() {
                stderr.write_all(text.as_bytes())
            } else {
                stdout.write_all(text.as_bytes())
            };
            return code;
        }
    };
    let route = match &cli.command {
        Command::Render(a) => Some((&a.flags.routing.route, Some(&a.flags.routing.keys))),
        Command::Explain(a) => Some((&a.route, None)),
        Command::Check(a) => Some((&a.route, None)),
        Command::Diff(a) => Some((&a.routing.route, Some(&a.routing.keys))),
        #[cfg(feature = "watch")]
        Command::Watch(a) => Some((&a.flags.routing.route, Some(&a.flags.routing.keys))),
        Command::Listeners(_)
        | Command::Hash(_)
        | Command::Version(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::Schema(_) => None,
    };
    if let Some(why) = route.and_then(|(r, k)| target_usage(r, k)) {
        let _ = writeln!(stderr, "synroute: error: {why}");
        return EXIT_ERROR;
    }
    let result = match cli.command {
        Command::Render(a) => cmd_render(a, stdin, stdout, stderr),
        Command::Explain(a) => cmd_explain(a, stdin, stdout, stderr),
        Command::Check(a) => cmd_check(a, stdin, stdout, stderr),
        Command::Diff(a) => cmd_diff(a, stdin, stdout, stderr),
        #[cfg(feature = "watch")]
        Command::Watch(a) => cmd_watch(a, stderr),
        Command::Listeners(a) => listeners::cmd_listeners(a, stdin, stdout, stderr),
        Command::Hash(a) => hash::cmd_hash(a, stdin, stdout, stderr),
        Command::Version(a) => ship::cmd_version(a, stdout),
        Command::Completions(a) => ship::cmd_completions(a, stdout),
        Command::Man(a) => ship::cmd_man(a, stdout),
        Command::Schema(a) => ship::cmd_schema(a, stdout),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            let _ = writeln!(stderr, "synroute: error: {e}");
            EXIT_ERROR
        }
    }
}

/// Flags that the chosen target cannot take, as a usage error.
fn target_usage(a: &RouteArgs, keys: Option<&KeysArgs>) -> Option<String> {
    let target = a.target.unwrap_or_default();
    match keys.and_then(|k| k.keys_dir.as_deref()) {
        Some(_) if target != Target::Pingress => {
            return Some(format!(
                "--keys-dir names where Pingress reads its TLS files; {} names certificates by stem (give --target pingress)",
                target.describe()
            ));
        }
        Some(dir) if !dir.starts_with('/') => {
            return Some(format!(
                "--keys-dir {dir:?}: proxy.json names the files by absolute path (give the folder as the proxy sees it, /etc/pingress/keys say)"
            ));
        }
        _ => {}
    }
    let host = a.catch_all_host.as_deref()?;
    match (target, host) {
        // v1's default host: it serves every name no other host has.
        (Target::V1, "*") => None,
        (Target::V02 | Target::V2 | Target::Pingress, "*") => Some(format!(
            "--catch-all-host '*': `*` is v1's default host; {} has none (give the proxy's public name)",
            target.describe()
        )),
        (Target::V2, h) if !crate::emit::schema::v2_host_key(h) => Some(format!(
            "--catch-all-host {h:?} is not a host name {} can key a host by",
            target.describe()
        )),
        _ => None,
    }
}

/// The flag groups a command takes besides its input (None: not its
/// flags).
#[derive(Clone, Copy, Default)]
struct Groups<'a> {
    route: Option<&'a RouteArgs>,
    addr: Option<&'a AddressArgs>,
    keys: Option<&'a KeysArgs>,
    certs: Option<&'a CertArgs>,
}

/// The core's options from the flag groups a command takes; what a
/// command has no flags for keeps its default (no `route`: v1 and the
/// default class; no `certs`: validity not checked).
fn options(read: &ReadArgs, groups: Groups<'_>, strict: bool) -> Options {
    let Groups {
        route,
        addr,
        keys,
        certs,
    } = groups;
    let mut o = Options {
        jobs: read.jobs,
        namespace: read.namespace.clone(),
        strict,
        ..Options::default()
    };
    if let Some(r) = route {
        let target = r.target.unwrap_or_default();
        o.ingress_class = r
            .ingress_class
            .clone()
            .unwrap_or_else(|| target.default_ingress_class().into());
        o.controller_name = r.controller_name.clone();
        o.catch_all_host = r.catch_all_host.clone();
        o.gateways = r.gateway.clone();
        o.target = target;
    }
    if let Some(a) = addr {
        o.cluster_domain = a.cluster_domain.clone();
    }
    if let Some(dir) = keys.and_then(|k| k.keys_dir.as_ref()) {
        o.keys_dir = dir.clone();
    }
    if let Some(c) = certs {
        // The clock is read here, in the shell; the core only sees a number.
        o.now = c.now.or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|d| i64::try_from(d.as_secs()).ok())
        });
        o.expiry_warning_days = c.expiry_warning;
    }
    o
}

/// Reads every input. An unreadable path is an environment error.
fn read_inputs(a: &InputArgs, stdin: &mut dyn Read) -> io::Result<Vec<Source>> {
    let mut paths = a.paths.clone();
    if paths.is_empty() {
        if io::stdin().is_terminal() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no input: give files or folders, or `-` to read stdin",
            ));
        }
        paths.push("-".to_string());
    }
    let mut sources = Vec::new();
    if paths.iter().any(|p| p == "-") {
        let mut buf = Vec::new();
        stdin.read_to_end(&mut buf)?;
        sources.push(Source::new("-", buf));
    }
    let files: Vec<String> = paths.into_iter().filter(|p| p != "-").collect();
    sources.extend(read_sources(&files, &a.read.exclude, a.read.jobs)?);
    Ok(sources)
}

/// The loop settings (render, write, signal) that `synroute watch ARGS`
/// would use, for tests that drive the loop with their own input.
#[cfg(feature = "watch")]
pub fn watch_settings_for(args: &[String]) -> Result<crate::watch::Settings, String> {
    let mut argv = vec!["synroute".to_string(), "watch".to_string()];
    argv.extend(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Watch(a),
        }) => watch_settings(a),
        Ok(_) => Err("not a watch command".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// The `Options` that `synroute render ARGS` would use (for test harnesses
/// and tools that keep their flags in a file).
pub fn options_for(args: &[String]) -> Result<Options, String> {
    let mut argv = vec!["synroute".to_string(), "render".to_string()];
    argv.extend(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Render(a),
        }) => Ok(options(&a.input.read, a.flags.groups(), a.report.strict)),
        Ok(_) => Err("not a render command".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

fn print_diagnostics(rendered: &Rendered, min: Severity, stderr: &mut dyn Write) -> io::Result<()> {
    // Stderr is unbuffered: a write per few kilobytes, not two per line
    // (thousands of warnings reach a terminal or a CI log at once).
    let mut out = io::BufWriter::new(stderr);
    for d in rendered.diagnostics.iter().filter(|d| d.severity >= min) {
        writeln!(out, "{}", d.concise())?;
    }
    out.flush()
}

/// The certificates a render serves: the table's (Synapse), the hosts
/// whose TLS files proxy.json names (Pingress, which leaves some out).
fn certificates(rendered: &Rendered) -> usize {
    let table = &rendered.table;
    if table.target != crate::target::Target::Pingress {
        return table.certs.len();
    }
    table
        .hosts
        .iter()
        .filter(|(host, h)| crate::emit::pingress::served_bundle(table, host, h).is_some())
        .count()
}

fn summary(rendered: &Rendered) -> String {
    let count = |s: Severity| {
        rendered
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    format!(
        "synroute: {} hosts, {} paths, {} internal paths, {} certificates; {} errors, {} warnings, {} infos",
        rendered.table.hosts.len(),
        rendered.paths,
        rendered.table.internal_paths.len(),
        certificates(rendered),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    )
}
