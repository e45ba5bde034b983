//! A Switchboard HTTP server on 127.0.0.1:0 with a SQLite file in a temporary directory, the identity service on a
//! manual clock, and a token for dev mode's well-known app obtained through the real token endpoint.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use serde_json::Value;
use switchboard_calls::{
    Calls, CallsConfig,
    clock::{ClockMode, SimulationClock},
    world::WorldConfig,
};
use switchboard_http::{AppState, HttpConfig, Shared, clock::ManualClock};
use switchboard_identity::{DEV_APP_ID, DEV_SECRET, DEV_TENANT_ID, Identity, IdentityConfig, NewApp};
use switchboard_store::{SqliteStore, Store};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use uuid::Uuid;

/// The tenant of the apps tests register.
pub(crate) const TEST_TENANT_ID: Uuid = uuid::uuid!("7e570000-0000-4000-8000-000000000001");

pub(crate) struct TestServer {
    pub(crate) base: String,
    pub(crate) store: Arc<SqliteStore>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) identity: Arc<Identity>,
    /// The node's calls runtime (its heartbeat, say).
    pub(crate) calls: Arc<Calls>,
    pub(crate) client: reqwest::Client,
    /// A token of the dev app (every calls permission); empty outside dev mode.
    pub(crate) token: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// Shared by the nodes on it.
    directory: Arc<tempfile::TempDir>,
}

/// What a node of a test server runs on.
struct Node {
    listener: TcpListener,
    base: String,
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    identity: Arc<Identity>,
    directory: Arc<tempfile::TempDir>,
}

pub(crate) struct Options {
    pub(crate) dev_mode: bool,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_requests_in_flight: usize,
    pub(crate) admin_key: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options { dev_mode: true, max_body_bytes: 4 * 1024 * 1024, max_requests_in_flight: 1024, admin_key: None }
    }
}

impl TestServer {
    pub(crate) async fn start() -> TestServer {
        TestServer::start_with(Options::default()).await
    }

    pub(crate) async fn start_with(options: Options) -> TestServer {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let store =
            Arc::new(SqliteStore::open(&directory.path().join("switchboard.sqlite"), Utc::now()).await.expect("store"));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let identity_config = IdentityConfig {
            public_url: base.parse().unwrap(),
            token_lifetime: chrono::Duration::seconds(3599),
            notification_issuer: base.clone(),
            dev_app_enabled: options.dev_mode,
        };
        let now = switchboard_http::clock::Clock::now(&*clock);
        let identity = Arc::new(Identity::start(store.clone(), identity_config, now).await.expect("identity"));
        if options.dev_mode {
            identity.directory().provision_dev_defaults(now).await.expect("dev defaults");
        }
        let node = Node { listener, base, store, clock, identity, directory: Arc::new(directory) };
        TestServer::serve(node, options, "test-node").await
    }

    /// Another node on the same store and identity service, as a second Switchboard process sharing the database
    /// would be; it serves the same apps.
    pub(crate) async fn another_node(&self, node_id: &str) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let node = Node {
            listener,
            base,
            store: self.store.clone(),
            clock: self.clock.clone(),
            identity: self.identity.clone(),
            directory: self.directory.clone(),
        };
        TestServer::serve(node, Options::default(), node_id).await
    }

    async fn serve(node: Node, options: Options, node_id: &str) -> TestServer {
        let Node { listener, base, store, clock, identity, directory } = node;
        let config = HttpConfig {
            dev_mode: options.dev_mode,
            max_body_bytes: options.max_body_bytes,
            body_read_timeout: Duration::from_secs(30),
            allowed_hosts: None,
            max_requests_in_flight: options.max_requests_in_flight,
            admin_key: options.admin_key,
        };
        let instance = store.instance().await.expect("instance");
        let calls = Calls::new(
            store.clone(),
            Arc::new(SimulationClock::new(ClockMode::Virtual)),
            CallsConfig {
                world: WorldConfig::default(),
                public_url: base.clone(),
                media: Default::default(),
                shapes: Default::default(),
                conversation_tokens: switchboard_calls::ConversationTokens::new(base.clone(), &base),
                node: switchboard_calls::NodeConfig { node_id: node_id.into(), lease: Duration::from_secs(10) },
            },
        );
        calls.register_node().await.expect("the node registers");
        // As `switchboard serve` does on a virtual clock, before it serves.
        calls.restore_media().await.expect("the node rebuilds the conferences of its calls");
        let calls = Arc::new(calls);
        let state = AppState::new(Shared {
            store: store.clone() as Arc<dyn Store>,
            calls: calls.clone(),
            identity: identity.clone(),
            instance,
            config,
            clock: clock.clone(),
            delivery: switchboard_notify::DeliveryControls::default(),
            // A recorder of its own, not installed: the process-wide one belongs to the server binary.
            metrics: metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder().handle(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = switchboard_http::ServeOptions {
            tls: None,
            limits: switchboard_http::ConnectionLimits::default(),
            grace: Duration::from_secs(5),
        };
        let task =
            tokio::spawn(switchboard_http::serve(listener, switchboard_http::router(state), serving, async move {
                let _ = stopped.await;
            }));
        let mut server = TestServer {
            base,
            store,
            clock,
            identity,
            calls,
            client: reqwest::Client::new(),
            token: String::new(),
            stop: Some(stop),
            task: Some(task),
            directory,
        };
        if options.dev_mode {
            server.token = server.token_for(DEV_TENANT_ID, DEV_APP_ID, DEV_SECRET).await;
        }
        server
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A token from the token endpoint, as a bot gets one.
    pub(crate) async fn token_for(&self, tenant: Uuid, app: Uuid, secret: &str) -> String {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", &app.to_string()),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let response =
            self.client.post(self.url(&format!("/{tenant}/oauth2/v2.0/token"))).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 200, "token request");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().expect("an access token").to_owned()
    }

    /// A new app in the test tenant with `permissions`, and a token for it.
    pub(crate) async fn app_with(&self, permissions: &[&str]) -> (Uuid, String) {
        let identity_store: &dyn Store = &*self.store;
        let directory = switchboard_identity::Directory::standalone(identity_store);
        let now = switchboard_http::clock::Clock::now(&*self.clock);
        directory.put_tenant(Some(TEST_TENANT_ID), "Test tenant", now).await.expect("tenant");
        let new = NewApp {
            tenant_id: TEST_TENANT_ID,
            app_id: None,
            display_name: "Test bot".into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
            calling_webhook: None,
        };
        let (app, secret) = directory.add_app(new, true, now).await.expect("app");
        let token = self.token_for(TEST_TENANT_ID, app.app_id, &secret.expect("a secret").value).await;
        (app.app_id, token)
    }

    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Sends `body` as JSON (or nothing) with the dev app's token.
    pub(crate) async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.send_with(method, path, body, Some(&format!("Bearer {}", self.token))).await
    }

    /// Sends with the given `Authorization` header (or none).
    pub(crate) async fn send_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        authorization: Option<&str>,
    ) -> Reply {
        let mut request = self.client.request(method.parse().unwrap(), self.url(path));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        Reply::from(request.send().await.expect("the server answers")).await
    }

    /// Signals shutdown and waits for the server to stop.
    pub(crate) async fn stop(mut self) -> std::io::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.expect("the server task completes")
    }
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) async fn from(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, headers, body }
    }

    /// Whether the request got past every check of the request itself: it succeeded, named a call that does not
    /// exist (404), or reached an operation that is not implemented yet (501).
    pub(crate) fn passed_checks(&self) -> bool {
        match self.status {
            200..=299 => true,
            // The call a test names does not exist: the request got as far as looking it up.
            404 => self.body["error"]["message"].as_str().is_some_and(|m| m.starts_with("Call not found.")),
            501 => self.body["error"]["code"] == "NotImplemented",
            _ => false,
        }
    }

    /// Asserts Graph's error shape and returns (code, message).
    pub(crate) fn graph_error(&self) -> (String, String) {
        let error = &self.body["error"];
        let code = error["code"].as_str().unwrap_or_else(|| panic!("no error.code in {}", self.body)).to_owned();
        let message =
            error["message"].as_str().unwrap_or_else(|| panic!("no error.message in {}", self.body)).to_owned();
        let inner = &error["innerError"];
        let request_id = self.headers["request-id"].to_str().unwrap();
        assert_eq!(inner["request-id"], request_id, "innerError.request-id matches the header: {}", self.body);
        assert_eq!(inner["client-request-id"], self.headers["client-request-id"].to_str().unwrap());
        let date = inner["date"].as_str().expect("innerError.date");
        assert!(
            chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S").is_ok(),
            "Graph's date format: {date}"
        );
        assert!(
            self.headers["content-type"].to_str().unwrap().starts_with("application/json"),
            "errors are JSON: {:?}",
            self.headers["content-type"]
        );
        (code, message)
    }
}
