//! A server process the bench starts, and a process's CPU time and memory, read from `/proc` (Linux).

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A `switchboard serve` this process started (dev mode, a data directory of its own); killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Server {
    /// `binary serve --listen <listen> --data-dir <data> <args>`, run through `launcher` (a command that ends by
    /// running its arguments, as `prlimit` does) if one is given; once it has printed its banner.
    pub(crate) fn start(
        launcher: &[String],
        binary: &Path,
        listen: &str,
        data: &Path,
        args: &[&str],
    ) -> Result<Server, String> {
        let mut command = match launcher.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data)
            .args(["--log", "warn"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(base) = line.strip_prefix("Switchboard listening on ") {
                return Ok(Server { child, base: base.trim().to_owned() });
            }
        }
        Err("the server exited before listening".into())
    }

    /// On a free port with a fresh data directory, allowed `nofile` open files.
    pub(crate) fn start_limited(binary: &Path, nofile: u64, args: &[&str]) -> Result<Server, String> {
        let data = std::env::temp_dir().join(format!("switchboard-bench-{}", uuid::Uuid::new_v4()));
        let launcher = ["prlimit".to_owned(), format!("--nofile={nofile}:{nofile}"), "--".to_owned()];
        Server::start(&launcher, binary, "127.0.0.1:0", &data, args)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A figure of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`), or 0.
pub(crate) fn memory_kib(pid: u32, figure: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let value = status.lines().find_map(|l| l.strip_prefix(figure)?.strip_prefix(':'));
    value.and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

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
    let rss_kib = memory_kib(pid, "VmRSS");
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
