//! How the proxy is told that its files changed (feature `watch`), chosen
//! for what each proxy does:
//!
//! - v1 and v2 (Synapse 0.8 and later) reload on SIGHUP: every process of
//!   a name (found under /proc, never synroute) or the PID in a file is
//!   signalled right after the write.
//! - 0.2 (the public 0.2.4 release) is never signalled: it has no SIGHUP
//!   handler and the signal ends it. Its config API takes the file
//!   (`POST /conf?key=KEY`, the file as the body: 200 taken, 502 refused
//!   and the old one kept, 403 a wrong key); unreachable, it is tried
//!   again with back-off. Without an API, a trigger file in the folder of
//!   the upstreams file is written in place: its watcher rereads the
//!   upstreams file on a data change of any `*yaml` there, but never sees
//!   a rename (how synroute writes), and drops events within 2 s of its
//!   last reload, so triggers are spaced past that. Either way the reload
//!   is repeated once a health-check round has passed: a round writes
//!   back the configuration it started with, which undoes a reload taken
//!   in its middle.
//! - Pingress's proxy watches its folder itself: nothing is sent.
//!
//! `Schedule` says when to act, with the time passed in (tested without a
//! clock); `Reloader` acts and says what it did as log lines for the loop
//! to write. The HTTP client is the few lines one POST to a plain-HTTP API
//! on the pod's loopback needs.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Synapse 0.2.4 drops watcher events within 2 s of its last reload;
/// triggers are this far apart.
pub const TRIGGER_SPACING: Duration = Duration::from_millis(2500);

/// The trigger file written beside the upstreams file for 0.2.
pub const TRIGGER_FILE: &str = ".synroute-reload.yaml";

/// How long the config API may take to answer: 0.2.4 checks every server
/// of the new file (HEAD, 2 s timeout, one after another) first.
const API_TIMEOUT: Duration = Duration::from_secs(120);

/// First and last wait before trying an unreachable API again.
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// How the proxy is told to reload.
#[derive(Clone, Debug)]
pub enum Reload {
    /// SIGHUP every process of this name (argv[0] or `comm`), but synroute.
    Name(String),
    /// SIGHUP the PID written in this file.
    PidFile(PathBuf),
    /// Synapse 0.2: POST the upstreams file to its config API.
    Api(Box<Api>),
    /// Synapse 0.2 without an API: write the trigger file beside this
    /// upstreams file.
    Trigger(PathBuf),
    Off,
}

/// Synapse 0.2's config API and the file it is given.
#[derive(Clone, Debug)]
pub struct Api {
    /// `host:port` to connect to.
    authority: String,
    /// The base URL as given, for logs (never the key).
    url: String,
    /// `/conf?key=…`, the key percent-encoded.
    target: String,
    /// The upstreams file posted.
    pub file: PathBuf,
}

/// What the API answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Posted {
    /// 200: the file is taken.
    Taken,
    /// 502: the file is refused; the old one stays.
    Refused(String),
    /// Any other answer: the status and the body.
    Answered(u16, String),
    /// No answer (no connection, a timeout, a broken reply).
    Unreachable(String),
}

impl Api {
    /// `url` is the API's base, `http://HOST:PORT` (a trailing `/conf` is
    /// taken off); `key` its master key.
    pub fn new(url: &str, key: &str, file: PathBuf) -> Result<Api, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("--synapse-api {url:?}: give the API as http://HOST:PORT (Synapse's config API speaks plain HTTP)")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let path = path.trim_end_matches('/');
        let path = path.strip_suffix("/conf").unwrap_or(path);
        if authority.is_empty() || authority.contains(['@', '?', '#']) || path.contains(['?', '#'])
        {
            return Err(format!("--synapse-api {url:?} is not http://HOST:PORT"));
        }
        let authority = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        if key.is_empty() {
            return Err("the Synapse API key is empty".to_string());
        }
        Ok(Api {
            url: format!("http://{authority}{path}"),
            target: format!("{path}/conf?key={}", percent_encoded(key)),
            authority,
            file,
        })
    }

    /// The API's URL, without the key.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// POSTs `body` and reads the answer.
    pub fn post(&self, body: &[u8]) -> Posted {
        match self.exchange(body) {
            Ok((200, _)) => Posted::Taken,
            Ok((502, text)) => Posted::Refused(text),
            Ok((status, text)) => Posted::Answered(status, text),
            Err(e) => Posted::Unreachable(e.to_string()),
        }
    }

    fn exchange(&self, body: &[u8]) -> io::Result<(u16, String)> {
        let addrs: Vec<_> = self.authority.to_socket_addrs()?.collect();
        let mut last = io::Error::other(format!("{} resolves to no address", self.authority));
        let mut stream = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let mut stream = stream.ok_or(last)?;
        stream.set_read_timeout(Some(API_TIMEOUT))?;
        stream.set_write_timeout(Some(API_TIMEOUT))?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/yaml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.target,
            self.authority,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        let mut reply = Vec::new();
        stream.take(1 << 20).read_to_end(&mut reply)?;
        let text = String::from_utf8_lossy(&reply);
        let status = text
            .strip_prefix("HTTP/1.")
            .and_then(|r| r.get(2..5))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| io::Error::other("the API's answer is not HTTP"))?;
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Ok((status, body.trim().chars().take(200).collect()))
    }
}

/// `s` with every byte but the unreserved ones as `%XX`.
fn percent_encoded(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Which of a reload's two sendings is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Right after the file changed.
    First,
    /// Once a health-check round has passed since the first.
    Repeat,
}

impl Round {
    fn as_str(self) -> &'static str {
        match self {
            Round::First => "first",
            Round::Repeat => "repeat",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    due: Instant,
    round: Round,
    attempt: u32,
}

/// When a 0.2 reload is sent: at once after a change (or `spacing` after
/// the last sending, whichever is later), again `repeat` after it was
/// taken, and after a failure again with back-off. A change while a first
/// sending waits changes nothing (the file is read when it is sent); a
/// change while a repeat waits puts a first sending in its place.
#[derive(Debug)]
pub struct Schedule {
    spacing: Duration,
    repeat: Duration,
    pending: Option<Pending>,
    last_sent: Option<Instant>,
}

impl Schedule {
    pub fn new(spacing: Duration, repeat: Duration) -> Schedule {
        Schedule {
            spacing,
            repeat,
            pending: None,
            last_sent: None,
        }
    }

    /// The file changed at `now`.
    pub fn changed(&mut self, now: Instant) {
        if self.pending.is_some_and(|p| p.round == Round::First) {
            return;
        }
        let due = self.last_sent.map_or(now, |t| (t + self.spacing).max(now));
        self.pending = Some(Pending {
            due,
            round: Round::First,
            attempt: 0,
        });
    }

    /// When the next sending is due.
    pub fn due(&self) -> Option<Instant> {
        self.pending.map(|p| p.due)
    }

    /// The sending due at `now`, if any, with how many times it failed.
    pub fn take(&mut self, now: Instant) -> Option<(Round, u32)> {
        let p = self.pending.filter(|p| p.due <= now)?;
        self.pending = None;
        Some((p.round, p.attempt))
    }

    /// The sending of `round` went through at `now`.
    pub fn sent(&mut self, now: Instant, round: Round) {
        self.last_sent = Some(now);
        if round == Round::First && self.pending.is_none() {
            self.pending = Some(Pending {
                due: now + self.repeat,
                round: Round::Repeat,
                attempt: 0,
            });
        }
    }

    /// The sending of `round` failed for the `attempt`th time (from 0) and
    /// is worth trying again; returns when.
    pub fn retry(&mut self, now: Instant, round: Round, attempt: u32) -> Duration {
        let wait = BACKOFF_FIRST
            .saturating_mul(1u32 << attempt.min(16))
            .min(BACKOFF_CAP);
        if self.pending.is_none() {
            self.pending = Some(Pending {
                due: now + wait,
                round,
                attempt: attempt.saturating_add(1),
            });
        }
        wait
    }
}

/// A line for the loop's log: its event and fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub event: &'static str,
    pub fields: serde_json::Value,
}

fn note(event: &'static str, fields: serde_json::Value) -> Vec<Note> {
    vec![Note { event, fields }]
}

/// A reload and its schedule.
#[derive(Debug)]
pub struct Reloader {
    reload: Reload,
    schedule: Schedule,
    triggers: u64,
}

impl Reloader {
    /// `repeat`: how long after a 0.2 reload it is sent again.
    pub fn new(reload: Reload, repeat: Duration) -> Reloader {
        let spacing = match reload {
            Reload::Trigger(_) => TRIGGER_SPACING,
            _ => Duration::ZERO,
        };
        Reloader {
            reload,
            schedule: Schedule::new(spacing, repeat),
            triggers: 0,
        }
    }

    /// How the proxy will be told to reload, for the log.
    pub fn announce(&self) -> Note {
        let fields = match &self.reload {
            Reload::Name(n) => {
                serde_json::json!({"method": "signal", "signal": "SIGHUP", "process_name": n})
            }
            Reload::PidFile(f) => {
                serde_json::json!({"method": "signal", "signal": "SIGHUP", "pid_file": f.display().to_string()})
            }
            Reload::Api(api) => {
                serde_json::json!({"method": "api", "url": api.url(), "repeat_ms": millis(self.schedule.repeat)})
            }
            Reload::Trigger(f) => serde_json::json!({
                "method": "trigger",
                "file": trigger_path(f).display().to_string(),
                "spacing_ms": millis(TRIGGER_SPACING),
                "repeat_ms": millis(self.schedule.repeat),
            }),
            Reload::Off => serde_json::json!({"method": "none"}),
        };
        Note {
            event: "reload-method",
            fields,
        }
    }

    /// A render changed a file at `now`: signal at once, or schedule.
    pub fn changed(&mut self, now: Instant) -> Vec<Note> {
        match &self.reload {
            Reload::Off => Vec::new(),
            Reload::Name(_) | Reload::PidFile(_) => match signal(&self.reload) {
                Ok(pids) => note(
                    "reload",
                    serde_json::json!({"method": "signal", "pids": pids}),
                ),
                Err(e) => note(
                    "error",
                    serde_json::json!({"message": format!("reload: {e}")}),
                ),
            },
            Reload::Api(_) | Reload::Trigger(_) => {
                self.schedule.changed(now);
                self.run_due(now)
            }
        }
    }

    /// When something is due next.
    pub fn due(&self) -> Option<Instant> {
        self.schedule.due()
    }

    /// Sends what is due at `now`.
    pub fn run_due(&mut self, now: Instant) -> Vec<Note> {
        let Some((round, attempt)) = self.schedule.take(now) else {
            return Vec::new();
        };
        let (event, fields, outcome) = match &self.reload {
            Reload::Api(api) => post_file(api, round),
            Reload::Trigger(file) => {
                self.triggers += 1;
                write_trigger(file, round, self.triggers)
            }
            Reload::Name(_) | Reload::PidFile(_) | Reload::Off => return Vec::new(),
        };
        let mut fields = fields;
        let done = Instant::now();
        match outcome {
            Sent::Taken => self.schedule.sent(done, round),
            // Sending it again would not change the answer: the next
            // change is sent as usual.
            Sent::Final => self.schedule.sent(done, Round::Repeat),
            Sent::Again => {
                let wait = self.schedule.retry(done, round, attempt);
                if let Some(m) = fields.as_object_mut() {
                    m.insert("in_ms".into(), millis(wait).into());
                }
            }
        }
        note(event, fields)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How a sending went, for the schedule.
enum Sent {
    Taken,
    /// Answered, not taken, and not worth sending again (a refused file,
    /// a wrong key).
    Final,
    /// Not answered: try again.
    Again,
}

/// POSTs the upstreams file to 0.2's config API.
fn post_file(api: &Api, round: Round) -> (&'static str, serde_json::Value, Sent) {
    let posted = match std::fs::read(&api.file) {
        Ok(body) => api.post(&body),
        Err(e) => Posted::Unreachable(format!("cannot read {}: {e}", api.file.display())),
    };
    let file = api.file.display();
    let (event, status, message, sent) = match posted {
        Posted::Taken => ("reload", Some(200), None, Sent::Taken),
        Posted::Refused(body) => (
            "error",
            Some(502),
            Some(format!(
                "Synapse refused {file} ({body}); it keeps serving the previous one"
            )),
            Sent::Final,
        ),
        Posted::Answered(status, body) if (400..500).contains(&status) => {
            let why = if status == 403 {
                "the API key is wrong"
            } else {
                "the API refused the request"
            };
            (
                "error",
                Some(status),
                Some(format!("{why} ({status} {body}); Synapse did not reload")),
                Sent::Final,
            )
        }
        Posted::Answered(status, body) => ("retry", Some(status), Some(body), Sent::Again),
        Posted::Unreachable(why) => ("retry", None, Some(why), Sent::Again),
    };
    let mut fields =
        serde_json::json!({"method": "api", "url": api.url(), "round": round.as_str()});
    if let Some(m) = fields.as_object_mut() {
        if let Some(status) = status {
            m.insert("status".into(), status.into());
            m.insert("accepted".into(), (status == 200).into());
        }
        if let Some(message) = message {
            m.insert("message".into(), message.into());
        }
    }
    (event, fields, sent)
}

/// Writes the trigger file beside `file` (in place: a data change).
fn write_trigger(file: &Path, round: Round, count: u64) -> (&'static str, serde_json::Value, Sent) {
    let path = trigger_path(file);
    let name = file
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().to_string());
    let text = format!(
        "# Written by synroute to make Synapse 0.2 read {name} again: its watcher\n# does not see a file renamed into place. Reload {count}.\n"
    );
    let mut fields = serde_json::json!({"method": "trigger", "file": path.display().to_string(), "round": round.as_str()});
    match std::fs::write(&path, text) {
        Ok(()) => ("reload", fields, Sent::Taken),
        Err(e) => {
            if let Some(m) = fields.as_object_mut() {
                m.insert(
                    "message".into(),
                    format!("cannot write {}: {e}", path.display()).into(),
                );
            }
            ("retry", fields, Sent::Again)
        }
    }
}

/// The trigger file beside the upstreams file `file`.
pub fn trigger_path(file: &Path) -> PathBuf {
    match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.join(TRIGGER_FILE),
        _ => PathBuf::from(TRIGGER_FILE),
    }
}

/// Sends SIGHUP as `reload` says; returns the PIDs signalled.
pub fn signal(reload: &Reload) -> io::Result<Vec<i32>> {
    let pids = match reload {
        Reload::Name(name) => pids_named(name)?,
        Reload::PidFile(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
            })?;
            let pid = text
                .trim()
                .parse::<i32>()
                .map_err(|_| io::Error::other(format!("{} holds no PID", path.display())))?;
            vec![pid]
        }
        Reload::Api(_) | Reload::Trigger(_) | Reload::Off => return Ok(Vec::new()),
    };
    for &pid in &pids {
        hangup(pid)?;
    }
    Ok(pids)
}

/// PIDs of the processes named `name` — the base name of their argv[0],
/// or their `comm` — never this process. A process that ends while the
/// table is read is passed over.
pub fn pids_named(name: &str) -> io::Result<Vec<i32>> {
    let me = std::process::id() as i32;
    let table = procfs::process::all_processes().map_err(io::Error::other)?;
    let mut pids = Vec::new();
    for process in table.flatten() {
        let pid = process.pid();
        if pid == me {
            continue;
        }
        let argv0 = process.cmdline().ok().and_then(|args| {
            let first = args.into_iter().next()?;
            first.rsplit('/').next().map(str::to_string)
        });
        let named =
            argv0.as_deref() == Some(name) || process.stat().is_ok_and(|stat| stat.comm == name);
        if named {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    Ok(pids)
}

fn hangup(pid: i32) -> io::Result<()> {
    let target = rustix::process::Pid::from_raw(pid)
        .filter(|_| pid > 0)
        .ok_or_else(|| io::Error::other(format!("{pid} is not a process id")))?;
    rustix::process::kill_process(target, rustix::process::Signal::HUP).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_millis(2500);
    const R: Duration = Duration::from_secs(5);

    #[test]
    fn a_change_is_sent_at_once_then_repeated_after_a_round() {
        let t = Instant::now();
        let mut s = Schedule::new(S, R);
        s.changed(t);
        assert_eq!(s.take(t), Some((Round::First, 0)));
        s.sent(t, Round::First);
        assert_eq!(s.due(), Some(t + R));
        assert_eq!(s.take(t + R - Duration::from_millis(1)), None);
        assert_eq!(s.take(t + R), Some((Round::Repeat, 0)));
        s.sent(t + R, Round::Repeat);
        assert_eq!(s.due(), None);
    }

    #[test]
    fn triggers_are_spaced_past_the_window() {
        let t = Instant::now();
        let mut s = Schedule::new(S, R);
        s.changed(t);
        assert!(s.take(t).is_some());
        s.sent(t, Round::First);
        // A change 1 s later replaces the pending repeat with a first
        // sending, no sooner than the spacing allows.
        let t1 = t + Duration::from_secs(1);
        s.changed(t1);
        assert_eq!(s.due(), Some(t + S));
        // More changes before it is sent change nothing.
        s.changed(t1 + Duration::from_millis(500));
        assert_eq!(s.due(), Some(t + S));
        assert_eq!(s.take(t + S), Some((Round::First, 0)));
    }

    #[test]
    fn an_unreachable_api_is_tried_again_with_back_off() {
        let t = Instant::now();
        let mut s = Schedule::new(Duration::ZERO, R);
        s.changed(t);
        let mut now = t;
        let mut waits = Vec::new();
        for attempt in 0..8 {
            let (round, a) = s.take(now).expect("due");
            assert_eq!((round, a), (Round::First, attempt));
            let w = s.retry(now, round, a);
            waits.push(w.as_millis());
            now += w;
        }
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        // It answers at last: the repeat follows.
        assert!(s.take(now).is_some());
        s.sent(now, Round::First);
        assert_eq!(s.due(), Some(now + R));
    }

    #[test]
    fn api_urls() {
        let f = PathBuf::from("/shared/upstreams.yaml");
        let a = Api::new("http://127.0.0.1:18300", "k e/y", f.clone()).unwrap();
        assert_eq!(a.url(), "http://127.0.0.1:18300");
        assert_eq!(a.target, "/conf?key=k%20e%2Fy");
        let a = Api::new("http://synapse/admin/conf/", "k", f.clone()).unwrap();
        assert_eq!(
            (a.authority.as_str(), a.target.as_str()),
            ("synapse:80", "/admin/conf?key=k")
        );
        assert!(Api::new("https://127.0.0.1:1", "k", f.clone()).is_err());
        assert!(Api::new("http://127.0.0.1:1", "", f.clone()).is_err());
        assert!(Api::new("http://user@h:1", "k", f).is_err());
    }

    #[test]
    fn posts_the_file_and_reads_the_answer() {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for status in ["200 OK", "502 Bad Gateway", "403 Forbidden"] {
                let (mut c, _) = listener.accept().unwrap();
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !String::from_utf8_lossy(&got).contains("routes: 1") {
                    let n = c.read(&mut buf).unwrap();
                    got.extend_from_slice(&buf[..n]);
                }
                seen.push(String::from_utf8_lossy(&got).to_string());
                let body = "Failed to parse config!";
                write!(
                    c,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
            seen
        });
        let api = Api::new(
            &format!("http://127.0.0.1:{port}"),
            "test-key",
            PathBuf::new(),
        )
        .unwrap();
        assert_eq!(api.post(b"routes: 1\n"), Posted::Taken);
        assert_eq!(
            api.post(b"routes: 1\n"),
            Posted::Refused("Failed to parse config!".into())
        );
        assert!(matches!(api.post(b"routes: 1\n"), Posted::Answered(403, _)));
        let seen = server.join().unwrap();
        assert!(
            seen[0].starts_with("POST /conf?key=test-key HTTP/1.1\r\n"),
            "{}",
            seen[0]
        );
        assert!(seen[0].contains("Content-Length: 10\r\n"));
        // Nobody listens any more.
        assert!(matches!(api.post(b"x"), Posted::Unreachable(_)));
    }
}
