//! Peak memory of this process during one measurement.

use crate::engine::PeakMemory;

/// Start a fresh peak: on Linux, writing `5` to `/proc/self/clear_refs` resets the
/// resident-set high-water mark. Returns whether the platform supports it.
pub fn reset_peak() -> bool {
    cfg!(target_os = "linux") && std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The resident-set high-water mark since the last [`reset_peak`] (`VmHWM`), Linux only.
/// Mapped weight files count once their pages are touched.
pub fn read_peak(was_reset: bool) -> Option<PeakMemory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(PeakMemory {
        bytes: kib * 1024,
        method: if was_reset {
            "process-rss-hwm"
        } else {
            "process-rss-hwm-since-start"
        },
    })
}
