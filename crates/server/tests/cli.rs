//! The `switchboard` binary as a user runs it.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

const BINARY: &str = env!("CARGO_BIN_EXE_switchboard");

struct Running {
    child: Child,
    base: String,
}

/// Starts `switchboard serve` with `args` on a free port and waits for the banner's last line.
fn serve(args: &[&str], envs: &[(&str, &str)], cwd: &Path) -> Running {
    let mut child = Command::new(BINARY)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("SWITCHBOARD_MODE")
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
    match receiver.recv_timeout(Duration::from_secs(30)) {
        Ok(base) => Running { child, base },
        Err(_) => {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!("no banner; stderr: {}", String::from_utf8_lossy(&output.stderr));
        }
    }
}

impl Running {
    async fn health(&self) -> serde_json::Value {
        let response = reqwest::get(format!("{}/healthz", self.base)).await.expect("healthz answers");
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Sends SIGTERM and returns the exit status and stderr.
    fn terminate(self) -> (std::process::ExitStatus, String) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let output = self.child.wait_with_output().unwrap();
        (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn help_documents_every_subcommand_and_flag() {
    let output = Command::new(BINARY).arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for word in ["serve", "compat", "--config"] {
        assert!(help.contains(word), "--help mentions {word}:\n{help}");
    }
    let output = Command::new(BINARY).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--data-dir",
        "--ephemeral",
        "--mode",
        "--log-format",
        "--log ",
        "--shutdown-grace",
        "--max-body-bytes",
    ] {
        assert!(help.contains(flag), "serve --help documents {flag}:\n{help}");
    }
    assert!(help.contains("SWITCHBOARD_LISTEN"), "environment variables are named");
}

#[tokio::test]
async fn data_persists_across_restarts_and_sigterm_stops_cleanly() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let data_arg = data.to_str().unwrap();
    let first = serve(&["--data-dir", data_arg], &[], directory.path());
    let health = first.health().await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["devMode"], true, "dev mode by default");
    let instance = health["instanceId"].clone();
    let (status, stderr) = first.terminate();
    assert!(status.success(), "exit status {status:?}; stderr: {stderr}");
    assert!(stderr.contains("terminated; shutting down") && stderr.contains("stopped"), "{stderr}");
    assert!(data.join("switchboard.sqlite").exists(), "the database lives in the data directory");

    let second = serve(&["--data-dir", data_arg, "--log-format", "json"], &[], directory.path());
    assert_eq!(second.health().await["instanceId"], instance, "the same store after a restart");
    let (status, stderr) = second.terminate();
    assert!(status.success());
    let line = stderr.lines().find(|l| l.contains("listening")).expect("a listening log line");
    let parsed: serde_json::Value = serde_json::from_str(line).expect("JSON logs are JSON");
    assert_eq!(parsed["level"], "INFO");
}

#[tokio::test]
async fn ephemeral_writes_nothing_to_disk() {
    let directory = tempfile::tempdir().unwrap();
    let running = serve(&["--ephemeral"], &[], directory.path());
    assert_eq!(running.health().await["status"], "ok");
    running.terminate();
    assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 0, "no data directory was created");
}

#[tokio::test]
async fn the_config_file_is_overridden_by_environment_and_flags() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("switchboard.toml");
    std::fs::write(&config, "mode = \"production\"\nephemeral = true\n").unwrap();
    let config_arg = config.to_str().unwrap();

    let from_file = serve(&["--config", config_arg], &[], directory.path());
    assert_eq!(from_file.health().await["devMode"], false, "the file sets production mode");
    from_file.terminate();

    let from_env = serve(&["--config", config_arg], &[("SWITCHBOARD_MODE", "dev")], directory.path());
    assert_eq!(from_env.health().await["devMode"], true, "the environment beats the file");
    from_env.terminate();
}

#[test]
fn bad_settings_are_reported_before_starting() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("switchboard.toml");
    std::fs::write(&config, "mode = \"turbo\"\n").unwrap();
    let output = Command::new(BINARY).args(["serve", "--config", config.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("turbo"), "{stderr}");

    let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = occupied.local_addr().unwrap().to_string();
    let output = Command::new(BINARY)
        .args(["serve", "--ephemeral", "--listen", &address])
        .current_dir(directory.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("cannot listen on {address}")), "{stderr}");
}

#[test]
fn compat_prints_the_compatibility_table() {
    let output = Command::new(BINARY).arg("compat").output().unwrap();
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.starts_with("# Compatibility with the Microsoft Graph calling API"));
    assert!(table.contains("| POST | `/communications/calls/{call-id}/answer` |"));
}
