//! The `synroute` binary: hands the arguments and the standard streams to
//! `cli::run` and turns its answer into the exit code.

use std::process::ExitCode;

synroute::global_allocator!();

fn main() -> ExitCode {
    let code = synroute::cli::run(
        std::env::args_os(),
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}

#[cfg(all(test, not(target_env = "msvc")))]
mod tests {
    /// The options in `synroute::alloc::MALLOC_CONF` reach jemalloc: were
    /// the symbol misnamed, jemalloc would silently keep its defaults
    /// (a 10 s decay).
    #[test]
    fn jemalloc_reads_our_options() {
        let mut decay: isize = 0;
        let mut len = std::mem::size_of::<isize>();
        // SAFETY: a NUL-terminated name, and an output buffer of the size
        // `opt.dirty_decay_ms` (an ssize_t) has, with its length.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                c"opt.dirty_decay_ms".as_ptr(),
                (&raw mut decay).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(rc, 0);
        assert_eq!(decay, 100);
    }
}
