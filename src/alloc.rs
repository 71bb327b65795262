//! The allocator the `synroute` binary and the benchmark run with:
//! jemalloc, which returns its unused pages to the system after 100 ms
//! (`dirty_decay_ms:100`, where jemalloc's default is 10 s).
//!
//! The render makes millions of small blocks on every core and frees most
//! of them in another order; glibc's malloc spent a fifth of the CPU time
//! sorting and coalescing its free lists. With jemalloc the 50k-app corpus
//! renders ~20% faster, and with the short decay its peak RSS is lower
//! too (the pages of the input read as many small files, freed after the
//! first pass, no longer stay resident; docs/performance.md). Only the
//! binaries choose it, with `global_allocator!()`: the library leaves the
//! choice to whoever links it.

#[cfg(not(target_env = "msvc"))]
pub use tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main` from the C string its
/// `malloc_conf` symbol points to (`_rjem_` is the prefix the -sys crate
/// gives its symbols).
pub const MALLOC_CONF: &[u8] = b"dirty_decay_ms:100\0";

/// Makes jemalloc, with `MALLOC_CONF`, the allocator of the binary that
/// invokes it at its root (nothing on MSVC, where jemalloc does not
/// build).
#[macro_export]
macro_rules! global_allocator {
    () => {
        #[cfg(not(target_env = "msvc"))]
        #[global_allocator]
        static GLOBAL: $crate::alloc::Jemalloc = $crate::alloc::Jemalloc;

        /// jemalloc reads its options from this symbol (a weak one of its
        /// own is replaced), a C string.
        #[cfg(not(target_env = "msvc"))]
        #[unsafe(export_name = "_rjem_malloc_conf")]
        static MALLOC_CONF: Option<&'static u8> = $crate::alloc::MALLOC_CONF.first();
    };
}
