//! Delivers notifications from the store's outbox to bots, the way Graph posts `commsNotifications`
//! (graph-calls.md §c): `POST` with a bearer token the bot can validate against Switchboard's notification keys,
//! one call's notifications in the order they were raised, retried with backoff while the bot is unreachable or
//! answers 408, 429 or 5xx, given up on any other 4xx or after the last attempt. Every attempt is journaled.

use std::{future::Future, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use reqwest::{StatusCode, header};
use switchboard_identity::Identity;
use switchboard_store::{AttemptOutcome, DeliveryAttempt, NotificationRecord, Store};
use tokio::{sync::Notify, task::JoinSet};
use uuid::Uuid;

/// How the dispatcher delivers.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Attempts per notification before it is given up on.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each further one, up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long one POST may take.
    pub timeout: Duration,
    /// Notifications (of different calls) in flight at once.
    pub concurrency: usize,
}

impl Default for DispatcherConfig {
    fn default() -> DispatcherConfig {
        DispatcherConfig {
            max_attempts: 8,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            timeout: Duration::from_secs(15),
            concurrency: 16,
        }
    }
}

/// The `User-Agent` Graph's calling service sends with notifications (comms-samples issue #23).
const USER_AGENT: &str = "Microsoft-Skype/3.0,(Calling/1.0)";
/// Redirects followed within one attempt: a bot may answer `302 Found` with a `Location` to have a notification
/// re-posted elsewhere (region affinity, graph-calls.md §c).
const MAX_REDIRECTS: usize = 3;
/// The dispatcher looks at the outbox at least this often, in case a wake-up was missed.
const POLL: Duration = Duration::from_secs(30);

pub struct Dispatcher {
    store: Arc<dyn Store>,
    identity: Arc<Identity>,
    client: reqwest::Client,
    wake: Arc<Notify>,
    config: DispatcherConfig,
}

#[derive(Debug, thiserror::Error)]
#[error("the notification HTTP client cannot be built: {0}")]
pub struct ClientError(reqwest::Error);

impl Dispatcher {
    /// A dispatcher over `store`'s outbox, woken by `wake` whenever a change queues notifications.
    pub fn new(
        store: Arc<dyn Store>,
        identity: Arc<Identity>,
        wake: Arc<Notify>,
        config: DispatcherConfig,
    ) -> Result<Dispatcher, ClientError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .map_err(ClientError)?;
        Ok(Dispatcher { store, identity, client, wake, config })
    }

    /// Delivers until `shutdown` resolves; deliveries in flight then finish (each is bounded by the timeout).
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let wait = match self.deliver_due().await {
                Ok(wait) => wait,
                Err(error) => {
                    tracing::error!(%error, "reading the notification outbox failed; retrying shortly");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Delivers everything due now; returns how long until the next delivery is due.
    async fn deliver_due(self: &Arc<Self>) -> Result<Duration, switchboard_store::StoreError> {
        loop {
            let limit = u32::try_from(self.config.concurrency).unwrap_or(u32::MAX);
            let due = self.store.deliverable_notifications(Utc::now(), limit).await?;
            if due.is_empty() {
                break;
            }
            // One notification per call at a time: the store hands out only the oldest pending one of each call.
            let mut deliveries = JoinSet::new();
            for record in due {
                let dispatcher = self.clone();
                deliveries.spawn(async move {
                    let attempt = dispatcher.attempt(&record).await;
                    (record.seq, attempt)
                });
            }
            while let Some(finished) = deliveries.join_next().await {
                let (seq, attempt) = finished.expect("invariant: a delivery task does not panic");
                self.store.record_attempt(seq, attempt).await?;
            }
        }
        let next = self.store.next_delivery_due().await?;
        Ok(next.map_or(POLL, |due| (due - Utc::now()).to_std().unwrap_or_default().min(POLL)))
    }

    async fn attempt(&self, record: &NotificationRecord) -> DeliveryAttempt {
        let notification = &record.notification;
        let url = notification.url.clone().unwrap_or_default();
        let result = self.post(record, url).await;
        let at = Utc::now();
        let attempts = record.attempts + 1;
        match result {
            Ok(status) if status.is_success() => {
                DeliveryAttempt { at, status: Some(status.as_u16()), error: None, outcome: AttemptOutcome::Delivered }
            }
            Ok(status) => {
                let retryable = status == StatusCode::REQUEST_TIMEOUT
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || status.is_server_error()
                    || status.is_redirection();
                let error = format!("the receiver answered {status}");
                let outcome = self.next(retryable, attempts, at);
                tracing::warn!(seq = record.seq, call_id = %notification.call_id, %status, ?outcome, "notification not accepted");
                DeliveryAttempt { at, status: Some(status.as_u16()), error: Some(error), outcome }
            }
            Err(error) => {
                let outcome = self.next(true, attempts, at);
                tracing::warn!(seq = record.seq, call_id = %notification.call_id, %error, ?outcome, "notification not delivered");
                DeliveryAttempt { at, status: None, error: Some(error), outcome }
            }
        }
    }

    /// Exponential backoff from the configured start, capped; given up after the last attempt.
    fn next(&self, retryable: bool, attempts: u32, at: DateTime<Utc>) -> AttemptOutcome {
        if !retryable || attempts >= self.config.max_attempts {
            return AttemptOutcome::GaveUp;
        }
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        let wait = self.config.initial_backoff.saturating_mul(factor).min(self.config.max_backoff);
        AttemptOutcome::RetryAt(at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX))
    }

    async fn post(&self, record: &NotificationRecord, mut url: String) -> Result<StatusCode, String> {
        let notification = &record.notification;
        // Tokens are checked against the bot's wall clock, so they are minted on real time even when calls run on a
        // virtual clock.
        let token = self.identity.notification_token(notification.tenant_id, notification.app_id, Utc::now());
        // The same message id on every attempt, so a bot can drop duplicates.
        let message_id = Uuid::from_u64_pair(0x5b1e_d0c5, u64::try_from(record.seq).unwrap_or_default());
        for _ in 0..=MAX_REDIRECTS {
            let response = self
                .client
                .post(&url)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/json")
                .header("client-request-id", Uuid::new_v4().to_string())
                .header("X-Microsoft-Skype-Message-ID", message_id.to_string())
                .header("X-Microsoft-Tenant", notification.tenant_id.to_string())
                .body(notification.body.clone())
                .send()
                .await
                .map_err(|e| describe(&e))?;
            let status = response.status();
            let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
            match (status, location) {
                (
                    StatusCode::FOUND | StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT,
                    Some(location),
                ) => {
                    url = response
                        .url()
                        .join(location)
                        .map_err(|e| format!("bad Location '{location}': {e}"))?
                        .to_string();
                }
                _ => return Ok(status),
            }
        }
        Err(format!("more than {MAX_REDIRECTS} redirects"))
    }
}

/// A transport error with its causes, which reqwest keeps in its source chain.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
