//! Settings that would open the server to anyone are refused: an empty or guessable admin key stops the start, and
//! the well-known dev app (its secret is published) authenticates in dev mode only.

use serde_json::Value;

use crate::{
    process::launch,
    support::{ADMIN_KEY, DEV_APP, DEV_SECRET, DEV_TENANT, Harness},
};

#[tokio::test]
async fn an_empty_or_weak_admin_key_stops_the_start() {
    let cwd = tempfile::tempdir().unwrap();
    let production = ["--mode", "production", "--ephemeral"];
    let refused = |args: Vec<&str>, envs: Vec<(&str, &str)>| {
        let all: Vec<&str> = production.iter().copied().chain(args).collect();
        match launch(&[], &all, &envs, cwd.path()) {
            Ok(_) => panic!("the server started with {all:?} {envs:?}"),
            Err((status, stderr)) => {
                assert_eq!(status.code(), Some(1), "{stderr}");
                stderr
            }
        }
    };
    assert!(
        refused(vec!["--admin-key", ""], vec![]).contains("admin key (--admin-key, SWITCHBOARD_ADMIN_KEY) is empty")
    );
    assert!(refused(vec![], vec![("SWITCHBOARD_ADMIN_KEY", "")]).contains("is empty"));
    assert!(refused(vec![], vec![("SWITCHBOARD_ADMIN_KEY", "   ")]).contains("is empty"));
    assert!(refused(vec!["--admin-key", "letmein"], vec![]).contains("is too weak"));
    assert!(refused(vec!["--admin-key", "aaaaaaaaaaaaaaaaaaaaaaaa"], vec![]).contains("is too weak"));
    let good = launch(&[], &[&production[..], &["--admin-key", ADMIN_KEY]].concat(), &[], cwd.path()).unwrap();
    let open = reqwest::get(format!("{}/_sim/clock", good.base)).await.unwrap();
    assert_eq!(open.status(), 401, "a good key guards the control APIs");
}

#[tokio::test]
async fn the_dev_app_left_in_a_data_directory_is_refused_in_production_mode() {
    let mut h = Harness::start().await;
    let dev_token = h.token.clone();
    h.stop();
    let data = h.data_dir().to_str().unwrap().to_owned();
    let cwd = tempfile::tempdir().unwrap();
    // The same address, so the dev-mode token's issuer is the production server's too.
    let listen = h.base.trim_start_matches("http://").to_owned();
    let args = ["--data-dir", &data, "--mode", "production", "--admin-key", ADMIN_KEY, "--listen", &listen];
    let production = launch(&[], &args, &[], cwd.path()).unwrap_or_else(|(_, stderr)| panic!("{stderr}"));
    let http = reqwest::Client::new();
    let graph = http
        .get(format!("{}/v1.0/communications/calls/00000000-0000-0000-0000-000000000000", production.base))
        .bearer_auth(&dev_token)
        .send()
        .await
        .unwrap();
    assert_eq!(graph.status(), 403, "the dev app's earlier token is refused");
    let body: Value = graph.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("dev app"), "{body}");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", DEV_APP),
        ("client_secret", DEV_SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let token =
        http.post(format!("{}/{DEV_TENANT}/oauth2/v2.0/token", production.base)).form(&form).send().await.unwrap();
    assert_eq!(token.status(), 400, "no new token for it");
    let body: Value = token.json().await.unwrap();
    assert_eq!((body["error"].as_str(), body["error_codes"][0].as_u64()), (Some("unauthorized_client"), Some(7000112)));
    assert!(production.stderr().contains("well-known dev app"), "the log says so: {}", production.stderr());
}
