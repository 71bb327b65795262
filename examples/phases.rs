//! Times the stages of one render (load, translate, emit, whole render) on
//! a file or folder, `--jobs 1`, with the resident memory after each:
//! `cargo run --profile profiling --example phases -- PATH`. For finding where time
//! and memory go; `bench` is the benchmark.

use std::time::Instant;

#[path = "support/proc_status.rs"]
mod proc_status;

fn rss_mb() -> f64 {
    proc_status::status_kb("VmRSS") as f64 / 1024.0
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: phases PATH");
    let sources = synroute::cli::collect_sources(&[path], &[]).expect("read input");
    eprintln!("read: {:.0} MB", rss_mb());
    let opts = synroute::Options {
        jobs: 1,
        ..Default::default()
    };
    let t = Instant::now();
    let (mut loaded, pending) = synroute::load::load(&sources, &opts, false);
    eprintln!("load, first pass {:?}: {:.0} MB", t.elapsed(), rss_mb());
    let t = Instant::now();
    let snap = &loaded.snapshot;
    let scope = synroute::translate::scope::scope(snap, &opts);
    let lookup = synroute::model::Lookup::new(snap);
    let late = synroute::load::load_pending(
        pending,
        &sources,
        &opts,
        |ing| synroute::translate::ingress::translate_alone(snap, &lookup, &opts, ing),
        |route| synroute::translate::gateway::translate_alone(snap, &lookup, &scope, &opts, route),
    );
    let streamed = loaded.absorb(late, opts.jobs);
    eprintln!(
        "load, second pass (Ingresses and HTTPRoutes translated as read) {:?}: {:.0} MB",
        t.elapsed(),
        rss_mb()
    );
    let t = Instant::now();
    let tr = synroute::translate::translate(&loaded.snapshot, scope, streamed, &opts);
    eprintln!(
        "translate (apply in order, certificates) {:?} ({} diags): {:.0} MB",
        t.elapsed(),
        tr.diagnostics.len(),
        rss_mb()
    );
    let t = Instant::now();
    let b = synroute::emit::upstreams::emit(&tr.table);
    eprintln!(
        "emit {:?} ({} bytes): {:.0} MB",
        t.elapsed(),
        b.len(),
        rss_mb()
    );
    drop((loaded, tr, b));
    let t = Instant::now();
    let r = synroute::render(&sources, &opts);
    eprintln!(
        "render {:?} ({} diags): {:.0} MB",
        t.elapsed(),
        r.diagnostics.len(),
        rss_mb()
    );
}
