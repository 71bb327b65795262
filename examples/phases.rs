//! Times the stages of one render (load, translate, emit, whole render) on
//! a file or folder, `--jobs 1`: `cargo run --release --example phases -- PATH`.
//! For finding where time goes; `bench` is the benchmark.

use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("usage: phases PATH");
    let sources = synroute::cli::collect_sources(&[path], &[]).expect("read input");
    let opts = synroute::Options {
        jobs: 1,
        ..Default::default()
    };
    let t = Instant::now();
    let loaded = synroute::load::load(&sources, &opts);
    eprintln!("load {:?}", t.elapsed());
    let t = Instant::now();
    let tr = synroute::translate::translate(&loaded.snapshot, &opts);
    eprintln!(
        "translate {:?} ({} diags)",
        t.elapsed(),
        tr.diagnostics.len()
    );
    let t = Instant::now();
    let b = synroute::emit::upstreams::emit(&tr.table);
    eprintln!("emit {:?} ({} bytes)", t.elapsed(), b.len());
    let t = Instant::now();
    let r = synroute::render(&sources, &opts);
    eprintln!("render {:?} ({} diags)", t.elapsed(), r.diagnostics.len());
}
