//! Scale behaviour that can be asserted without timing: the output does not
//! depend on `--jobs`, and an error deep in a large file keeps its exact
//! location under parallel parsing. (Speed is measured by
//! `cargo run --profile profiling --example bench`, never asserted here.)

use synroute::diag::Code;
use synroute::{Options, Rendered, Source, render};
use synth::{Shape, corpus, corpus_files, corpus_list};
#[path = "support/synth.rs"]
mod synth;

/// `apps` apps as YAML, unpadded.
fn yaml(apps: usize, seed: u64) -> Shape {
    Shape {
        apps,
        padding: 0,
        json: false,
        seed,
    }
}

fn with_jobs(sources: &[Source], jobs: usize) -> Rendered {
    render(
        sources,
        &Options {
            jobs,
            ..Options::default()
        },
    )
}

#[test]
fn output_is_identical_whatever_the_number_of_jobs() {
    let shape = Shape {
        padding: 1,
        ..yaml(300, 7)
    };
    let one = vec![Source::new("all.yaml", corpus(shape))];
    let many: Vec<Source> = corpus_files(shape)
        .into_iter()
        .map(|(n, t)| Source::new(n, t))
        .collect();
    let json = vec![Source::new(
        "all.json",
        corpus(Shape {
            json: true,
            ..shape
        }),
    )];
    for sources in [&one, &many, &json] {
        let base = with_jobs(sources, 1);
        assert!(!base.malformed);
        assert!(base.stats.used > 600, "{:?}", base.stats);
        for jobs in [2, 3, 7, 0] {
            let r = with_jobs(sources, jobs);
            assert_eq!(r.upstreams, base.upstreams, "jobs={jobs}");
            assert_eq!(r.certs, base.certs, "jobs={jobs}");
            assert_eq!(r.diagnostics, base.diagnostics, "jobs={jobs}");
        }
    }
    // The three layouts hold the same objects: the same file comes out.
    assert_eq!(with_jobs(&one, 0).upstreams, with_jobs(&many, 0).upstreams);
    assert_eq!(with_jobs(&one, 0).upstreams, with_jobs(&json, 0).upstreams);
}

/// Renders `text` as the file `name` with `jobs` workers, which must find
/// it malformed with exactly one malformed-document error: its location.
fn the_one_malformed(name: &str, text: &str, jobs: usize) -> synroute::diag::Location {
    let r = with_jobs(&[Source::new(name, text.to_string())], jobs);
    assert!(r.malformed, "jobs={jobs}");
    let errors: Vec<_> = r
        .diagnostics
        .iter()
        .filter(|d| d.code.id() == "SR1001")
        .collect();
    assert_eq!(errors.len(), 1, "jobs={jobs}: {errors:?}");
    errors[0].location.clone().expect("located")
}

#[test]
fn a_malformed_document_deep_in_a_large_file_keeps_its_location() {
    let text = corpus(Shape {
        padding: 2,
        ..yaml(3000, 3)
    });
    // Break one Service about four fifths of the way in: `ports` becomes a
    // number, an error the typed parse reports at that very line.
    let service = text[text.len() * 4 / 5..]
        .find("\nkind: Service\n")
        .map(|i| i + text.len() * 4 / 5)
        .expect("a Service");
    let at = text[service..]
        .find("\n  ports:\n")
        .map(|i| i + service + 1)
        .expect("ports");
    let line = text[..at].matches('\n').count() as u32 + 1;
    let broken = format!(
        "{}  ports: 80\n  unused:\n{}",
        &text[..at],
        &text[at + "  ports:\n".len()..]
    );
    for jobs in [1, 2, 5] {
        let loc = the_one_malformed("big.yaml", &broken, jobs);
        assert_eq!(
            (loc.file.as_str(), loc.line, loc.column),
            ("big.yaml", line, Some(10)),
            "jobs={jobs}"
        );
    }
}

/// The same for a JSON stream (one object per line), which is split into
/// documents on several cores: the error keeps its line and column.
#[test]
fn a_malformed_json_object_deep_in_a_large_file_keeps_its_location() {
    let text = corpus(Shape {
        padding: 1,
        json: true,
        ..yaml(3000, 3)
    });
    assert!(
        text.len() > 4 << 20,
        "large enough to be split on every core"
    );
    let from = text.len() * 4 / 5;
    let service = text[from..]
        .find("\"kind\":\"Service\"")
        .map(|i| i + from)
        .expect("a Service");
    let line_start = text[..service].rfind('\n').map_or(0, |i| i + 1);
    let at = text[service..]
        .find("\"ports\":")
        .map(|i| i + service)
        .expect("ports");
    let line = text[..at].matches('\n').count() as u32 + 1;
    // `"ports":80,"unused":[...]`: still JSON, but ports is not a list.
    let broken = format!(
        "{}\"ports\":80,\"unused\":{}",
        &text[..at],
        &text[at + "\"ports\":".len()..]
    );
    let mut seen = Vec::new();
    for jobs in [1, 2, 5] {
        let loc = the_one_malformed("big.json", &broken, jobs);
        assert_eq!(
            (loc.file.as_str(), loc.line),
            ("big.json", line),
            "jobs={jobs}"
        );
        // The column is serde_json's, within the object's line.
        let column = loc.column.expect("a column") as usize;
        assert!(column > at - line_start, "jobs={jobs}: column {column}");
        seen.push(loc);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

/// Every fixture (conflicts, sticky sessions, ACME solvers, TLS stems among
/// them) renders the same with one worker and with several: translation
/// runs per object in parallel and its table operations are replayed in
/// order.
#[test]
fn fixtures_render_the_same_whatever_the_number_of_jobs_and_owned() {
    let mut checked = 0;
    let mut dirs: Vec<_> = std::fs::read_dir("fixtures")
        .expect("fixtures folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let path = dir.display().to_string();
        let sources = synroute::cli::collect_sources(
            std::slice::from_ref(&path),
            &["expect.txt".into(), "args".into()],
        )
        .expect("read fixture");
        let base = with_jobs(&sources, 1);
        for jobs in [2, 5] {
            let r = with_jobs(&sources, jobs);
            assert_eq!(r.upstreams, base.upstreams, "{path} jobs={jobs}");
            assert_eq!(r.certs, base.certs, "{path} jobs={jobs}");
            assert_eq!(r.diagnostics, base.diagnostics, "{path} jobs={jobs}");
            assert_eq!(r.table, base.table, "{path} jobs={jobs}");
        }
        // Owning the input frees it as soon as it is read (and locates
        // through document shapes); the CLI's render also streams the
        // output instead of building it.
        let owned = synroute::render_owned(sources.clone(), &Options::default());
        assert_eq!(owned.upstreams, base.upstreams, "{path} owned");
        assert_eq!(owned.certs, base.certs, "{path} owned");
        assert_eq!(owned.diagnostics, base.diagnostics, "{path} owned");
        assert_eq!(owned.suppressed, base.suppressed, "{path} owned");
        let unwritten = synroute::render_owned_unwritten(sources.clone(), &Options::default());
        assert!(unwritten.upstreams.is_empty(), "{path} unwritten");
        for jobs in [1, 3] {
            let mut streamed = Vec::new();
            unwritten
                .write_upstreams(&mut streamed, jobs)
                .expect("write to a Vec");
            assert_eq!(streamed, base.upstreams, "{path} streamed jobs={jobs}");
        }
        assert_eq!(unwritten.certs, base.certs, "{path} unwritten");
        assert_eq!(unwritten.diagnostics, base.diagnostics, "{path} unwritten");
        checked += 1;
    }
    assert!(checked > 100, "only {checked} fixtures");
}

/// `render_owned` frees each source's text as it is read: after the first
/// pass only the Ingresses' and HTTPRoutes' documents are kept (moved down
/// in place), after the second none, and every diagnostic is located
/// through the documents' shapes. Sources mixing both passes' documents,
/// JSON, a `kind: List`, a file that is not UTF-8 and conflicts between
/// files must come out exactly as `render` makes them.
#[test]
fn owned_input_freed_as_read_locates_alike() {
    let svc = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: shop\n  labels: {{app: {name}}}\nspec:\n  ports:\n  - name: http\n    port: 80\n"
        )
    };
    let ing = |name: &str, host: &str, port: u32| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: shop\n  annotations:\n    synapse.gen0sec.com/read-timeout: soon\nspec:\n  ingressClassName: synapse\n  tls:\n  - hosts: [{host}]\n    secretName: {name}-tls\n  rules:\n  - host: {host}\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: web\n            port:\n              number: {port}\n"
        )
    };
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a-tls\n  namespace: shop\ntype: kubernetes.io/tls\ndata:\n  tls.crt: bm90IGEgY2VydA==\n  tls.key: bm90IGEga2V5\n";
    let first = [
        "# a comment before everything\n".to_string(),
        ing("a", "shop.example.com", 80),
        svc("web"),
        secret.to_string(),
        ing("b", "shop.example.com", 81),
        svc("other"),
    ]
    .join("---\n");
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n- {}",
        ing("c", "list.example.com", 82)
            .trim_end()
            .replace('\n', "\n  ")
    );
    let json = r#"{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "d", "namespace": "shop"}, "spec": {"ingressClassName": "synapse", "rules": [{"host": "shop.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "missing", "port": {"number": 80}}}}]}}]}}"#;
    let sources = vec![
        Source::new("first.yaml", first),
        Source::new("list.yaml", list),
        Source::new("d.json", json),
        Source::new("bad.yaml", b"kind: \xff\n".to_vec()),
        Source::new("last.yaml", ing("e", "last.example.com", 80)),
    ];
    let base = render(&sources, &Options::default());
    let owned = synroute::render_owned(sources, &Options::default());
    let located = base
        .diagnostics
        .iter()
        .filter(|d| d.location.as_ref().is_some_and(|l| l.line > 1))
        .count();
    assert!(located >= 5, "{:#?}", base.diagnostics);
    assert!(
        base.diagnostics
            .iter()
            .any(|d| d.related.iter().any(|r| r.location.is_some())),
        "a conflict points at the entry it lost to: {:#?}",
        base.diagnostics
    );
    assert_eq!(owned.diagnostics, base.diagnostics);
    assert_eq!(owned.suppressed, base.suppressed);
    assert_eq!(owned.upstreams, base.upstreams);
    let at = |r: &Rendered| {
        r.objects
            .iter()
            .map(|o| (o.object_ref(), o.location()))
            .collect::<Vec<_>>()
    };
    assert_eq!(at(&owned), at(&base));
}

/// upstreams.yaml is built in parts on several threads while one writes
/// them: a write that fails half way is returned as the error it is (the
/// builders stop instead of waiting forever), after a prefix of the file.
#[test]
fn a_write_that_fails_half_way_is_returned() {
    struct FailsAfter {
        room: usize,
        written: Vec<u8>,
    }
    impl std::io::Write for FailsAfter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf.len() > self.room {
                return Err(std::io::Error::other("disk full"));
            }
            self.room -= buf.len();
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sources = vec![Source::new("all.yaml", corpus(yaml(1500, 3)))];
    let r = synroute::render_owned_unwritten(sources, &Options::default());
    let mut whole = Vec::new();
    r.write_upstreams(&mut whole, 1).expect("write to a Vec");
    assert!(r.table.hosts.len() > 2000, "{} hosts", r.table.hosts.len());
    for jobs in [1, 2, 5] {
        let mut out = FailsAfter {
            room: whole.len() / 2,
            written: Vec::new(),
        };
        let err = r
            .write_upstreams(&mut out, jobs)
            .expect_err("the write fails");
        assert_eq!(err.to_string(), "disk full", "jobs={jobs}");
        assert!(whole.starts_with(&out.written), "jobs={jobs}");
        assert!(out.written.len() > whole.len() / 4, "jobs={jobs}");
    }
}

/// Small files are split together on every job, a large one (over 1 MB)
/// on every job by itself, in its place: files of both kinds mixed render
/// the same with one job and with several, every diagnostic in its file.
#[test]
fn small_and_large_files_mixed_render_the_same_whatever_the_jobs() {
    let small = |seed| corpus_files(yaml(40, seed));
    let large = corpus(yaml(600, 11));
    assert!(large.len() > 1 << 20, "{} bytes", large.len());
    let mut sources: Vec<Source> = small(5)
        .into_iter()
        .map(|(n, t)| Source::new(format!("a/{n}"), t))
        .collect();
    sources.push(Source::new("large.yaml", large));
    sources.extend(
        small(9)
            .into_iter()
            .map(|(n, t)| Source::new(format!("z/{n}"), t)),
    );
    let base = with_jobs(&sources, 1);
    assert!(!base.malformed);
    let files: std::collections::BTreeSet<_> = base
        .diagnostics
        .iter()
        .filter_map(|d| d.location.as_ref().map(|l| l.file.clone()))
        .collect();
    assert!(files.contains("large.yaml") && files.len() > 2, "{files:?}");
    for jobs in [2, 3, 0] {
        let r = with_jobs(&sources, jobs);
        assert_eq!(r.upstreams, base.upstreams, "jobs={jobs}");
        assert_eq!(r.diagnostics, base.diagnostics, "jobs={jobs}");
    }
    // Owning the input, the small files' second-pass text is gathered in
    // one pool and the large file's kept in its own buffer: both are read
    // back from where they went, and located through their shapes.
    for jobs in [1, 2, 0] {
        let opts = Options {
            jobs,
            ..Options::default()
        };
        let r = synroute::render_owned(sources.clone(), &opts);
        assert_eq!(r.upstreams, base.upstreams, "owned jobs={jobs}");
        assert_eq!(r.diagnostics, base.diagnostics, "owned jobs={jobs}");
        assert_eq!(r.table, base.table, "owned jobs={jobs}");
    }
}

/// Objects defined twice (every kind, Ingresses and HTTPRoutes among them,
/// whose maps are ordered on two threads at once with several jobs): the
/// same copy is kept and the same duplicates are reported whatever the
/// number of jobs.
#[test]
fn duplicates_are_the_same_whatever_the_number_of_jobs() {
    let sources = vec![
        Source::new("all.yaml", corpus(yaml(60, 7))),
        Source::new("again.yaml", corpus(yaml(25, 3))),
    ];
    let base = with_jobs(&sources, 1);
    let twice = |kind: &str| {
        base.diagnostics
            .iter()
            .filter(|d| d.code == Code::DuplicateObject && d.message.starts_with(kind))
            .count()
    };
    assert!(twice("Ingress") > 10, "{:?}", base.diagnostics);
    assert!(twice("HTTPRoute") > 3, "{:?}", base.diagnostics);
    for jobs in [2, 3, 0] {
        let r = with_jobs(&sources, jobs);
        assert_eq!(r.upstreams, base.upstreams, "jobs={jobs}");
        assert_eq!(r.diagnostics, base.diagnostics, "jobs={jobs}");
        assert_eq!(r.snapshot.ingresses.len(), base.snapshot.ingresses.len());
        assert_eq!(
            r.snapshot.http_routes.len(),
            base.snapshot.http_routes.len()
        );
    }
}

/// A `kind: List` — what `kubectl get -o yaml|json` writes — renders as
/// its items do in a stream, and each item is located within itself: a
/// YAML item's diagnostics point at the same line of the object as in the
/// stream, a JSON item's at its own lines, not the List's first. (Each
/// item was once located by a walk of the whole List: n² for n items.)
#[test]
fn a_list_renders_and_locates_as_its_items_do() {
    let line_of = |text: &str, d: &synroute::diag::Diagnostic| -> String {
        let line = d.location.as_ref().map_or(0, |l| l.line as usize);
        let t = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        t.trim_start().trim_start_matches("- ").trim().to_string()
    };
    for json in [false, true] {
        // Over 1 MB: a large source, whose kept text moves down in place.
        let shape = Shape {
            json,
            ..yaml(500, 11)
        };
        let (stream, list) = (corpus(shape), corpus_list(shape));
        assert!(list.len() > 1 << 20);
        let a = with_jobs(&[Source::new("stream", stream.clone())], 2);
        let b = with_jobs(&[Source::new("list", list.clone())], 2);
        // Read as the CLI reads: the text freed as it is read, every
        // diagnostic located through the documents' shapes.
        let owned = synroute::render_owned(
            vec![Source::new("list", list.clone())],
            &Options {
                jobs: 2,
                ..Options::default()
            },
        );
        assert!(owned.upstreams == b.upstreams, "json={json}: owned differs");
        assert_eq!(owned.diagnostics, b.diagnostics, "json={json}");
        assert!(!b.malformed, "{:?}", b.diagnostics);
        assert!(b.stats.used > 400, "{:?}", b.stats);
        assert!(
            a.upstreams == b.upstreams,
            "json={json}: upstreams.yaml differs"
        );
        assert_eq!(a.certs, b.certs, "json={json}");
        assert_eq!(a.diagnostics.len(), b.diagnostics.len(), "json={json}");
        assert!(b.diagnostics.len() > 30, "json={json}");
        let mut lines = std::collections::BTreeSet::new();
        for (x, y) in a.diagnostics.iter().zip(&b.diagnostics) {
            assert_eq!((x.code, &x.message), (y.code, &y.message), "json={json}");
            if json {
                lines.insert(y.location.as_ref().map(|l| l.line));
                if x.code == Code::CertificateUnparseable {
                    assert!(line_of(&list, y).starts_with("\"tls.crt\""), "{y:?}");
                }
            } else {
                assert_eq!(line_of(&stream, x), line_of(&list, y), "{x:?}\n{y:?}");
                for (rx, ry) in x.related.iter().zip(&y.related) {
                    let (rx, ry) = (&rx.location, &ry.location);
                    let at = |text: &str, l: &Option<synroute::diag::Location>| {
                        let d = synroute::diag::Diagnostic {
                            location: l.clone(),
                            ..x.clone()
                        };
                        line_of(text, &d)
                    };
                    assert_eq!(at(&stream, rx), at(&list, ry), "{x:?}\n{y:?}");
                }
            }
        }
        if json {
            assert!(lines.len() > 30, "{lines:?}");
        }
    }
}
