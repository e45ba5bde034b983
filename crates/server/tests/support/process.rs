//! `switchboard serve` as a child process on a free loopback port, as a user runs it.

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_switchboard");

pub(crate) struct Running {
    child: Child,
    pub(crate) base: String,
    stderr: Arc<Mutex<String>>,
}

/// Starts `switchboard serve` with `args` on a free port and waits for the banner's last line.
#[allow(dead_code, reason = "this file is shared by the test binaries; the call scenarios start servers with `launch`")]
pub(crate) fn serve(args: &[&str], envs: &[(&str, &str)], cwd: &Path) -> Running {
    launch(&[], args, envs, cwd).unwrap_or_else(|(status, stderr)| panic!("the server ended ({status}): {stderr}"))
}

/// `switchboard serve` (on a free loopback port unless `args` say `--listen`) run through `launcher` (a command that ends by running its arguments, as `nsenter` does);
/// the server, or its exit status and stderr if it ended before it listened.
pub(crate) fn launch(
    launcher: &[String],
    args: &[&str],
    envs: &[(&str, &str)],
    cwd: &Path,
) -> Result<Running, (std::process::ExitStatus, String)> {
    let mut command = match launcher.split_first() {
        Some((program, launcher_args)) => {
            let mut command = Command::new(program);
            command.args(launcher_args).arg(BINARY);
            command
        }
        None => Command::new(BINARY),
    };
    command.arg("serve");
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    let mut child = command
        .args(args)
        .env_remove("SWITCHBOARD_MODE")
        .env_remove("SWITCHBOARD_CLOCK")
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(base) = line.strip_prefix("Switchboard listening on ") {
                let _ = sender.send(base.to_owned());
            }
        }
    });
    // stderr is drained as it comes, so a chatty server never blocks on a full pipe.
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().unwrap();
    let sink = stderr.clone();
    let drained = std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    match receiver.recv_timeout(Duration::from_secs(30)) {
        Ok(base) => Ok(Running { child, base, stderr }),
        // stdout closed without a banner: the process ended.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let status = child.wait().unwrap();
            drained.join().unwrap();
            let stderr = stderr.lock().unwrap().clone();
            Err((status, stderr))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no banner; stderr: {}", stderr.lock().unwrap());
        }
    }
}

impl Running {
    /// The server's process id.
    #[allow(dead_code, reason = "this file is shared by the test binaries; the CLI tests need no pid")]
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A figure of the server's `/proc/<pid>/status`, in KiB: `VmRSS` (resident now), `VmHWM` (the peak).
    #[allow(dead_code, reason = "this file is shared by the test binaries; the CLI tests measure no memory")]
    pub(crate) fn memory_kib(&self, figure: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find_map(|l| l.strip_prefix(figure)?.strip_prefix(':')).unwrap();
        line.trim().trim_end_matches("kB").trim().parse().unwrap()
    }

    /// What the server logged so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and returns the exit status and stderr.
    pub(crate) fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        // The stderr thread ends with the pipe; give it the moment it needs to copy the last lines.
        for _ in 0..100 {
            if self.stderr().contains("stopped") || self.stderr().contains("switchboard:") {
                break;
            }
            std::thread::yield_now();
        }
        (status, self.stderr())
    }
}

impl Running {
    /// SIGKILL: the process ends at once, with no shutdown of any kind.
    #[allow(dead_code, reason = "this file is shared by the test binaries, and the CLI tests never crash the server")]
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
