//! How long `Shape::of` takes over every document of one YAML file, on one
//! core: `cargo run --profile profiling --example shapebench -- FILE` (for instance
//! `target/bench-corpus/apps-50000.yaml`, which `--example bench` writes).
//! Documents are cut at `---` lines; prints the median and the fastest of
//! seven runs, and the bytes the shapes hold.

use std::time::Instant;

const RUNS: usize = 7;

fn main() -> std::io::Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: shapebench FILE");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(path)?;
    let docs: Vec<&str> = text.split("\n---\n").collect();
    let mut times = Vec::with_capacity(RUNS);
    let mut bytes = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        bytes = docs
            .iter()
            .map(|d| synroute::load::Shape::of(d).len())
            .sum::<usize>();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let (median, fastest) = (times[RUNS / 2], times[0]);
    println!(
        "{} documents, shapes {bytes} bytes: median {median:.1} ms, fastest {fastest:.1} ms",
        docs.len()
    );
    Ok(())
}
