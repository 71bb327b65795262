//! Work spread over the cores: a list cut into pieces of about equal
//! weight, taken by scoped threads in turn, results kept in input order
//! (`parallel_map`), and one job run beside another (`beside`). Used by
//! loading, locating and the render; it knows nothing of manifests.

#[allow(unused_imports)]
use super::*;

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
/// keep the items' order. The items are cut into a few contiguous pieces
/// per job, of about equal `weight`, which the jobs take in turn as they
/// finish one: the weight is only an estimate (a Secret's bytes parse
/// faster than a Service's, a document left for the second pass is only
/// glanced at), and a job given the costlier pieces no longer keeps the
/// others waiting at the end.
pub fn parallel_map<T, R, W, F>(items: &[T], jobs: usize, weight: W, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    W: Fn(&T) -> usize,
    F: Fn(&T) -> R + Sync,
{
    const PIECES_PER_JOB: usize = 8;
    // One item needs no thread, nor the cores counted.
    let jobs = if items.len() < 2 {
        1
    } else {
        resolve_jobs(jobs)
    };
    if jobs <= 1 {
        return items.iter().map(f).collect();
    }
    let bounds = cut(items, jobs * PIECES_PER_JOB, weight);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (bounds, next, f) = (&bounds, &next, &f);
    let taken: Vec<Vec<(usize, Vec<R>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs.min(bounds.len() - 1))
            .map(|_| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&[start, end]) = bounds.get(i..i + 2) else {
                            break;
                        };
                        let piece = items.get(start..end).unwrap_or_default();
                        mine.push((i, piece.iter().map(f).collect::<Vec<R>>()));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut pieces: Vec<(usize, Vec<R>)> = taken.into_iter().flatten().collect();
    pieces.sort_unstable_by_key(|(i, _)| *i);
    let mut out = Vec::with_capacity(items.len());
    for (_, piece) in pieces {
        out.extend(piece);
    }
    out
}

/// The bounds of at most `pieces` contiguous runs of `items` of about
/// equal `weight`: `[0, .., items.len()]`, never an empty run.
pub(super) fn cut<T>(items: &[T], pieces: usize, weight: impl Fn(&T) -> usize) -> Vec<usize> {
    let total: usize = items.iter().map(&weight).sum();
    let share = total.div_ceil(pieces.max(1)).max(1);
    let mut bounds = vec![0];
    let mut acc = 0;
    for (i, item) in items.iter().enumerate() {
        acc += weight(item);
        if acc >= share * bounds.len() && bounds.len() < pieces && i + 1 < items.len() {
            bounds.push(i + 1);
        }
    }
    bounds.push(items.len());
    bounds
}
