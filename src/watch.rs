//! `synroute watch`: the sidecar loop around `render()` (feature `watch`).
//!
//! Three parts, so that the logic can be tested without a clock, a file
//! system or a cluster:
//! - `Machine`, a small state machine (waiting for the initial lists →
//!   idle ⇄ pending) that says when to render; time is passed in.
//! - `crate::reload`: how the proxy is told (SIGHUP for Synapse 0.8 and
//!   later, the config API or a trigger file for 0.2, nothing for
//!   Pingress), and when (0.2's reloads are spaced and repeated).
//! - `run_files`: the loop for `watch PATH...` — file-system notifications
//!   feed the machine; each render goes through the same writer as
//!   `render -o`, and only a render that changed a file reloads.
//!   A render that fails (malformed input, an unwritable folder) keeps the
//!   last good files and is logged.
//!
//! Logs are JSON lines on stderr: `{"ts":…,"event":…,…}`.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What happened, as the machine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The initial list of one source (a kind, or the files) is complete.
    Listed(String),
    /// One more source to wait for (a kind whose CRD appeared).
    Expect(String),
    /// Something changed.
    Changed,
    /// Time passed (the loop woke up).
    Tick,
}

/// When to render: never before every source has been listed once, then
/// `debounce` after the last of a burst of changes (a burst that never
/// ends is rendered every ten debounces), so that the final state is always
/// rendered and a burst is rendered once.
#[derive(Debug)]
pub struct Machine {
    waiting_for: BTreeSet<String>,
    debounce: Duration,
    /// First and last change since the last render.
    pending: Option<(Instant, Instant)>,
    rendered_once: bool,
}

impl Machine {
    pub fn new(sources: impl IntoIterator<Item = String>, debounce: Duration) -> Machine {
        Machine {
            waiting_for: sources.into_iter().collect(),
            debounce,
            pending: None,
            rendered_once: false,
        }
    }

    /// True while some initial list is still missing.
    pub fn waiting(&self) -> bool {
        !self.waiting_for.is_empty()
    }

    /// Feeds one event; true when a render is due now.
    pub fn on(&mut self, event: Event, now: Instant) -> bool {
        match event {
            Event::Listed(source) => {
                self.waiting_for.remove(&source);
            }
            Event::Expect(source) => {
                self.waiting_for.insert(source);
            }
            Event::Changed => {
                let first = self.pending.map_or(now, |(f, _)| f);
                self.pending = Some((first, now));
            }
            Event::Tick => {}
        }
        if self.waiting() {
            return false;
        }
        if !self.rendered_once {
            self.rendered_once = true;
            self.pending = None;
            return true;
        }
        match self.deadline() {
            Some(due) if due <= now => {
                self.pending = None;
                true
            }
            _ => false,
        }
    }

    /// When the pending render is due (None: nothing pending).
    pub fn deadline(&self) -> Option<Instant> {
        if self.waiting() {
            return None;
        }
        self.pending
            .map(|(first, last)| (last + self.debounce).min(first + self.debounce * 10))
    }
}

pub use crate::reload::{Reload, pids_named};

/// One JSON line on `out`: `{"ts": now, "event": event, …fields}`.
pub fn log(out: &mut dyn Write, event: &str, fields: serde_json::Value) {
    let mut line = serde_json::Map::new();
    line.insert(
        "ts".into(),
        k8s_openapi::jiff::Timestamp::now().to_string().into(),
    );
    line.insert("event".into(), event.into());
    if let serde_json::Value::Object(f) = fields {
        line.extend(f);
    }
    let _ = writeln!(out, "{}", serde_json::Value::Object(line));
}

/// What one render of the loop did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Files changed on disk (and the proxy is to be told).
    Changed,
    Unchanged,
    /// The render failed; the last good files stay.
    Failed,
}

/// Renders `sources` and writes the files, logging on the writer:
/// Ok(Some(true)) when a file changed, Ok(None) when the render failed.
pub type RenderFn = Box<dyn FnMut(&[crate::Source], &mut dyn Write) -> io::Result<Option<bool>>>;

/// What the loop does with a render, whatever its input.
pub struct Settings {
    pub debounce: Duration,
    pub reload: Reload,
    /// How long after a 0.2 reload it is sent again (past a health-check
    /// round of Synapse's, which could undo it).
    pub reload_repeat: Duration,
    pub ready_file: Option<PathBuf>,
    pub render: RenderFn,
    /// Stop after this many renders (tests); None: run until killed.
    pub max_renders: Option<usize>,
}

/// Everything but the render closure, which has no text of its own.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("debounce", &self.debounce)
            .field("reload", &self.reload)
            .field("reload_repeat", &self.reload_repeat)
            .field("ready_file", &self.ready_file)
            .field("max_renders", &self.max_renders)
            .finish_non_exhaustive()
    }
}

/// Where the loop's manifests come from: the messages its watcher sends
/// become machine events, and `sources` reads the current state.
pub trait Input {
    type Msg;
    /// The sources the machine waits for before the first render.
    fn initial(&self) -> Vec<String>;
    fn feed(&mut self, msg: Self::Msg, log_out: &mut dyn Write) -> Vec<Event>;
    fn sources(&mut self) -> io::Result<Vec<crate::Source>>;
}

/// One render of the loop: read, render, write, log.
pub fn render_once(
    s: &mut Settings,
    input: &mut dyn FnMut() -> io::Result<Vec<crate::Source>>,
    ready: &mut bool,
    log_out: &mut dyn Write,
) -> Outcome {
    let failed = |log_out: &mut dyn Write, e: io::Error| {
        log(
            log_out,
            "error",
            serde_json::json!({"message": e.to_string()}),
        );
        Outcome::Failed
    };
    let sources = match input() {
        Ok(src) => src,
        Err(e) => return failed(log_out, e),
    };
    let changed = match (s.render)(&sources, log_out) {
        Ok(Some(changed)) => changed,
        Ok(None) => return Outcome::Failed,
        Err(e) => return failed(log_out, e),
    };
    if !*ready && let Some(path) = &s.ready_file {
        match std::fs::write(path, b"ready\n") {
            Ok(()) => *ready = true,
            Err(e) => log(
                log_out,
                "error",
                serde_json::json!({"message": format!("cannot write {}: {e}", path.display())}),
            ),
        }
    }
    if changed {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    }
}

/// The loop: waits for the initial lists, then renders after every burst
/// of changes, until `max_renders` (`--once`, tests) or the watcher
/// stops; the last render's outcome.
pub fn run<I: Input>(
    mut s: Settings,
    mut input: I,
    rx: mpsc::Receiver<I::Msg>,
    log_out: &mut dyn Write,
) -> io::Result<Outcome> {
    let mut machine = Machine::new(input.initial(), s.debounce);
    let mut reloader = crate::reload::Reloader::new(s.reload.clone(), s.reload_repeat);
    let notes = |notes: Vec<crate::reload::Note>, log_out: &mut dyn Write| {
        for n in notes {
            log(log_out, n.event, n.fields);
        }
    };
    notes(vec![reloader.announce()], log_out);
    let mut ready = false;
    let mut renders = 0;
    let mut due = false;
    loop {
        if due {
            let outcome = render_once(&mut s, &mut || input.sources(), &mut ready, log_out);
            log(
                log_out,
                "render",
                serde_json::json!({"outcome": format!("{outcome:?}").to_lowercase()}),
            );
            if outcome == Outcome::Changed {
                notes(reloader.changed(Instant::now()), log_out);
            }
            renders += 1;
            if s.max_renders.is_some_and(|m| renders >= m) {
                return Ok(outcome);
            }
        }
        notes(reloader.run_due(Instant::now()), log_out);
        let next = [machine.deadline(), reloader.due()]
            .into_iter()
            .flatten()
            .min();
        let wait = next.map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(Instant::now())
        });
        let events = match rx.recv_timeout(wait) {
            Ok(msg) => input.feed(msg, log_out),
            Err(mpsc::RecvTimeoutError::Timeout) => vec![Event::Tick],
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other("the watcher stopped"));
            }
        };
        due = false;
        for event in events {
            due |= machine.on(event, Instant::now());
        }
    }
}

/// Manifests in files and folders, watched by file-system notifications.
struct Files {
    paths: Vec<String>,
    exclude: Vec<String>,
}

impl Input for Files {
    type Msg = Event;
    fn initial(&self) -> Vec<String> {
        vec!["files".into()]
    }
    fn feed(&mut self, msg: Event, _: &mut dyn Write) -> Vec<Event> {
        vec![msg]
    }
    fn sources(&mut self) -> io::Result<Vec<crate::Source>> {
        crate::inputs::collect_sources(&self.paths, &self.exclude)
    }
}

/// `watch PATH...`: renders once, then again after every burst of file
/// changes under the paths.
pub fn run_files(
    s: Settings,
    paths: Vec<String>,
    exclude: Vec<String>,
    log_out: &mut dyn Write,
) -> io::Result<Outcome> {
    use notify::{RecursiveMode, Watcher};
    let (tx, rx) = mpsc::channel();
    let changes = tx.clone();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        // Reads and metadata-only events do not change what renders.
        if let Ok(ev) = ev
            && !matches!(ev.kind, notify::EventKind::Access(_))
        {
            let _ = changes.send(Event::Changed);
        }
    })
    .map_err(|e| io::Error::other(format!("cannot watch files: {e}")))?;
    for p in &paths {
        watcher
            .watch(Path::new(p), RecursiveMode::Recursive)
            .map_err(|e| io::Error::other(format!("cannot watch {p}: {e}")))?;
    }
    // Files are "listed" once they are watched: the first render reads them.
    let _ = tx.send(Event::Listed("files".into()));
    run(s, Files { paths, exclude }, rx, log_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_millis(500);

    #[test]
    fn no_render_before_every_initial_list() {
        let t = Instant::now();
        let mut m = Machine::new(["Ingress".into(), "Service".into()], D);
        assert!(!m.on(Event::Changed, t));
        assert!(!m.on(Event::Listed("Ingress".into()), t));
        assert!(!m.on(Event::Tick, t + D * 20));
        assert_eq!(m.deadline(), None);
        // The last list completes: render at once, whatever happened before.
        assert!(m.on(Event::Listed("Service".into()), t + D * 20));
        assert!(!m.on(Event::Tick, t + D * 40));
    }

    #[test]
    fn a_burst_renders_once_after_the_last_change() {
        let t = Instant::now();
        let mut m = Machine::new(["files".into()], D);
        assert!(m.on(Event::Listed("files".into()), t));
        let step = Duration::from_millis(100);
        for i in 1..=10 {
            assert!(!m.on(Event::Changed, t + step * i), "change {i}");
        }
        let last = t + step * 10;
        assert_eq!(m.deadline(), Some(last + D));
        assert!(!m.on(Event::Tick, last + D - step));
        assert!(m.on(Event::Tick, last + D));
        // Nothing pending any more.
        assert_eq!(m.deadline(), None);
        assert!(!m.on(Event::Tick, last + D * 5));
    }

    #[test]
    fn finds_processes_by_name_but_never_itself() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let found = pids_named("sleep").unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&(child.id() as i32)), "{found:?}");
        let me = std::fs::read_to_string("/proc/self/comm").unwrap();
        let mine = pids_named(me.trim_end()).unwrap();
        assert!(!mine.contains(&(std::process::id() as i32)), "{mine:?}");
    }

    #[test]
    fn an_endless_burst_still_renders() {
        let t = Instant::now();
        let mut m = Machine::new(["files".into()], D);
        m.on(Event::Listed("files".into()), t);
        let step = Duration::from_millis(200);
        let mut rendered_at = None;
        for i in 1..=40 {
            if m.on(Event::Changed, t + step * i) {
                rendered_at = Some(i);
                break;
            }
            if m.on(Event::Tick, t + step * i + Duration::from_millis(1)) {
                rendered_at = Some(i);
                break;
            }
        }
        // First change at 200 ms; ten debounces later (5.2 s) at the latest.
        assert!(rendered_at.is_some_and(|i| i <= 26), "{rendered_at:?}");
    }
}
