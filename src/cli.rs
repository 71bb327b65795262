//! The shell: command-line parsing, reading inputs, writing outputs,
//! printing diagnostics and choosing the exit code.
//!
//! All file I/O of synroute lives here: the folder walk, stdin, the atomic
//! `upstreams.yaml`, in-place certificate writes and pruning of what
//! synroute wrote before. Raw clap values are turned into `Options` before
//! the core sees them.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::diag::{Code, Severity};
use crate::diff::Side;
use crate::emit::certs::{CertFile, OWNED_LIST};
use crate::report::{self, Format, Ignore, Policy, Report};
use crate::route::{Probe, Request, Table, lookup_request};
use crate::target::Target;
use crate::{Options, Rendered, Source, render};

#[derive(Parser, Debug)]
#[command(
    name = "synroute",
    version,
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
}

#[cfg(feature = "watch")]
#[derive(Args, Debug)]
struct WatchArgs {
    #[command(flatten)]
    input: InputArgs,
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
    /// a render that changed a file.
    #[arg(long, default_value = "synapse", value_name = "NAME")]
    reload_process_name: String,
    /// SIGHUP the PID in this file instead.
    #[arg(long, value_name = "FILE", conflicts_with = "no_reload")]
    reload_pid_file: Option<PathBuf>,
    /// Send no signal.
    #[arg(long)]
    no_reload: bool,
    /// Create this file after the first successful write (readiness probe).
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
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
    select: SelectArgs,
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
    select: SelectArgs,
}

/// How inputs are read and which objects are ours.
#[derive(Args, Debug)]
struct SelectArgs {
    /// Leave paths matching GLOB out of folder walks (repeatable). A GLOB
    /// without `/` matches any file or folder name; one with `/` matches the
    /// path below the folder given (`**` spans folders).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// The Ingress class synroute renders.
    #[arg(long, default_value = "synapse")]
    ingress_class: String,
    /// The controller name of our IngressClasses and GatewayClasses.
    #[arg(long, default_value = "gen0sec.com/synapse")]
    controller_name: String,
    /// Cluster DNS domain of Service addresses.
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
    /// Keep only objects of this namespace (also the namespace of objects
    /// that name none).
    #[arg(long, short = 'n', value_name = "NS")]
    namespace: Option<String>,
    /// Render rules that match every host under this host name.
    #[arg(long, value_name = "NAME")]
    catch_all_host: Option<String>,
    /// Render only routes attached to this Gateway (and its ListenerSets);
    /// repeatable. Default: every Gateway of our GatewayClasses.
    #[arg(long, value_name = "NS/NAME", value_parser = parse_gateway)]
    gateway: Vec<(String, String)>,
    /// Check certificate validity at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    now: Option<i64>,
    /// Warn about certificates expiring within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 21)]
    expiry_warning: u32,
    /// Threads that parse documents (default: every core). The output is
    /// the same whatever it is.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    jobs: usize,
    /// The routing-file format of the Synapse that reads it: v1 (Synapse
    /// 0.8, the default), 0.2 (the public 0.2 release) or v2 (Synapse
    /// after 0.8.7). `check` of a routing file defaults to its own format.
    #[arg(long, value_name = "FORMAT", value_parser = parse_target)]
    target: Option<Target>,
}

fn parse_target(s: &str) -> Result<Target, String> {
    Target::parse(s).ok_or_else(|| format!("{s:?} is not a target: v1, 0.2 or v2"))
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
    /// Write upstreams.yaml here (atomically, only when it changes)
    /// instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write <stem>.crt / <stem>.key files here, in place, only on change;
    /// prune files synroute wrote before and no longer needs.
    #[arg(long, value_name = "DIR")]
    certs_out: Option<PathBuf>,
    /// Write nothing and exit 1 when any warning or error is found.
    #[arg(long)]
    strict: bool,
    /// Lowest severity printed on stderr.
    #[arg(long, default_value = "warning", value_parser = ["info", "warning", "error"])]
    min_severity: String,
    /// Print no summary line.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Write nothing; exit 1 when -o FILE or --certs-out DIR is not what
    /// this render would write ("is the committed output up to date?").
    #[arg(long)]
    check: bool,
    /// Read the objects from the Kubernetes API (in-cluster config or
    /// KUBECONFIG) instead of files: list every kind once, render, write.
    #[cfg(feature = "watch")]
    #[arg(long)]
    from_cluster: bool,
    /// With --from-cluster: list once and exit (what `render` always does;
    /// spelled out for initContainers).
    #[cfg(feature = "watch")]
    #[arg(long, requires = "from_cluster")]
    once: bool,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
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
    let select = match &cli.command {
        Command::Render(a) => Some(&a.input.select),
        Command::Explain(a) => Some(&a.input.select),
        Command::Check(a) => Some(&a.input.select),
        Command::Diff(a) => Some(&a.select),
        #[cfg(feature = "watch")]
        Command::Watch(a) => Some(&a.input.select),
    };
    if let Some(why) = select.and_then(target_usage) {
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
fn target_usage(a: &SelectArgs) -> Option<String> {
    let target = a.target.unwrap_or_default();
    let host = a.catch_all_host.as_deref()?;
    match (target, host) {
        // v1's default host: it serves every name no other host has.
        (Target::V1, "*") => None,
        (Target::V02 | Target::V2, "*") => Some(format!(
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

fn options(a: &SelectArgs, strict: bool) -> Options {
    // The clock is read here, in the shell; the core only sees a number.
    let now = a.now.or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok())
    });
    Options {
        now,
        expiry_warning_days: a.expiry_warning,
        jobs: a.jobs,
        gateways: a.gateway.clone(),
        strict,
        ingress_class: a.ingress_class.clone(),
        controller_name: a.controller_name.clone(),
        cluster_domain: a.cluster_domain.clone(),
        namespace: a.namespace.clone(),
        catch_all_host: a.catch_all_host.clone(),
        target: a.target.unwrap_or_default(),
    }
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
    sources.extend(read_sources(&files, &a.select.exclude, a.select.jobs)?);
    Ok(sources)
}

/// Reads files and folders (recursively) into sources, each file once.
pub fn collect_sources(paths: &[String], exclude: &[String]) -> io::Result<Vec<Source>> {
    read_sources(paths, exclude, 0)
}

/// `collect_sources` on `jobs` threads (0: every core): a tree of small
/// files is mostly system calls, which run on every core like the parse.
/// Files are listed first, read in parallel, then taken in order: the
/// first of two paths to one file is kept, and the first error in the
/// order of the paths is the one returned, as when read one by one.
pub fn read_sources(paths: &[String], exclude: &[String], jobs: usize) -> io::Result<Vec<Source>> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut listing = Ok(());
    for p in paths {
        let path = Path::new(p);
        let found = fs::metadata(path)
            .map_err(|e| with_path(e, path))
            .and_then(|meta| {
                if meta.is_dir() {
                    walk(path, exclude)
                } else {
                    Ok(vec![path.to_path_buf()])
                }
            });
        match found {
            Ok(found) => files.extend(found),
            Err(e) => {
                listing = Err(e);
                break;
            }
        }
    }
    // One file alone (a `helm template` output, say) is read on every job.
    let jobs_per_file = if files.len() == 1 {
        crate::load::resolve_jobs(jobs)
    } else {
        1
    };
    let read =
        crate::load::parallel_map(&files, jobs, |_| 1, |path| read_file(path, jobs_per_file));
    let mut sources = Vec::with_capacity(files.len());
    let mut seen: BTreeSet<FileId> = BTreeSet::new();
    for (path, r) in files.iter().zip(read) {
        let (id, content) = r.map_err(|e| with_path(e, path))?;
        if seen.insert(id) {
            sources.push(Source::new(path.display().to_string(), content));
        }
    }
    listing.map(|()| sources)
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
        }) => Ok(watch_settings(a)),
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
        }) => Ok(options(&a.input.select, a.strict)),
        Ok(_) => Err("not a render command".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
}

/// What makes two paths one file: its device and inode where there are
/// some (found with the open file, no further system call), else its
/// canonical path.
#[cfg(unix)]
type FileId = (u64, u64);
#[cfg(not(unix))]
type FileId = PathBuf;

#[cfg(unix)]
fn file_id(_path: &Path, meta: &fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_id(path: &Path, _meta: &fs::Metadata) -> FileId {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The bytes of `path` and what identifies the file (two paths to one
/// file, named twice or through a symlink or a hard link, give one id).
/// Canonicalising every path cost a system call per path component: with
/// a file per app that was most of the time spent reading a tree.
fn read_file(path: &Path, jobs: usize) -> io::Result<(FileId, Vec<u8>)> {
    let file = fs::File::open(path)?;
    let meta = file.metadata()?;
    let len = usize::try_from(meta.len()).unwrap_or(0);
    #[cfg(unix)]
    if jobs > 1
        && len >= PARALLEL_READ
        && let Some(content) = read_in_parts(&file, len, jobs)
    {
        return Ok((file_id(path, &meta), content));
    }
    let mut content = Vec::with_capacity(len);
    // Through `Take`: `File`'s own read_to_end asks the size again (two
    // more system calls) though the room is made already.
    file.take(u64::MAX).read_to_end(&mut content)?;
    Ok((file_id(path, &meta), content))
}

/// Files from this size on are read in parts on every job.
#[cfg(unix)]
const PARALLEL_READ: usize = 8 << 20;

/// The `len` bytes of `file` read in `jobs` parts at once (copying a large
/// file out of the page cache into fresh memory is bound by the faults on
/// that memory, which every core can take). None when the file is not
/// `len` bytes long any more: it is then read from its start as any other.
#[cfg(unix)]
fn read_in_parts(file: &fs::File, len: usize, jobs: usize) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt as _;
    let mut content = vec![0u8; len];
    let part = len.div_ceil(jobs);
    let whole = std::thread::scope(|s| {
        let parts: Vec<_> = content
            .chunks_mut(part)
            .enumerate()
            .map(|(i, chunk)| s.spawn(move || file.read_exact_at(chunk, (i * part) as u64)))
            .collect();
        parts.into_iter().all(|p| matches!(p.join(), Ok(Ok(()))))
    });
    // Nothing may follow: the file grew since its length was asked.
    let mut probe = [0u8; 1];
    (whole && matches!(file.read_at(&mut probe, len as u64), Ok(0))).then_some(content)
}

/// The manifest files below `root`: `*.yaml`, `*.yml`, `*.json`; hidden
/// folders, excluded paths and symlink loops skipped; sorted.
fn walk(root: &Path, excludes: &[String]) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let it = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_dir() && name.starts_with('.') {
                return false;
            }
            if excludes.is_empty() {
                return true;
            }
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            let rel = rel.to_string_lossy().replace('\\', "/");
            !excludes.iter().any(|g| excluded(g, &rel, &name))
        });
    for entry in it {
        let entry = match entry {
            Ok(e) => e,
            // A symlink loop or a vanished file inside a walk is skipped; an
            // unreadable folder is an error.
            Err(e) if e.loop_ancestor().is_some() => continue,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let io = e
                    .into_io_error()
                    .unwrap_or_else(|| io::Error::other("walk failed"));
                if io.kind() == io::ErrorKind::NotFound {
                    continue;
                }
                return Err(with_path(io, &path));
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json") {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

fn excluded(glob: &str, rel: &str, name: &str) -> bool {
    let glob = glob.trim_end_matches('/');
    if glob.contains('/') {
        glob_match(glob.trim_start_matches("./").as_bytes(), rel.as_bytes())
    } else {
        glob_match(glob.as_bytes(), name.as_bytes())
    }
}

/// `*` (within a folder), `**` (across folders) and `?`.
pub fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some(b'*'), _) if p.get(1) == Some(&b'*') => {
            let rest = p.get(2..).unwrap_or_default();
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=s.len()).any(|i| glob_match(rest, &s[i..]))
        }
        (Some(b'*'), _) => {
            let rest = &p[1..];
            let mut i = 0;
            loop {
                if glob_match(rest, &s[i..]) {
                    return true;
                }
                if i == s.len() || s[i] == b'/' {
                    return false;
                }
                i += 1;
            }
        }
        (Some(b'?'), Some(c)) => *c != b'/' && glob_match(&p[1..], &s[1..]),
        (Some(a), Some(b)) => a == b && glob_match(&p[1..], &s[1..]),
        (Some(_), None) => false,
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
        rendered.table.certs.len(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    )
}

fn cmd_render(
    a: RenderArgs,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    let sources = render_inputs(&a, stdin, stderr)?;
    let opts = options(&a.input.select, a.strict);
    // upstreams.yaml goes straight from the table to its file or stdout.
    let rendered = crate::render_owned_unwritten(sources, &opts);
    let upstreams = |w: &mut dyn Write| rendered.write_upstreams(w, opts.jobs);
    let min = Severity::parse(&a.min_severity).unwrap_or(Severity::Warning);
    print_diagnostics(&rendered, min, stderr)?;
    if rendered.malformed {
        writeln!(
            stderr,
            "synroute: the input is malformed; nothing was written"
        )?;
        return Ok(EXIT_ERROR);
    }
    if a.check {
        return check_outputs(&a, &rendered, &upstreams, stderr);
    }
    if a.strict && rendered.worst() >= Some(Severity::Warning) {
        writeln!(
            stderr,
            "synroute: --strict: warnings or errors found; nothing was written"
        )?;
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
    if !a.quiet {
        writeln!(stderr, "{}", summary(&rendered))?;
    }
    // The process ends after the command: freeing a large render's objects
    // one by one takes about a tenth of its run and gives nothing back.
    std::mem::forget(rendered);
    Ok(EXIT_OK)
}

/// The files (or stdin) named, or with `--from-cluster` the objects listed
/// from the API server.
fn render_inputs(
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
        return crate::cluster::snapshot(a.input.select.namespace.clone(), stderr);
    }
    let _ = stderr;
    read_inputs(&a.input, stdin)
}

/// `watch PATH...`: the loop of `crate::watch`, writing through
/// `write_outputs`, logging JSON lines on stderr.
#[cfg(feature = "watch")]
fn cmd_watch(a: WatchArgs, stderr: &mut dyn Write) -> io::Result<u8> {
    use crate::watch;
    if a.from_cluster && !a.input.paths.is_empty() {
        writeln!(
            stderr,
            "synroute: error: --from-cluster watches the API server; give no PATH"
        )?;
        return Ok(EXIT_ERROR);
    }
    if !a.from_cluster && (a.input.paths.is_empty() || a.input.paths.iter().any(|p| p == "-")) {
        writeln!(
            stderr,
            "synroute: error: watch needs files or folders to watch (stdin cannot change), or --from-cluster"
        )?;
        return Ok(EXIT_ERROR);
    }
    let (paths, exclude) = (a.input.paths.clone(), a.input.select.exclude.clone());
    let (from_cluster, crd_recheck) = (a.from_cluster, a.crd_recheck);
    let namespace = a.input.select.namespace.clone();
    let settings = watch_settings(a);
    if from_cluster {
        crate::cluster::run(settings, namespace, crd_recheck, stderr)?;
    } else {
        watch::run_files(settings, paths, exclude, stderr)?;
    }
    Ok(EXIT_OK)
}

/// What the loop does on each render: render with the flags, log the
/// diagnostics, write through `write_outputs`, then signal as asked.
#[cfg(feature = "watch")]
fn watch_settings(a: WatchArgs) -> crate::watch::Settings {
    use crate::watch::{self, Reload, Settings};
    let reload = match (&a.reload_pid_file, a.no_reload) {
        (_, true) => Reload::Off,
        (Some(f), false) => Reload::PidFile(f.clone()),
        (None, false) => Reload::Name(a.reload_process_name.clone()),
    };
    let select = a.input.select;
    let (output, certs_out) = (a.output, a.certs_out);
    let mut last_diagnostics: Vec<serde_json::Value> = Vec::new();
    Settings {
        debounce: a.debounce,
        reload,
        ready_file: a.ready_file,
        max_renders: a.max_renders,
        render: Box::new(move |sources, log_out| {
            // Options are built per render: the clock moves on.
            let rendered = render(sources, &options(&select, false));
            // Diagnostics are logged when they differ from the last
            // render's, not again on every change elsewhere.
            let diagnostics: Vec<serde_json::Value> = rendered
                .diagnostics
                .iter()
                .map(|d| {
                    let at = d
                        .location
                        .as_ref()
                        .map(|l| format!("{}:{}", l.file, l.line))
                        .unwrap_or_default();
                    serde_json::json!({
                        "code": d.code.id(),
                        "severity": d.severity.as_str(),
                        "at": at,
                        "message": d.message,
                    })
                })
                .collect();
            if diagnostics != last_diagnostics {
                for d in &diagnostics {
                    watch::log(log_out, "diagnostic", d.clone());
                }
                last_diagnostics = diagnostics;
            }
            if rendered.malformed {
                watch::log(
                    log_out,
                    "error",
                    serde_json::json!({"message": "the input is malformed; the last good files stay"}),
                );
                return Ok(None);
            }
            let changed = write_outputs(
                Some(&output),
                certs_out.as_deref(),
                &rendered,
                &|w: &mut dyn Write| w.write_all(&rendered.upstreams),
            )?;
            watch::log(
                log_out,
                if changed { "changed" } else { "unchanged" },
                serde_json::json!({
                    "hosts": rendered.table.hosts.len(),
                    "certificates": rendered.table.certs.len(),
                }),
            );
            Ok(Some(changed))
        }),
    }
}

/// `render --check`: compares what is on disk with what would be written.
fn check_outputs(
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
        if !a.quiet {
            writeln!(stderr, "synroute: up to date")?;
        }
        Ok(EXIT_OK)
    } else {
        Ok(EXIT_FOUND)
    }
}

/// Writes a render: cert files first (in place), then `upstreams.yaml`
/// (atomically; not when `output` is None, the caller prints it), then
/// prunes the cert files no longer needed — the order in which Synapse
/// never sees a host whose certificate is missing. True when any file
/// changed.
pub fn write_outputs(
    output: Option<&Path>,
    certs_out: Option<&Path>,
    r: &Rendered,
    upstreams: Emit<'_>,
) -> io::Result<bool> {
    let mut changed = false;
    let previously_owned = match certs_out {
        Some(dir) => {
            let (old, c) = write_certs(dir, &r.certs)?;
            changed |= c;
            Some(old)
        }
        None => None,
    };
    if let Some(path) = output {
        changed |= write_atomic_if_changed(path, upstreams)?;
    }
    if let (Some(dir), Some(old)) = (certs_out, previously_owned) {
        changed |= prune_certs(dir, &old, &r.certs)?;
    }
    Ok(changed)
}

/// Something that writes a file's bytes to a writer (`upstreams.yaml` from
/// the table, or bytes already built).
pub type Emit<'a> = &'a dyn Fn(&mut dyn Write) -> io::Result<()>;

/// Writes what `emit` writes to `path` through a temporary file in the
/// same folder and a rename, unless the file already holds exactly those
/// bytes.
pub fn write_atomic_if_changed(path: &Path, emit: Emit<'_>) -> io::Result<bool> {
    // A device, a pipe or a socket (`-o /dev/null`, `-o /dev/stdout`) is
    // written to as it is: a rename would put a regular file in its place
    // (as root, /dev/null itself).
    if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut w =
            io::BufWriter::new(fs::OpenOptions::new().write(true).open(path).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
            })?);
        emit(&mut w)?;
        w.flush()?;
        return Ok(true);
    }
    if holds(path, emit) {
        return Ok(false);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.synroute-{}.tmp", std::process::id()));
    let result = (|| {
        let mut w = io::BufWriter::with_capacity(1 << 16, fs::File::create(&tmp)?);
        emit(&mut w)?;
        w.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))?;
    Ok(true)
}

/// True when the file at `path` holds exactly what `emit` writes: compared
/// as it is written, so that a large output is never held, and given up
/// at the first difference.
fn holds(path: &Path, emit: Emit<'_>) -> bool {
    /// Compares what is written with what a file holds; fails at the
    /// first difference, which ends the writing early.
    struct Same {
        file: io::BufReader<fs::File>,
        block: Vec<u8>,
    }
    impl Write for Same {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.block.resize(buf.len(), 0);
            self.file.read_exact(&mut self.block)?;
            if self.block != buf {
                return Err(io::Error::other("differs"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let Ok(file) = fs::File::open(path) else {
        return false;
    };
    let mut same = Same {
        file: io::BufReader::with_capacity(1 << 16, file),
        block: Vec::new(),
    };
    // All written alike, and nothing left in the file.
    emit(&mut same).is_ok() && same.file.read(&mut [0u8; 1]).is_ok_and(|n| n == 0)
}

/// A name synroute may create or remove inside the certs folder.
fn safe_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']) && name != OWNED_LIST
}

fn read_owned(dir: &Path) -> BTreeSet<String> {
    fs::read_to_string(dir.join(OWNED_LIST))
        .map(|s| {
            s.lines()
                .map(str::trim)
                .filter(|l| safe_name(l))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the cert files in place, only where the content changed, and
/// records them as owned. Returns what was owned before.
/// Returns the files owned before and whether any file changed.
fn write_certs(
    dir: &Path,
    files: &BTreeMap<String, CertFile>,
) -> io::Result<(BTreeSet<String>, bool)> {
    fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))?;
    let old = read_owned(dir);
    let mut changed = false;
    for (name, file) in files {
        if !safe_name(name) {
            continue;
        }
        changed |= write_in_place(&dir.join(name), &file.bytes, file.private)?;
    }
    let mut owned: BTreeSet<String> = files.keys().filter(|n| safe_name(n)).cloned().collect();
    // Files that are owned until pruned stay listed until then.
    owned.extend(old.iter().cloned());
    write_owned(dir, &owned)?;
    Ok((old, changed))
}

fn write_owned(dir: &Path, owned: &BTreeSet<String>) -> io::Result<()> {
    let mut text =
        String::from("# Files written by synroute; it removes them when no longer needed.\n");
    for n in owned {
        text.push_str(n);
        text.push('\n');
    }
    write_atomic_if_changed(&dir.join(OWNED_LIST), &|w: &mut dyn Write| {
        w.write_all(text.as_bytes())
    })
    .map(|_| ())
}

/// Writes a file in place (Synapse's cert watcher ignores renames). A
/// symlink at that name is replaced by a regular file, so nothing is ever
/// written outside the folder.
fn write_in_place(path: &Path, bytes: &[u8], private: bool) -> io::Result<bool> {
    let err =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()));
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::remove_file(path).map_err(err)?,
        Ok(m) if m.is_dir() => {
            return Err(err(io::Error::other("a folder has that name")));
        }
        Ok(_) => {
            if fs::read(path).is_ok_and(|old| old == bytes) {
                set_mode(path, private).map_err(err)?;
                return Ok(false);
            }
        }
        Err(_) => {}
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    set_mode(path, private).map_err(err)?;
    Ok(true)
}

fn set_mode(path: &Path, private: bool) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let want = if private { 0o600 } else { 0o644 };
        let cur = fs::metadata(path)?.permissions().mode() & 0o777;
        if cur != want {
            fs::set_permissions(path, fs::Permissions::from_mode(want))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, private);
    Ok(())
}

/// Removes files synroute wrote before and no longer needs; nothing else.
fn prune_certs(
    dir: &Path,
    old: &BTreeSet<String>,
    files: &BTreeMap<String, CertFile>,
) -> io::Result<bool> {
    let mut removed = false;
    for name in old {
        if files.contains_key(name) || !safe_name(name) {
            continue;
        }
        let path = dir.join(name);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() || m.file_type().is_symlink() => {
                fs::remove_file(&path).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot remove {}: {e}", path.display()))
                })?;
                removed = true;
            }
            _ => {}
        }
    }
    let owned: BTreeSet<String> = files.keys().filter(|n| safe_name(n)).cloned().collect();
    write_owned(dir, &owned)?;
    Ok(removed)
}

fn cmd_check(
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
    let opts = options(&a.input.select, a.strict);
    let rendered = match routing_file(&sources) {
        Some((name, text, format)) => {
            let target = a.input.select.target.unwrap_or(format);
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
fn routing_file(sources: &[Source]) -> Option<(&str, &str, Target)> {
    let [only] = sources else { return None };
    let text = std::str::from_utf8(&only.content).ok()?;
    let format = crate::emit::schema::sniff(text)?;
    Some((&only.name, text, format))
}

/// `check` of a routing file: what would make `target`'s Synapse refuse
/// the file (or ignore a key of it), as diagnostics at its lines.
fn check_routing_file(name: &str, text: &str, target: Target, opts: &Options) -> Rendered {
    let mut rendered = render(&[], opts);
    rendered.diagnostics = crate::emit::schema::validate(target, text)
        .into_iter()
        .map(|f| {
            let (code, what) = if f.refuses {
                (Code::RoutingFileRefused, "refuses the whole file")
            } else {
                (Code::RoutingKeyIgnored, "ignores this")
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

/// One side of `diff`: a rendered upstreams.yaml (recognised by its
/// content), or manifests to render. None: malformed (already reported).
fn diff_side(
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
        collect_sources(&[path.to_string()], &a.select.exclude)?
    };
    if let Some((name, text, _)) = routing_file(&sources) {
        // A file is read as the format given for its side, else its own.
        let format = old_target.or(a.select.target);
        return match Side::from_routing_file(text, format) {
            Ok(side) => Ok(Some(side)),
            Err(e) => {
                writeln!(stderr, "synroute: error: {name}: {e}")?;
                Ok(None)
            }
        };
    }
    let mut opts = options(&a.select, false);
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

fn cmd_diff(
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

fn cmd_explain(
    a: ExplainArgs,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    let Some(req) = Request::parse(&a.url) else {
        writeln!(stderr, "synroute: error: {:?} is not an http(s) URL", a.url)?;
        return Ok(EXIT_ERROR);
    };
    let sources = read_inputs(&a.input, stdin)?;
    let rendered = render(&sources, &options(&a.input.select, false));
    if rendered.malformed {
        print_diagnostics(&rendered, Severity::Error, stderr)?;
        writeln!(stderr, "synroute: the input is malformed")?;
        return Ok(EXIT_ERROR);
    }
    let probe = Probe {
        path: req.path.clone(),
        method: a.method.to_ascii_uppercase(),
    };
    let text = explain_request(&rendered, &req, &probe, &sources);
    stdout.write_all(text.as_bytes())?;
    Ok(
        if lookup_request(&rendered.table, &req.host, &probe).is_some() {
            EXIT_OK
        } else {
            EXIT_FOUND
        },
    )
}

/// True when `message` names `host` as a whole name, not inside another.
fn mentions_host(message: &str, host: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    message.match_indices(host).any(|(i, _)| {
        let before_ok = message[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !is_name_char(c) && c != '.');
        let mut after = message[i + host.len()..].chars();
        let after_ok = match after.next() {
            None => true,
            Some('.') => !after.next().is_some_and(is_name_char),
            Some(c) => !is_name_char(c),
        };
        before_ok && after_ok
    })
}

/// The human-readable answer of `explain` for a GET.
pub fn explain_text(rendered: &Rendered, req: &Request, sources: &[Source]) -> String {
    explain_request(rendered, req, &Probe::get(&req.path), sources)
}

/// The human-readable answer of `explain`: the entry the target's Synapse
/// picks for the request, how it got there, and where it came from.
pub fn explain_request(
    rendered: &Rendered,
    req: &Request,
    probe: &Probe,
    sources: &[Source],
) -> String {
    let scheme = if req.https { "https" } else { "http" };
    let mut out = format!("{scheme}://{}{}\n", req.host, req.path);
    let target = rendered.table.target;
    if target.v2() || probe.method != "GET" {
        out.push_str(&format!(
            "  request  {} (as {} reads its file)\n",
            probe.method,
            target.describe()
        ));
    }
    let Some(m) = lookup_request(&rendered.table, &req.host, probe) else {
        let served = if target.v2() {
            crate::route::v2_host(&rendered.table, &req.host).map(|(h, _)| h.to_string())
        } else {
            rendered.table.host(&req.host).map(|_| req.host.clone())
        };
        if let Some(h) = served {
            out.push_str(&format!(
                "  no entry: host {h} has no route that {} {} matches; Synapse answers 404\n",
                probe.method, req.path
            ));
        } else if rendered.table.host(&req.host).is_some() {
            out.push_str(&format!(
                "  no entry: host {} has no path that {} falls under; Synapse answers 404\n",
                req.host, req.path
            ));
        } else {
            out.push_str(&format!(
                "  no entry: host {} is not in upstreams.yaml; Synapse answers 404\n",
                req.host
            ));
        }
        // Whatever synroute said about this host explains its absence,
        // infos included (an Ingress of another class, say).
        let about: Vec<_> = rendered
            .diagnostics
            .iter()
            .filter(|d| mentions_host(&d.message, &req.host))
            .collect();
        for d in about {
            out.push_str(&format!("  see: {}\n", d.concise().replace('\n', "\n  ")));
        }
        return out;
    };
    match &m.table {
        Table::Internal => out.push_str("  table    internal_paths (checked before any host)\n"),
        Table::Host(h) => {
            let cert = rendered
                .table
                .host(h)
                .and_then(|e| e.certificate.as_deref());
            match (req.https, cert) {
                (true, Some(c)) => out.push_str(&format!("  host     {h} (certificate {c})\n")),
                (true, None) => out.push_str(&format!(
                    "  host     {h} (no certificate of its own: Synapse's default)\n"
                )),
                (false, _) => out.push_str(&format!("  host     {h}\n")),
            }
            out.push_str(&format!("  tried    {}\n", m.tried.join(" → ")));
        }
    }
    out.push_str(&format!("  entry    {}\n", m.key));
    if let Some(e) = &m.expr {
        out.push_str(&format!("  matches  {e}\n"));
    }
    if let Some(to) = &m.entry.settings.redirect {
        out.push_str(&format!("  redirect {} {}\n", to.status, to.location));
    }
    for (i, s) in m.entry.servers.iter().enumerate() {
        let label = if i == 0 { "  servers  " } else { "           " };
        match s.weight {
            Some(w) => out.push_str(&format!("{label}{} (weight {w})\n", s.address)),
            None if m.entry.weighted() => {
                out.push_str(&format!("{label}{} (weight 1)\n", s.address))
            }
            None => out.push_str(&format!("{label}{}\n", s.address)),
        }
    }
    let st = &m.entry.settings;
    let mut flags = vec![format!("ssl_enabled: {}", st.ssl_enabled)];
    let mut opt = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            flags.push(format!("{name}: {v}"));
        }
    };
    opt("http2_enabled", st.http2_enabled.map(|b| b.to_string()));
    opt(
        "https_proxy_enabled",
        st.https_proxy_enabled.map(|b| b.to_string()),
    );
    opt(
        "connection_timeout",
        st.connect_timeout.map(|b| b.to_string()),
    );
    opt("read_timeout", st.read_timeout.map(|b| b.to_string()));
    opt("write_timeout", st.write_timeout.map(|b| b.to_string()));
    opt("idle_timeout", st.idle_timeout.map(|b| b.to_string()));
    opt("healthcheck", st.healthcheck.map(|b| b.to_string()));
    opt(
        "disable_access_log",
        st.disable_access_log.map(|b| b.to_string()),
    );
    out.push_str(&format!("  flags    {}\n", flags.join(", ")));
    if !st.request_headers.is_empty() {
        out.push_str(&format!(
            "  request headers   {}\n",
            st.request_headers.join(", ")
        ));
    }
    if !st.response_headers.is_empty() {
        out.push_str(&format!(
            "  response headers  {}\n",
            st.response_headers.join(", ")
        ));
    }
    let p = &m.entry.provenance;
    let loc = crate::locate(&p.origin, &p.field, sources);
    out.push_str(&format!(
        "  from     {} at {}:{}",
        p.origin.describe(),
        loc.file,
        loc.line
    ));
    if !p.field.is_root() {
        out.push_str(&format!(" ({})", p.field));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large file read in parts on several jobs is the file's bytes; a
    /// file whose length is not the one asked for (it grew or shrank
    /// since) is left to the plain read.
    #[cfg(unix)]
    #[test]
    fn large_file_read_in_parts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        // Not a multiple of any job count below, every byte telling its place.
        let len = PARALLEL_READ + 4099;
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        fs::write(&path, &bytes).unwrap();
        for jobs in [1, 2, 3, 7] {
            let (_, content) = read_file(&path, jobs).unwrap();
            assert!(content == bytes, "jobs {jobs}");
        }
        let name = path.display().to_string();
        let sources = read_sources(&[name], &[], 3).unwrap();
        assert!(sources.first().is_some_and(|s| s.content == bytes));
        let file = fs::File::open(&path).unwrap();
        assert!(read_in_parts(&file, len, 2).is_some_and(|c| c == bytes));
        assert!(read_in_parts(&file, len - 1, 2).is_none(), "grew");
        assert!(read_in_parts(&file, len + 1, 2).is_none(), "shrank");
    }

    #[test]
    fn host_mentions_are_whole_names() {
        assert!(mentions_host("hosts a.example.com, b", "a.example.com"));
        assert!(mentions_host("served a.example.com/api.", "a.example.com"));
        assert!(mentions_host("(hosts a.example.com)", "a.example.com"));
        assert!(!mentions_host("hosts aa.example.com", "a.example.com"));
        assert!(!mentions_host("hosts a.example.com.au", "a.example.com"));
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"archive", b"archive"));
        assert!(glob_match(b"*.json", b"a.json"));
        assert!(!glob_match(b"*.json", b"d/a.json"));
        assert!(glob_match(b"**/templates", b"charts/x/templates"));
        assert!(glob_match(b"archive/**", b"archive/a/b.yaml"));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(!glob_match(b"a?c", b"a/c"));
        assert!(excluded("archive", "k8s/archive", "archive"));
        assert!(excluded("k8s/archive/", "k8s/archive", "archive"));
        assert!(!excluded("k8s/archive", "x/archive", "archive"));
    }
}
