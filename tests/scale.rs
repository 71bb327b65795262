//! Scale behaviour that can be asserted without timing: the output does not
//! depend on `--jobs`, and an error deep in a large file keeps its exact
//! location under parallel parsing. (Speed is measured by
//! `cargo run --release --example bench`, never asserted here.)

use synroute::synth::{Shape, corpus, corpus_files};
use synroute::{Options, Rendered, Source, render};

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
        apps: 300,
        padding: 1,
        json: false,
        seed: 7,
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

#[test]
fn a_malformed_document_deep_in_a_large_file_keeps_its_location() {
    let text = corpus(Shape {
        apps: 3000,
        padding: 2,
        json: false,
        seed: 3,
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
        let r = with_jobs(&[Source::new("big.yaml", broken.clone())], jobs);
        assert!(r.malformed);
        let errors: Vec<_> = r
            .diagnostics
            .iter()
            .filter(|d| d.code.id() == "SR1001")
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let loc = errors[0].location.as_ref().expect("located");
        assert_eq!(
            (loc.file.as_str(), loc.line, loc.column),
            ("big.yaml", line, Some(10)),
            "jobs={jobs}: {}",
            errors[0].concise()
        );
    }
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
