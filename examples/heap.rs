//! Where the heap goes in one render, by part: counts every allocation
//! with a wrapping global allocator, runs the stages of `render` (`--jobs
//! 1`) and frees the results part by part, printing what each held:
//! `cargo run --profile profiling --example heap -- PATH`. Heap bytes asked for,
//! not resident memory (see `phases` and `bench` for RSS). What parts
//! share (origins, certificate PEM) is counted with the last part freed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static NOW: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static BLOCKS: AtomicIsize = AtomicIsize::new(0);
static CALLS: AtomicIsize = AtomicIsize::new(0);

fn grow(by: isize) {
    let now = NOW.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed on unchanged to the system allocator; only
// the sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        grow(l.size() as isize);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        grow(-(l.size() as isize));
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        grow(n as isize - l.size() as isize);
        CALLS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn mb(bytes: isize) -> f64 {
    bytes as f64 / 1e6
}

fn now() -> isize {
    NOW.load(Ordering::Relaxed)
}

/// Drops `value` and prints the heap it held.
fn freed<T>(what: &str, value: T) {
    let (before, blocks) = (now(), BLOCKS.load(Ordering::Relaxed));
    drop(value);
    println!(
        "  {what:<28} {:>7.1} MB in {:>8} blocks",
        mb(before - now()),
        blocks - BLOCKS.load(Ordering::Relaxed)
    );
}

/// Heap held and peak after each stage of the render, as `render_owned`
/// runs them (the input is its own copy, freed as it is).
fn stages(mut sources: Vec<synroute::Source>, opts: &synroute::Options) {
    let stage = |what: &str| {
        println!(
            "  after {what:<34} held {:>7.1} MB in {:>8} blocks, peak {:>7.1} MB, {:>9} allocations so far",
            mb(now()),
            BLOCKS.load(Ordering::Relaxed),
            mb(PEAK.load(Ordering::Relaxed)),
            CALLS.load(Ordering::Relaxed)
        )
    };
    println!("stages (the input copied first):");
    PEAK.store(now(), Ordering::Relaxed);
    stage("copying the input");
    let (mut loaded, mut pending) = synroute::load::load(&sources, opts, true);
    stage("the first pass");
    pending.keep_only(&mut sources);
    stage("keeping the second pass's text");
    let snap = &loaded.snapshot;
    let scope = synroute::translate::scope::scope(snap, opts);
    let lookup = synroute::model::Lookup::new(snap);
    let late = synroute::load::load_pending(
        pending,
        &sources,
        opts,
        |ing| synroute::translate::ingress::translate_alone(snap, &lookup, opts, ing),
        |route| synroute::translate::gateway::translate_alone(snap, &lookup, &scope, opts, route),
    );
    stage("the second pass");
    drop(sources);
    stage("freeing the input");
    let streamed = loaded.absorb(late, opts.jobs);
    stage("absorb");
    println!(
        "  (document shapes: {:.1} MB)",
        mb(loaded.shapes.bytes() as isize)
    );
    let tr = synroute::translate::translate(&loaded.snapshot, scope, streamed, opts);
    stage("translate");
    drop((loaded, tr));
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: heap PATH");
    let sources = synroute::cli::collect_sources(&[path], &[]).expect("read input");
    let input = now();
    println!("input {:.1} MB", mb(input));
    let opts = synroute::Options {
        jobs: 1,
        ..Default::default()
    };
    PEAK.store(input, Ordering::Relaxed);
    stages(sources.clone(), &opts);
    PEAK.store(now(), Ordering::Relaxed);
    let mut r = synroute::render(&sources, &opts);
    println!(
        "render: heap peak {:.1} MB, after {:.1} MB; held by its result:",
        mb(PEAK.load(Ordering::Relaxed)),
        mb(now())
    );
    freed("upstreams.yaml", std::mem::take(&mut r.upstreams));
    freed("route table", std::mem::take(&mut r.table));
    let s = &mut r.snapshot;
    freed("ingresses (metadata)", std::mem::take(&mut s.ingresses));
    freed("http routes (metadata)", std::mem::take(&mut s.http_routes));
    freed("services", std::mem::take(&mut s.services));
    freed("secrets", std::mem::take(&mut s.secrets));
    freed("rest of the snapshot", std::mem::take(&mut r.snapshot));
    freed("objects", std::mem::take(&mut r.objects));
    freed("diagnostics", std::mem::take(&mut r.diagnostics));
    freed("route status", std::mem::take(&mut r.route_status));
    freed("cert files and the rest", r);
    println!("left: {:.1} MB (the input)", mb(now()));
}
