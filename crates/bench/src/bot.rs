//! A fleet of bots: the dev app's client-credentials token, Graph requests, simulated users that answer at once,
//! and a webhook receiver that tells each bot when the notification it waits for has arrived.

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use clap::ValueEnum;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::{Pace, load::drive};

pub(crate) const DEV_TENANT: &str = "5b1ed0c5-0000-4000-8000-000000000001";
pub(crate) const DEV_APP: &str = "5b1ed0c5-0000-4000-8000-0000000000a1";
const DEV_SECRET: &str = "switchboard-dev-secret-do-not-use-in-production";
/// How long a bot waits for a notification before counting an error.
const PATIENCE: Duration = Duration::from_secs(30);
/// Simulated users the calls go to (a user can be in many calls at once).
const USERS: usize = 16;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Scenario {
    /// Create a call to a simulated user, wait for `established` at the webhook, hang up. Latency: create → established received.
    Setup,
    /// Like setup, but the calls stay up (to fill the server with established calls).
    SetupAndStay,
    /// mute/unmute, alternating, on established group calls. Latency: the request's answer.
    Ops,
    /// mute/unmute as in ops. Latency: request sent → the roster notification it causes received by the bot.
    Notify,
}

/// What the webhook has been told, and who is waiting for what.
#[derive(Default)]
struct Mailbox {
    /// Calls whose `established` notification arrived, and whoever waits for one.
    established: HashMap<String, Instant>,
    waiting_established: HashMap<String, oneshot::Sender<Instant>>,
    /// Per call, the bots waiting for its next roster notification, in the order they asked.
    waiting_roster: HashMap<String, VecDeque<oneshot::Sender<Instant>>>,
    /// Every POST received: the call and its `switchboard-sequence` (the call's notification number).
    deliveries: Vec<(String, u64)>,
}

#[derive(Clone)]
pub(crate) struct Fleet {
    http: reqwest::Client,
    base: String,
    token: String,
    callback: String,
    users: Arc<Vec<String>>,
    mailbox: Arc<Mutex<Mailbox>>,
}

const POISON: &str = "invariant: nothing panics holding the mailbox";

async fn webhook(State(mailbox): State<Arc<Mutex<Mailbox>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let arrived = Instant::now();
    let Ok(body) = serde_json::from_slice::<Value>(&body) else { return StatusCode::BAD_REQUEST };
    let mut mailbox = mailbox.lock().expect(POISON);
    let sequence = headers.get("switchboard-sequence").and_then(|v| v.to_str().ok()?.parse().ok());
    let call = body["value"][0]["resourceUrl"].as_str().and_then(|u| u.strip_prefix("/communications/calls/"));
    if let (Some(call), Some(sequence)) = (call, sequence) {
        let call = call.split('/').next().unwrap_or_default().to_owned();
        mailbox.deliveries.push((call, sequence));
    }
    for notification in body["value"].as_array().into_iter().flatten() {
        let url = notification["resourceUrl"].as_str().unwrap_or_default();
        let Some(rest) = url.strip_prefix("/communications/calls/") else { continue };
        match rest.split_once('/') {
            None if notification["resourceData"]["state"] == "established" => {
                let call = rest.to_owned();
                match mailbox.waiting_established.remove(&call) {
                    Some(waiter) => drop(waiter.send(arrived)),
                    None => drop(mailbox.established.insert(call, arrived)),
                }
            }
            Some((call, "participants")) => {
                if let Some(waiter) = mailbox.waiting_roster.get_mut(call).and_then(VecDeque::pop_front) {
                    let _ = waiter.send(arrived);
                }
            }
            _ => {}
        }
    }
    StatusCode::ACCEPTED
}

impl Fleet {
    /// Signs in as the dev app, creates the simulated users and starts the webhook.
    pub(crate) async fn start(base: &str) -> Result<Fleet, String> {
        let http = reqwest::Client::builder().pool_max_idle_per_host(1024).build().map_err(|e| e.to_string())?;
        let base = base.trim_end_matches('/').to_owned();
        let token: Value = http
            .post(format!("{base}/{DEV_TENANT}/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", DEV_APP),
                ("client_secret", DEV_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .map_err(|e| format!("{base} is not reachable: {e}"))?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let token =
            token["access_token"].as_str().ok_or(format!("no token from {base} (is it in dev mode?): {token}"))?;
        let mut users = Vec::new();
        for i in 0..USERS {
            let user: Value = http
                .post(format!("{base}/_sim/users"))
                .json(&json!({"displayName": format!("Bench {i}"), "behaviour": {"response": {"kind": "answer", "afterMs": 0}}}))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            users.push(user["id"].as_str().ok_or(format!("creating a user failed: {user}"))?.to_owned());
        }
        let mailbox: Arc<Mutex<Mailbox>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let callback = format!("http://{}/callback", listener.local_addr().map_err(|e| e.to_string())?);
        let app = Router::new().route("/callback", post(webhook)).with_state(mailbox.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Fleet { http, base, token: token.to_owned(), callback, users: Arc::new(users), mailbox })
    }

    /// Points the fleet at a server that came back on another address.
    pub(crate) fn rebase(&mut self, base: &str) {
        self.base = base.trim_end_matches('/').to_owned();
    }

    pub(crate) fn users(&self) -> &[String] {
        &self.users
    }

    /// Every POST the webhook received, in arrival order: (call id, the call's notification number).
    pub(crate) fn deliveries(&self) -> Vec<(String, u64)> {
        self.mailbox.lock().expect(POISON).deliveries.clone()
    }

    pub(crate) async fn sim(&self, path: &str) -> Result<Value, String> {
        let response = self.http.get(format!("{}/_sim{path}", self.base)).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() { Ok(body) } else { Err(format!("GET /_sim{path}: HTTP {status}: {body}")) }
    }

    pub(crate) async fn graph(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let (status, body) = self.request(method.clone(), path, body).await?;
        if !(200..300).contains(&status) {
            let text = body.to_string().chars().take(200).collect::<String>();
            return Err(format!("{method} {path}: HTTP {status}: {text}"));
        }
        Ok(body)
    }

    /// A Graph request of the bot, whatever it is answered: the status and the body (null when empty).
    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| e.to_string())?;
        Ok((
            status,
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) },
        ))
    }

    /// The status of a GET of the bot's, on a connection of its own.
    pub(crate) async fn status(&self, path: &str) -> Result<u16, String> {
        let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().map_err(|e| e.to_string())?;
        let response = fresh.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await;
        Ok(response.map_err(|e| e.to_string())?.status().as_u16())
    }

    /// Creates a call to `targets` users; returns its id once the server acknowledged it.
    pub(crate) async fn create_call(&self, targets: &[&str]) -> Result<String, String> {
        self.create_call_to(targets, &self.callback).await
    }

    /// Creates a call whose notifications go to `callback`.
    pub(crate) async fn create_call_to(&self, targets: &[&str], callback: &str) -> Result<String, String> {
        let targets: Vec<Value> = targets
            .iter()
            .map(|id| json!({"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": {"user": {"id": id}}}))
            .collect();
        let body = json!({
            "@odata.type": "#microsoft.graph.call",
            "callbackUri": callback,
            "targets": targets,
            "requestedModalities": ["audio"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        });
        let created = self.graph(reqwest::Method::POST, "/v1.0/communications/calls", Some(body)).await?;
        Ok(created["id"].as_str().ok_or("the created call has no id")?.to_owned())
    }

    /// Creates a call to `targets` users and waits until the bot hears it is established; returns its id.
    pub(crate) async fn establish(&self, targets: &[&str]) -> Result<String, String> {
        let id = self.create_call(targets).await?;
        let waiter = {
            let mut mailbox = self.mailbox.lock().expect(POISON);
            if mailbox.established.remove(&id).is_some() {
                return Ok(id);
            }
            let (sender, receiver) = oneshot::channel();
            mailbox.waiting_established.insert(id.clone(), sender);
            receiver
        };
        match tokio::time::timeout(PATIENCE, waiter).await {
            Ok(Ok(_)) => Ok(id),
            _ => {
                self.mailbox.lock().expect(POISON).waiting_established.remove(&id);
                Err("no established notification within 30 s".into())
            }
        }
    }

    async fn hang_up(&self, id: &str) -> Result<(), String> {
        self.graph(reqwest::Method::DELETE, &format!("/v1.0/communications/calls/{id}"), None).await.map(drop)
    }

    /// mute or unmute the bot in a group call; with `notified`, waits for the roster notification it causes.
    pub(crate) async fn toggle_mute(&self, call: &str, mute: bool, notified: bool) -> Result<Duration, String> {
        let start = Instant::now();
        let waiter = notified.then(|| {
            let (sender, receiver) = oneshot::channel();
            self.mailbox.lock().expect(POISON).waiting_roster.entry(call.to_owned()).or_default().push_back(sender);
            receiver
        });
        let action = if mute { "mute" } else { "unmute" };
        self.graph(
            reqwest::Method::POST,
            &format!("/v1.0/communications/calls/{call}/{action}"),
            Some(json!({"clientContext": "bench"})),
        )
        .await?;
        match waiter {
            None => Ok(start.elapsed()),
            Some(waiter) => match tokio::time::timeout(PATIENCE, waiter).await {
                Ok(Ok(arrived)) => Ok(arrived.duration_since(start)),
                _ => Err("no roster notification within 30 s".into()),
            },
        }
    }
}

pub(crate) async fn run(base: &str, scenario: Scenario, calls: usize, pace: &Pace) -> Result<(), String> {
    let fleet = Fleet::start(base).await?;
    let report = match scenario {
        Scenario::Setup | Scenario::SetupAndStay => {
            let stay = matches!(scenario, Scenario::SetupAndStay);
            drive(if stay { "setup-and-stay" } else { "setup" }, pace, move |_, n| {
                let fleet = fleet.clone();
                async move {
                    let start = Instant::now();
                    let user = fleet.users[n as usize % fleet.users.len()].clone();
                    let id = fleet.establish(&[&user]).await?;
                    let latency = start.elapsed();
                    if !stay {
                        fleet.hang_up(&id).await?;
                    }
                    Ok(latency)
                }
            })
            .await?
        }
        Scenario::Ops | Scenario::Notify => {
            let notified = matches!(scenario, Scenario::Notify);
            let calls = prepare_group_calls(&fleet, calls.max(1)).await?;
            drive(if notified { "notify" } else { "ops" }, pace, toggling(fleet, calls, notified)).await?
        }
    };
    report.publish(pace)
}

/// One iteration of a load: the latency it measured, or what went wrong.
pub(crate) type Iteration = Pin<Box<dyn Future<Output = Result<Duration, String>> + Send>>;

/// An iteration that mutes or unmutes the bot in one of `calls` (closed loop: each worker keeps to its call; open
/// loop: round robin); with `notified`, its latency runs until the roster notification arrives.
pub(crate) fn toggling(
    fleet: Fleet,
    calls: Vec<String>,
    notified: bool,
) -> impl Fn(Option<usize>, u64) -> Iteration + Send + Sync + 'static {
    move |worker, n| {
        let fleet = fleet.clone();
        let call = calls[worker.unwrap_or(n as usize) % calls.len()].clone();
        Box::pin(async move { fleet.toggle_mute(&call, n.is_multiple_of(2), notified).await })
    }
}

/// Established group calls (the bot and two users), their setup notifications delivered before the run starts.
pub(crate) async fn prepare_group_calls(fleet: &Fleet, count: usize) -> Result<Vec<String>, String> {
    let mut calls = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(32) {
        let mut pending = tokio::task::JoinSet::new();
        for i in chunk {
            let fleet = fleet.clone();
            let (a, b) = (fleet.users[i % USERS].clone(), fleet.users[(i + 1) % USERS].clone());
            pending.spawn(async move { fleet.establish(&[&a, &b]).await });
        }
        while let Some(call) = pending.join_next().await {
            calls.push(call.map_err(|e| e.to_string())??);
        }
    }
    // The roster notifications of the set-up are still arriving; let them, so none is taken for an operation's.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(calls)
}
