//! A field of `/proc/self/status` in kB (0 where it cannot be read): the
//! memory figures the examples print (`VmHWM`, the peak; `VmRSS`, now).

pub fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The peak resident set of this process so far, in kB.
#[allow(dead_code)] // not every example that includes this file uses it
pub fn peak_rss_kb() -> u64 {
    status_kb("VmHWM")
}
