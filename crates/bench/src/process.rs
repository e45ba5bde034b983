//! A server process's CPU time and memory, read from `/proc` (Linux).

use std::time::Duration;

/// CPU time used so far (user + system) and resident memory now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    pub(crate) cpu: Duration,
    pub(crate) rss_bytes: u64,
}

pub(crate) fn usage(pid: u32) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib: u64 =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Usage { cpu: Duration::from_millis(ticks * 10), rss_bytes: rss_kib * 1024 })
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_a_usage() {
        let usage = super::usage(std::process::id()).unwrap();
        assert!(usage.rss_bytes > 0);
    }
}
