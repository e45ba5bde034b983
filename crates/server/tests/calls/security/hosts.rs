//! Dev mode on loopback answers requests addressed to loopback names only: a web page of another site that rebinds
//! its own name to 127.0.0.1 (DNS rebinding) cannot drive `/_sim` or `/_admin` from the developer's browser.

use crate::{
    process::launch,
    support::{ADMIN_KEY, Harness, Receiver},
};

async fn status_for_host(h: &Harness, path: &str, host: &str) -> u16 {
    let request = h.http.get(format!("{}{path}", h.base)).header("host", host).bearer_auth(&h.token);
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn dev_mode_on_loopback_refuses_other_host_names() {
    let h = Harness::start().await;
    let port = h.base.rsplit(':').next().unwrap().to_owned();
    for path in ["/_sim/clock", "/_admin/apps", "/v1.0/communications/calls/x", "/"] {
        assert_eq!(status_for_host(&h, path, &format!("evil.example:{port}")).await, 421, "{path}");
        assert_eq!(status_for_host(&h, path, "127.0.0.1.nip.io").await, 421, "{path}");
    }
    for host in
        [format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}"), "bot.localhost".into()]
    {
        assert_eq!(status_for_host(&h, "/_sim/clock", &host).await, 200, "{host}");
    }
    let refused = h.http.get(format!("{}/_sim/clock", h.base)).header("host", "evil.example").send().await.unwrap();
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "MisdirectedRequest", "a Graph-shaped error: {body}");
}

#[tokio::test]
async fn production_mode_answers_any_host_name() {
    let h = Harness::start_production("", Receiver::start().await).await;
    assert_eq!(status_for_host(&h, "/v1.0/communications/calls/x", "switchboard.contoso.com").await, 404);
    let sim =
        h.http.get(format!("{}/_sim/clock", h.base)).header("host", "switchboard.contoso.com").bearer_auth(ADMIN_KEY);
    assert_eq!(sim.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn dev_mode_beyond_loopback_says_loudly_that_it_is_open() {
    // In a network namespace of the test's own, where all addresses are this test's alone.
    let cwd = tempfile::tempdir().unwrap();
    let launcher = ["unshare", "--map-root-user", "--net", "--"].map(str::to_owned);
    let args = ["--listen", "0.0.0.0:0", "--ephemeral"];
    let server = launch(&launcher, &args, &[], cwd.path()).unwrap_or_else(|(_, stderr)| panic!("{stderr}"));
    assert!(server.stderr().contains("dev mode on a non-loopback address"), "{}", server.stderr());
}
