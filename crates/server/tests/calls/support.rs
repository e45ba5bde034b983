//! A Switchboard server process on a virtual clock with a real SQLite file, a webhook receiver on loopback
//! standing in for the bot's callback endpoint, and the bot's side: tokens, Graph requests, `/_sim` requests.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, State, connect_info::IntoMakeServiceWithConnectInfo},
    http::{HeaderMap, StatusCode, Uri, Version},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{
    process::{Running, launch},
    small_disk::SmallDisk,
};

pub(crate) const DEV_TENANT: &str = "5b1ed0c5-0000-4000-8000-000000000001";
pub(crate) const DEV_APP: &str = "5b1ed0c5-0000-4000-8000-0000000000a1";
pub(crate) const DEV_SECRET: &str = "switchboard-dev-secret-do-not-use-in-production";

/// The admin key of servers in production mode.
pub(crate) const ADMIN_KEY: &str = "test-admin-key-7f3a9c2e5b8d1064";

/// How long a test waits for a notification before it fails: generous, since nothing is timed against it.
const PATIENCE: Duration = Duration::from_secs(20);

/// The `joinMeetingIdMeetingInfo` of a simulated meeting.
pub(crate) fn join_meeting_id(meeting: &Value) -> Value {
    json!({"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo", "joinMeetingId": meeting["joinMeetingId"]})
}

/// A POST as the receiver got it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    /// The first `commsNotification` of the body (Switchboard sends one per POST unless batching is on).
    pub(crate) notification: Value,
    pub(crate) body: Value,
    /// Where the POST came from: one address per connection.
    pub(crate) remote: SocketAddr,
    pub(crate) version: Version,
}

impl Received {
    pub(crate) fn change_type(&self) -> &str {
        self.notification["changeType"].as_str().unwrap_or_default()
    }

    pub(crate) fn resource_url(&self) -> &str {
        self.notification["resourceUrl"].as_str().unwrap_or_default()
    }

    pub(crate) fn data(&self) -> &Value {
        &self.notification["resourceData"]
    }

    pub(crate) fn state(&self) -> &str {
        self.data()["state"].as_str().unwrap_or_default()
    }

    /// `resultInfo` as (code, subcode).
    pub(crate) fn result(&self) -> Option<(i64, i64)> {
        let result = &self.data()["resultInfo"];
        Some((result["code"].as_i64()?, result["subcode"].as_i64()?))
    }

    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// A short form for assertions: `updated establishing`, `deleted terminated`, `updated participants`.
    pub(crate) fn summary(&self) -> String {
        if self.resource_url().ends_with("/participants") {
            return format!("{} participants", self.change_type());
        }
        if self.resource_url().contains("/operations/") {
            return format!("{} operation {}", self.change_type(), self.data()["status"].as_str().unwrap_or_default());
        }
        let mut summary = format!("{} {}", self.change_type(), self.state());
        if let Some(audio) = self.data()["mediaState"]["audio"].as_str() {
            summary.push_str(&format!(" audio {audio}"));
        }
        // What live Graph tells about a peer-to-peer call's conversation once media flows.
        if self.data().get("replacesContext").is_some() {
            summary.push_str(" chat");
            if self.data()["meetingInfo"]["@odata.type"] == "#microsoft.graph.tokenMeetingInfo" {
                summary.push_str(" token");
            }
        }
        summary
    }
}

/// The notifications of a peer-to-peer call with a simulated user until it is established with media and its
/// conversation announced: establishing, established, audio active, its chat, its token (observed shapes).
pub(crate) const USER_CALL_SETUP: [&str; 5] = [
    "updated establishing",
    "updated established",
    "updated established audio active",
    "updated established audio active chat",
    "updated established audio active chat token",
];

/// How the receiver answers one POST.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) status: u16,
    /// Waits this long before answering (the POST is recorded on arrival).
    pub(crate) delay: Duration,
    /// A header of the answer (`Retry-After`, `Location` …).
    pub(crate) header: Option<(&'static str, String)>,
}

impl Planned {
    pub(crate) fn status(status: u16) -> Planned {
        Planned { status, delay: Duration::ZERO, header: None }
    }

    pub(crate) fn with_header(status: u16, name: &'static str, value: &str) -> Planned {
        Planned { header: Some((name, value.to_owned())), ..Planned::status(status) }
    }
}

/// The bot's webhook: records every POST and answers each as planned (202 once the plan is used up).
pub(crate) struct Receiver {
    pub(crate) url: String,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Received>>,
    plan: Arc<Mutex<VecDeque<Planned>>>,
}

#[derive(Clone)]
struct ReceiverState {
    sender: mpsc::UnboundedSender<Received>,
    plan: Arc<Mutex<VecDeque<Planned>>>,
}

async fn receive(
    State(state): State<ReceiverState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    version: Version,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let planned = state.plan.lock().unwrap().pop_front().unwrap_or(Planned::status(202));
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let notification = body["value"][0].clone();
    let _ = state.sender.send(Received { path: uri.path().to_owned(), headers, notification, body, remote, version });
    if !planned.delay.is_zero() {
        tokio::time::sleep(planned.delay).await;
    }
    let status = StatusCode::from_u16(planned.status).unwrap();
    match planned.header {
        Some((name, value)) => (status, [(name, value)]).into_response(),
        None => status.into_response(),
    }
}

/// A certificate for `127.0.0.1` and the CA that issued it, as PEM.
pub(crate) struct TestCertificate {
    pub(crate) ca_pem: String,
    chain_pem: String,
    key_pem: String,
}

impl TestCertificate {
    pub(crate) fn issue() -> TestCertificate {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&key, &issuer).unwrap();
        TestCertificate { chain_pem: format!("{}{ca_pem}", leaf.pem()), key_pem: key.serialize_pem(), ca_pem }
    }
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        Receiver::start_at("127.0.0.1:0".parse().unwrap()).await
    }

    /// On a given address (one a test reserved while the receiver was "down").
    pub(crate) async fn start_at(address: SocketAddr) -> Receiver {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (receiver, app) = Receiver::new(url);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    /// Over https (with ALPN offering HTTP/2), with `certificate`.
    pub(crate) async fn start_tls(certificate: &TestCertificate) -> Receiver {
        use axum_server::tls_rustls::RustlsConfig;
        let config = RustlsConfig::from_pem(
            certificate.chain_pem.clone().into_bytes(),
            certificate.key_pem.clone().into_bytes(),
        )
        .await
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let (receiver, app) = Receiver::new(url);
        tokio::spawn(async move { axum_server::from_tcp_rustls(listener, config).unwrap().serve(app).await.unwrap() });
        receiver
    }

    fn new(url: String) -> (Receiver, IntoMakeServiceWithConnectInfo<Router, SocketAddr>) {
        let (sender, events) = mpsc::unbounded_channel();
        let plan = Arc::new(Mutex::new(VecDeque::new()));
        let app = Router::new().fallback(receive).with_state(ReceiverState { sender, plan: plan.clone() });
        let receiver = Receiver { url, events: tokio::sync::Mutex::new(events), plan };
        (receiver, app.into_make_service_with_connect_info::<SocketAddr>())
    }

    /// An address nothing listens on, for a receiver that is down: connections to it are refused.
    pub(crate) fn reserve_address() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
    }

    /// The statuses the next POSTs get, in order.
    pub(crate) fn answer_next_with(&self, statuses: &[u16]) {
        self.plan(statuses.iter().map(|s| Planned::status(*s)));
    }

    /// How the next POSTs are answered, in order.
    pub(crate) fn plan(&self, answers: impl IntoIterator<Item = Planned>) {
        self.plan.lock().unwrap().extend(answers);
    }

    /// The next notification, waiting for it to arrive.
    pub(crate) async fn next(&self) -> Received {
        let mut events = self.events.lock().await;
        match tokio::time::timeout(PATIENCE, events.recv()).await {
            Ok(Some(received)) => received,
            _ => panic!("no notification arrived within {PATIENCE:?}"),
        }
    }

    /// Whatever has arrived and not been taken yet.
    pub(crate) async fn drain(&self) -> Vec<Received> {
        let mut events = self.events.lock().await;
        let mut all = Vec::new();
        while let Ok(received) = events.try_recv() {
            all.push(received);
        }
        all
    }

    /// The next `n` notifications.
    pub(crate) async fn take(&self, n: usize) -> Vec<Received> {
        let mut all = Vec::new();
        for _ in 0..n {
            all.push(self.next().await);
        }
        all
    }

    /// Summaries of the next `n` notifications.
    pub(crate) async fn summaries(&self, n: usize) -> Vec<String> {
        self.take(n).await.iter().map(Received::summary).collect()
    }
}

/// What a participant heard, analysed by the server in 100 ms windows.
#[derive(Debug)]
pub(crate) struct Heard(pub(crate) Value);

impl Heard {
    fn windows(&self) -> &[Value] {
        self.0["windows"].as_array().map(Vec::as_slice).unwrap_or_default()
    }

    /// The windows whose dominant frequency is within 5 Hz of `hz`, as (start, end) ms spans merged.
    pub(crate) fn spans_of(&self, hz: f64) -> Vec<(u64, u64)> {
        let mut spans: Vec<(u64, u64)> = Vec::new();
        for window in self.windows() {
            let at = window["atMs"].as_u64().unwrap();
            if window["dominantHz"].as_f64().is_some_and(|f| (f - hz).abs() < 5.0) {
                match spans.last_mut() {
                    Some(span) if span.1 == at => span.1 = at + 100,
                    _ => spans.push((at, at + 100)),
                }
            }
        }
        spans
    }

    /// How long (ms) something at `hz` was heard.
    pub(crate) fn ms_of(&self, hz: f64) -> u64 {
        self.spans_of(hz).iter().map(|(from, to)| to - from).sum()
    }

    /// How long (ms) anything above −45 dBFS was heard.
    pub(crate) fn ms_audible(&self) -> u64 {
        self.windows().iter().filter(|w| w["levelDbfs"].as_f64().is_some_and(|l| l > -45.0)).count() as u64 * 100
    }

    pub(crate) fn keys(&self) -> String {
        self.0["keys"].as_array().unwrap().iter().map(|k| k["key"].as_str().unwrap()).collect()
    }
}

/// A reply to a request.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, headers, body }
    }

    pub(crate) fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub(crate) fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    pub(crate) fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "{}", self.body);
        self
    }
}

/// The server and the bot.
pub(crate) struct Harness {
    pub(crate) server: Option<Running>,
    pub(crate) base: String,
    pub(crate) receiver: Receiver,
    pub(crate) token: String,
    pub(crate) http: reqwest::Client,
    /// Sent with control requests (`/_sim`, `/_admin`, `/metrics`) outside dev mode.
    admin_key: Option<String>,
    /// The app whose token `token` is (the dev app in dev mode).
    pub(crate) tenant: String,
    pub(crate) app: String,
    app_secret: String,
    data_dir: PathBuf,
    /// The data directory's own small disk, when the test has given it one; the server runs in its namespace.
    disk: Option<SmallDisk>,
    _directory: tempfile::TempDir,
}

impl Harness {
    /// A server in dev mode on a virtual clock; the dev app's calling webhook is the receiver's `/incoming`.
    pub(crate) async fn start() -> Harness {
        Harness::start_with_config("").await
    }

    /// With these lines in the configuration file.
    pub(crate) async fn start_with_config(config: &str) -> Harness {
        Harness::start_in(tempfile::tempdir().unwrap(), config, None).await
    }

    /// With the data directory on a disk of its own of `size` (`1m`, `64m` …), which the test can fill up, give
    /// space back to and make read-only through [`Harness::disk`].
    pub(crate) async fn start_on_small_disk(size: &str) -> Harness {
        let directory = tempfile::tempdir().unwrap();
        let disk = SmallDisk::mount(&directory.path().join("data"), size);
        Harness::start_in(directory, "", Some(disk)).await
    }

    async fn start_in(directory: tempfile::TempDir, config: &str, disk: Option<SmallDisk>) -> Harness {
        let harness = Harness::launch(directory, config, disk, Receiver::start().await, None).await;
        let webhook = json!({"callingWebhook": format!("{}/incoming", harness.receiver.url)});
        harness.send("PATCH", &format!("/_admin/apps/{DEV_APP}"), Some(&webhook), None).await.expect(200);
        harness
    }

    /// A server in production mode (admin key [`ADMIN_KEY`]) on a virtual clock, with these lines in its
    /// configuration file, and a tenant with an app of every calls permission whose calling webhook is
    /// `receiver`'s `/incoming`; `token` is that app's.
    pub(crate) async fn start_production(config: &str, receiver: Receiver) -> Harness {
        let config = format!("mode = \"production\"\nadmin_key = \"{ADMIN_KEY}\"\n{config}");
        let mut harness =
            Harness::launch(tempfile::tempdir().unwrap(), &config, None, receiver, Some(ADMIN_KEY.to_owned())).await;
        let tenant = harness.send("POST", "/_admin/tenants", Some(&json!({"displayName": "Contoso"})), None).await;
        harness.tenant = tenant.expect(201).body["tenantId"].as_str().unwrap().to_owned();
        let app = json!({
            "tenantId": harness.tenant, "displayName": "Bot", "permissions": CALLS_PERMISSIONS,
            "callingWebhook": format!("{}/incoming", harness.receiver.url),
        });
        let added = harness.send("POST", "/_admin/apps", Some(&app), None).await.expect(201).body;
        harness.app = added["app"]["appId"].as_str().unwrap().to_owned();
        harness.app_secret = added["secret"]["value"].as_str().unwrap().to_owned();
        harness.token = harness.token_for(&harness.tenant, &harness.app, &harness.app_secret).await;
        harness
    }

    async fn launch(
        directory: tempfile::TempDir,
        config: &str,
        disk: Option<SmallDisk>,
        receiver: Receiver,
        admin_key: Option<String>,
    ) -> Harness {
        let data_dir = directory.path().join("data");
        std::fs::write(directory.path().join("switchboard.toml"), config).unwrap();
        let server = start_server(disk.as_ref(), &data_dir, directory.path()).unwrap_or_else(|(status, stderr)| {
            panic!("the server ended ({status}): {stderr}");
        });
        let base = server.base.clone();
        let production = admin_key.is_some();
        let mut harness = Harness {
            server: Some(server),
            base,
            receiver,
            token: String::new(),
            http: reqwest::Client::new(),
            admin_key,
            tenant: DEV_TENANT.to_owned(),
            app: DEV_APP.to_owned(),
            app_secret: DEV_SECRET.to_owned(),
            data_dir,
            disk,
            _directory: directory,
        };
        if !production {
            harness.token = harness.token_for(DEV_TENANT, DEV_APP, DEV_SECRET).await;
        }
        harness
    }

    /// Stops the server (SIGTERM) and starts it again on the same data directory.
    pub(crate) async fn restart(&mut self) {
        let (status, stderr) = self.server.take().unwrap().terminate();
        assert!(status.success(), "{stderr}");
        self.start_again().await;
    }

    /// Kills the server (SIGKILL, as a crash would) and starts it again on the same data directory.
    pub(crate) async fn crash_and_restart(&mut self) {
        self.server.take().unwrap().kill();
        self.start_again().await;
    }

    async fn start_again(&mut self) {
        self.try_start_again().await.unwrap_or_else(|(status, stderr)| panic!("the server ended ({status}): {stderr}"));
    }

    /// Stops the server (SIGTERM) and leaves it stopped.
    pub(crate) fn stop(&mut self) {
        let (status, stderr) = self.server.take().unwrap().terminate();
        assert!(status.success(), "{stderr}");
    }

    /// Starts the stopped server again on the same data directory; its exit status and stderr if it ended instead.
    pub(crate) async fn try_start_again(&mut self) -> Result<(), (std::process::ExitStatus, String)> {
        let cwd = self._directory.path().to_owned();
        let server = start_server(self.disk.as_ref(), &self.data_dir, &cwd)?;
        self.base = server.base.clone();
        self.server = Some(server);
        // The new port is a new issuer: tokens of the old one are refused, as they should be.
        self.token = self.token_for(&self.tenant, &self.app, &self.app_secret).await;
        Ok(())
    }

    /// A gauge of the server's `/metrics`.
    pub(crate) async fn gauge(&self, name: &str) -> f64 {
        let metrics = self.http.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap();
        let line = metrics.lines().find(|line| line.split(' ').next() == Some(name));
        line.and_then(|line| line.split(' ').nth(1))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
            .parse()
            .unwrap()
    }

    /// The server's data directory.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The data directory's disk (for a harness started with [`Harness::start_on_small_disk`]).
    pub(crate) fn disk(&self) -> &SmallDisk {
        self.disk.as_ref().expect("the harness was started on a small disk")
    }

    /// `switchboard check` on the data directory on its small disk; (success, stdout + stderr).
    pub(crate) fn check_data_dir(&self) -> (bool, String) {
        let args = ["check", "--data-dir", self.data_dir.to_str().unwrap()];
        let (status, stdout, stderr) = self.disk().run(crate::process::BINARY, &args);
        (status.success(), format!("{stdout}{stderr}"))
    }

    pub(crate) fn callback(&self) -> String {
        format!("{}/callback", self.receiver.url)
    }

    /// Registers another app in `tenant` with `permissions` through `/_admin`; returns a Graph token for it.
    pub(crate) async fn another_app(&self, tenant: &str, name: &str, permissions: &[&str]) -> String {
        let app = json!({"tenantId": tenant, "displayName": name, "permissions": permissions});
        let added = self.send("POST", "/_admin/apps", Some(&app), None).await.expect(201).body;
        self.token_for(tenant, added["app"]["appId"].as_str().unwrap(), added["secret"]["value"].as_str().unwrap())
            .await
    }

    pub(crate) async fn token_for(&self, tenant: &str, app: &str, secret: &str) -> String {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", app),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.base);
        let response = self.http.post(url).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn send(&self, method: &str, path: &str, body: Option<&Value>, token: Option<&str>) -> Reply {
        let mut request = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        let control = ["/_sim", "/_admin", "/metrics"].iter().any(|root| path.starts_with(root));
        if let Some(token) = token.or(self.admin_key.as_deref().filter(|_| control)) {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    /// A Graph request of the dev app.
    pub(crate) async fn graph(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.send(method, path, body, Some(&self.token)).await
    }

    /// A `/_sim` request.
    pub(crate) async fn sim(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.send(method, &format!("/_sim{path}"), body, None).await
    }

    pub(crate) async fn advance(&self, seconds: f64) {
        self.sim("POST", "/clock/advance", Some(&json!({"seconds": seconds}))).await.expect(200);
    }

    /// Adds a simulated user; returns its id.
    pub(crate) async fn user(&self, name: &str, behaviour: Value) -> String {
        self.add_user(json!({"displayName": name, "behaviour": behaviour})).await
    }

    /// Adds a simulated guest (from outside the organization, held in meeting lobbies); returns its id.
    pub(crate) async fn guest(&self, name: &str) -> String {
        self.add_user(json!({"displayName": name, "guest": true})).await
    }

    async fn add_user(&self, user: Value) -> String {
        self.sim("POST", "/users", Some(&user)).await.expect(201).body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a call with `body` through the Graph API `version` (`v1.0`, `beta`); returns its id.
    pub(crate) async fn place(&self, version: &str, body: &Value) -> String {
        let reply = self.graph("POST", &format!("/{version}/communications/calls"), Some(body)).await;
        reply.expect(201).body["id"].as_str().unwrap().to_owned()
    }

    /// Places a peer-to-peer call from the dev app to `target` (an identity set); returns the 201's body.
    pub(crate) async fn call(&self, target: Value) -> Value {
        let reply = self.graph("POST", "/v1.0/communications/calls", Some(&self.call_body(vec![target]))).await;
        reply.expect(201).body
    }

    /// A simulated meeting organized by `organizer` (its only attendee).
    pub(crate) async fn meeting(&self, organizer: &str) -> Value {
        let body = json!({"organizerId": organizer, "attendees": [{"userId": organizer}]});
        self.sim("POST", "/meetings", Some(&body)).await.expect(201).body
    }

    /// A request to join a meeting, answered at the receiver's `/callback`.
    pub(crate) fn join_body(&self, meeting_info: Value, chat_info: Option<Value>) -> Value {
        let mut body = json!({
            "@odata.type": "#microsoft.graph.call",
            "callbackUri": self.callback(),
            "requestedModalities": ["audio"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
            "meetingInfo": meeting_info,
            "tenantId": DEV_TENANT,
        });
        if let Some(chat_info) = chat_info {
            body["chatInfo"] = chat_info;
        }
        body
    }

    pub(crate) fn call_body(&self, targets: Vec<Value>) -> Value {
        let targets: Vec<Value> = targets
            .into_iter()
            .map(|identity| json!({"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": identity}))
            .collect();
        json!({
            "@odata.type": "#microsoft.graph.call",
            "callbackUri": self.callback(),
            "targets": targets,
            "requestedModalities": ["audio"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        })
    }

    /// A simulated user calls the dev app; returns the incoming notification and the call id.
    pub(crate) async fn incoming_from(&self, user: &str) -> (Received, String) {
        let body = json!({"from": {"user": {"id": user}}, "appId": DEV_APP});
        self.sim("POST", "/calls", Some(&body)).await.expect(201);
        let incoming = self.receiver.next().await;
        assert_eq!(incoming.change_type(), "created", "{:?}", incoming.notification);
        let id = incoming.data()["id"].as_str().unwrap().to_owned();
        (incoming, id)
    }

    /// The simulation's view of a call (`/_sim/calls/{id}`, a `CallView`).
    pub(crate) async fn inspect(&self, call_id: &str) -> Value {
        self.sim("GET", &format!("/calls/{call_id}"), None).await.expect(200).body
    }

    /// The notification journal of a call.
    pub(crate) async fn journal(&self, call_id: &str) -> Vec<Value> {
        let reply = self.sim("GET", &format!("/notifications?callId={call_id}"), None).await.expect(200);
        reply.body["value"].as_array().unwrap().clone()
    }

    /// The journal of a call once no delivery is pending: the dispatcher records an attempt after the bot
    /// answered, so a test that saw the POST waits for the record.
    pub(crate) async fn settled_journal(&self, call_id: &str) -> Vec<Value> {
        self.journal_until(call_id, |journal| journal.iter().all(|n| n["status"] != "pending")).await
    }

    /// The journal of a call once `ready` holds for it (deliveries happen on their own time, not the test's).
    pub(crate) async fn journal_until(&self, call_id: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let journal = self.journal(call_id).await;
            if ready(&journal) {
                return journal;
            }
            assert!(tokio::time::Instant::now() < deadline, "the journal never got there: {journal:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A journal entry once it has `n` delivery attempts.
    pub(crate) async fn journal_until_attempts(&self, seq: &Value, n: usize) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let entry = self.journal_entry(seq).await;
            if entry["deliveryAttempts"].as_array().is_some_and(|a| a.len() >= n) {
                return entry;
            }
            assert!(tokio::time::Instant::now() < deadline, "never {n} attempts: {entry}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Uploads a tone as a media file (for prompts, or for simulated people to say); returns its URL.
    pub(crate) async fn upload_tone(&self, name: &str, hz: f64, ms: u64) -> String {
        let wav = switchboard_media::codec::wav(switchboard_media::synth::tone(hz, ms).samples());
        let url = format!("{}/_sim/media/{name}", self.base);
        let response = self.http.put(&url).body(wav).send().await.unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        url
    }

    /// The analysis of what `who` heard in a call (all of it).
    pub(crate) async fn heard(&self, call_id: &str, who: &str) -> Heard {
        Heard(self.sim("GET", &format!("/calls/{call_id}/participants/{who}/heard"), None).await.expect(200).body)
    }

    /// One journal entry with its delivery attempts.
    pub(crate) async fn journal_entry(&self, seq: &Value) -> Value {
        self.sim("GET", &format!("/notifications/{seq}"), None).await.expect(200).body
    }
}

/// The server, with `switchboard.toml` of `cwd` as its configuration file, in `disk`'s namespace if there is one.
fn start_server(
    disk: Option<&SmallDisk>,
    data_dir: &Path,
    cwd: &Path,
) -> Result<Running, (std::process::ExitStatus, String)> {
    // Absolute: `nsenter` starts the server in its target's working directory.
    let config = cwd.join("switchboard.toml");
    let args = ["--config", config.to_str().unwrap(), "--data-dir", data_dir.to_str().unwrap(), "--clock", "virtual"];
    launch(&disk.map(SmallDisk::launcher).unwrap_or_default(), &args, &[], cwd)
}

/// Every application permission of the calls API.
pub(crate) const CALLS_PERMISSIONS: [&str; 5] = [
    "Calls.AccessMedia.All",
    "Calls.Initiate.All",
    "Calls.InitiateGroupCall.All",
    "Calls.JoinGroupCall.All",
    "Calls.JoinGroupCallAsGuest.All",
];

pub(crate) fn user_identity(id: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.identitySet", "user": {"@odata.type": "#microsoft.graph.identity", "id": id}})
}

pub(crate) fn answers_after(ms: u64) -> Value {
    json!({"response": {"kind": "answer", "afterMs": ms}})
}
