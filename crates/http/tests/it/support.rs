//! A Switchboard HTTP server on 127.0.0.1:0 with a SQLite file in a temporary directory.

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use switchboard_http::{AppState, HttpConfig};
use switchboard_store::{SqliteStore, Store};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub(crate) struct TestServer {
    pub(crate) base: String,
    pub(crate) store: Arc<SqliteStore>,
    pub(crate) client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _directory: tempfile::TempDir,
}

pub(crate) struct Options {
    pub(crate) dev_mode: bool,
    pub(crate) max_body_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { dev_mode: true, max_body_bytes: 4 * 1024 * 1024 }
    }
}

impl TestServer {
    pub(crate) async fn start() -> TestServer {
        TestServer::start_with(Options::default()).await
    }

    pub(crate) async fn start_with(options: Options) -> TestServer {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(
            SqliteStore::open(&directory.path().join("switchboard.sqlite"), chrono::Utc::now()).await.expect("store"),
        );
        let instance = store.instance().await.expect("instance");
        let config = HttpConfig { dev_mode: options.dev_mode, max_body_bytes: options.max_body_bytes };
        let state = AppState::new(store.clone() as Arc<dyn Store>, instance, config);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(switchboard_http::serve(
            listener,
            switchboard_http::router(state),
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(5),
        ));
        TestServer {
            base,
            store,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
            _directory: directory,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `body` as JSON (or nothing) and returns the status, headers and parsed body (Null if empty).
    pub(crate) async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let mut request = self.client.request(method.parse().unwrap(), self.url(path));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
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
