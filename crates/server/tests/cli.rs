//! The `switchboard` binary as a user runs it.

#[path = "support/process.rs"]
mod process;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use process::{BINARY, Running, serve};

impl Running {
    async fn health(&self) -> serde_json::Value {
        let response = reqwest::get(format!("{}/healthz", self.base)).await.expect("healthz answers");
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
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

fn switchboard(args: &[&str]) -> serde_json::Value {
    let output = Command::new(BINARY).args(args).env_remove("SWITCHBOARD_MODE").output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the CLI prints JSON")
}

async fn token(base: &str, tenant: &str, app: &str, secret: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    reqwest::Client::new().post(format!("{base}/{tenant}/oauth2/v2.0/token")).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn apps_registered_with_the_cli_before_the_first_start_get_tokens() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let data = data.to_str().unwrap();
    let tenant = switchboard(&["tenant", "add", "Contoso", "--data-dir", data]);
    let tenant_id = tenant["tenantId"].as_str().unwrap().to_owned();
    let added = switchboard(&[
        "app",
        "add",
        "--tenant",
        &tenant_id,
        "--name",
        "IVR",
        "--grant",
        "Calls.Initiate.All,calls.accessmedia.all",
        "--data-dir",
        data,
    ]);
    let app_id = added["app"]["appId"].as_str().unwrap().to_owned();
    let secret = added["secret"]["value"].as_str().unwrap().to_owned();
    assert_eq!(added["app"]["permissions"], serde_json::json!(["Calls.AccessMedia.All", "Calls.Initiate.All"]));
    let listed = switchboard(&["app", "list", "--data-dir", data]);
    assert!(!listed.to_string().contains(&secret), "the secret is printed once, when created");

    let running = serve(&["--data-dir", data, "--mode", "production"], &[], directory.path());
    let issued = token(&running.base, &tenant_id, &app_id, &secret).await;
    assert_eq!(issued.status(), 200);
    let access: serde_json::Value = issued.json().await.unwrap();
    let access = access["access_token"].as_str().unwrap().to_owned();
    let graph = reqwest::Client::new()
        .get(format!("{}/v1.0/communications/calls/c1", running.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(graph.status(), 404, "authenticated and authorised; there is no call c1");

    // Rotating while the server runs: the server publishes and uses the new key, and the old token still works.
    let rotated = switchboard(&["keys", "rotate", "--data-dir", data]);
    let jwks: serde_json::Value =
        reqwest::get(format!("{}/common/discovery/v2.0/keys", running.base)).await.unwrap().json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2, "old and new keys: {kids:?}");
    assert!(kids.contains(&rotated["kid"].as_str().unwrap()));
    let fresh: serde_json::Value = token(&running.base, &tenant_id, &app_id, &secret).await.json().await.unwrap();
    let header = fresh["access_token"].as_str().unwrap().split('.').next().unwrap().to_owned();
    use base64::Engine;
    let header: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["kid"], rotated["kid"], "new tokens are signed with the new key");
    let graph = reqwest::Client::new()
        .get(format!("{}/v1.0/communications/calls/c1", running.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(graph.status(), 404, "the old token still works");

    let admin = reqwest::get(format!("{}/_admin/apps", running.base)).await.unwrap();
    assert_eq!(admin.status(), 401, "production mode without --admin-key closes /_admin");
    let (status, _) = running.terminate();
    assert!(status.success());
}

#[tokio::test]
async fn the_dev_banner_prints_working_credentials() {
    let directory = tempfile::tempdir().unwrap();
    let mut child = Command::new(BINARY)
        .args(["serve", "--ephemeral", "--listen", "127.0.0.1:0"])
        .env_remove("SWITCHBOARD_MODE")
        .current_dir(directory.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
    let banner: Vec<String> = lines.by_ref().take_while(|l| !l.starts_with("Switchboard listening on ")).collect();
    let value = |label: &str| {
        banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("{label} in {banner:?}"))
    };
    let token_url = value("token URL");
    let form = [
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", value("client id")),
        ("client_secret", value("client secret")),
        ("scope", "https://graph.microsoft.com/.default".to_owned()),
    ];
    let response = reqwest::Client::new().post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200, "the banner's credentials work as printed");
    let console = reqwest::get(value("Console")).await.unwrap();
    assert_eq!(console.status(), 200, "the banner names the console");
    assert!(console.text().await.unwrap().contains("<html"), "the console's page");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn check_finds_a_sound_database_sound_and_a_damaged_one_damaged() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let data_arg = data.to_str().unwrap();
    switchboard(&["tenant", "add", "Contoso", "--data-dir", data_arg]);
    let sound = switchboard(&["check", "--data-dir", data_arg]);
    assert_eq!(sound["problems"], serde_json::json!([]), "{sound}");

    // Garbage over a page in the middle of the file (the header stays intact, so SQLite opens it).
    let database = data.join("switchboard.sqlite");
    let mut bytes = std::fs::read(&database).unwrap();
    assert!(bytes.len() >= 8 * 4096, "the schema spans pages: {}", bytes.len());
    bytes[4 * 4096..5 * 4096].fill(0x5a);
    std::fs::write(&database, bytes).unwrap();
    let output = Command::new(BINARY).args(["check", "--data-dir", data_arg]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("damaged") && stderr.contains("restore"), "says what is wrong and what to do: {stderr}");
}
