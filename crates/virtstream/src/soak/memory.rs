//! This process's memory as Linux reports it (`/proc/self/status`): resident now and at peak.

/// Resident set sizes in bytes; `None` where the system did not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// `VmRSS`: resident now.
    pub rss: Option<u64>,
    /// `VmHWM`: the peak resident size so far.
    pub peak: Option<u64>,
}

/// Read `VmRSS` and `VmHWM` now.
pub fn sample() -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    Sample {
        rss: field(&status, "VmRSS:"),
        peak: field(&status, "VmHWM:"),
    }
}

/// Start a new peak: `VmHWM` restarts from the current RSS (`clear_refs` value 5, Linux ≥ 4.0),
/// so the peak read after a transfer is that transfer's own. Returns whether the kernel took it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `Name:   1234 kB` line's value in bytes.
fn field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix(name))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let status = "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n";
        assert_eq!(field(status, "VmRSS:"), Some(1 << 20));
        assert_eq!(field(status, "VmHWM:"), Some(2 << 20));
        assert_eq!(field(status, "VmSwap:"), None);
        assert!(sample().rss.is_some_and(|rss| rss > 0));
    }
}
