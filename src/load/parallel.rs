//! Work spread over the cores: an ordered map on a rayon pool of `--jobs`
//! threads (`parallel_map`), and one job run beside another (`beside`).
//! Used by loading, locating and the render; it knows nothing of
//! manifests.

use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;

/// `--jobs N`: N threads, 0 meaning one per core. Counting the cores
/// reads the process's cgroup files (a dozen system calls): callers
/// resolve once, not per file or per document.
pub fn resolve_jobs(jobs: usize) -> usize {
    if jobs == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        jobs
    }
}

/// Runs `other` on a thread of its own while this thread runs `here`, with
/// more than one job (resolved: 0 counts as one here); with one, `here`
/// and then `other` on this thread. A panic of `other` is raised again
/// here. For serial stages that can go side by side.
pub(crate) fn beside<A: Send, B>(
    jobs: usize,
    other: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B,
) -> (A, B) {
    if jobs > 1 {
        std::thread::scope(|scope| {
            let handle = scope.spawn(other);
            let b = here();
            let a = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (a, b)
        })
    } else {
        let b = here();
        (other(), b)
    }
}

/// Maps `f` over `items` on `jobs` threads (0: every core); the results
/// keep the items' order. Rayon's work stealing balances the load: a job
/// that finishes early takes half of what another has left, so an item
/// far costlier than the rest (one large List, one huge Secret) keeps only
/// its own thread busy. A pool per job count is made once and kept.
pub fn parallel_map<T, R, F>(items: &[T], jobs: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    // One item needs no thread, nor the cores counted.
    let jobs = if items.len() < 2 {
        1
    } else {
        resolve_jobs(jobs)
    };
    match pool(jobs) {
        Some(pool) if jobs > 1 => {
            let f = &f;
            pool.install(|| items.par_iter().map(f).collect())
        }
        _ => items.iter().map(f).collect(),
    }
}

/// The pool of `jobs` threads, made on first use. None when the threads
/// cannot be started: the caller maps on its own thread.
fn pool(jobs: usize) -> Option<Arc<rayon::ThreadPool>> {
    static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());
    if jobs <= 1 {
        return None;
    }
    let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, pool)) = pools.iter().find(|(n, _)| *n == jobs) {
        return Some(Arc::clone(pool));
    }
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .thread_name(|i| format!("synroute-{i}"))
            .build()
            .ok()?,
    );
    pools.push((jobs, Arc::clone(&pool)));
    Some(pool)
}
