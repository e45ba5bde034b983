//! The notification journal under `/_sim`: what was sent to bots, every attempt at it, replay of dead letters, and
//! the delivery disorder knobs.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard_notify::Disorder;
use switchboard_store::{
    AttemptOutcome, AttemptRecord, DeliveryStatus, NotificationFilter, NotificationRecord, ReplaySelection,
};
use uuid::Uuid;

use crate::{
    AppState,
    control::{Answer, Filter, JsonBody, Keys, OrGraph},
    error::{ApiError, GraphError},
    request::RequestIds,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JournalQuery {
    tenant_id: Option<Uuid>,
    app_id: Option<Uuid>,
    call_id: Option<String>,
    /// `pending`, `delivered` or `deadLettered`.
    status: Option<String>,
    /// Raised at or after (the server's clock).
    raised_since: Option<DateTime<Utc>>,
    raised_before: Option<DateTime<Utc>>,
    /// Only entries after this `seq` (the paging cursor).
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

/// One journal entry: what was sent where, and how delivery went.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JournalEntry {
    seq: i64,
    message_id: Uuid,
    call_id: String,
    /// 1, 2, 3 … within the call.
    sequence_number: i64,
    tenant_id: Uuid,
    app_id: Uuid,
    url: Option<String>,
    chain_id: String,
    scenario_id: String,
    raised_at: DateTime<Utc>,
    queued_at: DateTime<Utc>,
    status: &'static str,
    attempts: u32,
    replayed_at: Option<DateTime<Utc>>,
    next_attempt_at: Option<DateTime<Utc>>,
    last_status: Option<u16>,
    last_error: Option<String>,
    finished_at: Option<DateTime<Utc>>,
    body: Value,
    /// Only on a single entry: every attempt at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_attempts: Option<Vec<AttemptEntry>>,
}

impl From<NotificationRecord> for JournalEntry {
    fn from(record: NotificationRecord) -> JournalEntry {
        let n = record.notification;
        JournalEntry {
            seq: record.seq,
            message_id: n.message_id,
            body: serde_json::from_str(&n.body).unwrap_or(Value::String(n.body)),
            call_id: n.call_id,
            sequence_number: record.call_sequence,
            tenant_id: n.tenant_id,
            app_id: n.app_id,
            url: n.url,
            chain_id: n.chain_id,
            scenario_id: n.scenario_id,
            raised_at: n.raised_at,
            queued_at: n.queued_at,
            status: record.status.as_str(),
            attempts: record.attempts,
            replayed_at: record.replayed_at,
            next_attempt_at: record.next_attempt_at,
            last_status: record.last_status,
            last_error: record.last_error,
            finished_at: record.finished_at,
            delivery_attempts: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttemptEntry {
    attempt: u32,
    started_at: DateTime<Utc>,
    latency_ms: u32,
    url: String,
    request_headers: BTreeMap<String, String>,
    batch_size: u32,
    status: Option<u16>,
    response_excerpt: Option<String>,
    error: Option<String>,
    /// `delivered`, `retry`, `deadLettered` or `duplicate`.
    outcome: &'static str,
    next_attempt_at: Option<DateTime<Utc>>,
}

impl From<AttemptRecord> for AttemptEntry {
    fn from(record: AttemptRecord) -> AttemptEntry {
        let d = record.delivery;
        AttemptEntry {
            attempt: record.attempt,
            started_at: d.started_at,
            latency_ms: d.latency_ms,
            url: d.url,
            request_headers: d.request_headers.into_iter().collect(),
            batch_size: d.batch_size,
            status: d.status,
            response_excerpt: d.response_excerpt,
            error: d.error,
            outcome: d.outcome.as_str(),
            next_attempt_at: match d.outcome {
                AttemptOutcome::RetryAt(at) | AttemptOutcome::SetAside(at) => Some(at),
                _ => None,
            },
        }
    }
}

fn status_filter(status: Option<&str>, ids: &RequestIds) -> Result<Option<DeliveryStatus>, GraphError> {
    status
        .map(|text| {
            DeliveryStatus::parse(text).ok_or_else(|| {
                let known: Vec<_> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
                GraphError::new(
                    ApiError::InvalidBody(format!("status '{text}' is not one of {}", known.join(", "))),
                    ids.clone(),
                )
            })
        })
        .transpose()
}

pub(crate) async fn list(
    State(state): State<AppState>,
    ids: RequestIds,
    Filter(query): Filter<JournalQuery>,
) -> Answer {
    let filter = NotificationFilter {
        tenant_id: query.tenant_id,
        app_id: query.app_id,
        call_id: query.call_id.map(|c| c.to_ascii_lowercase()),
        status: status_filter(query.status.as_deref(), &ids)?,
        raised_since: query.raised_since,
        raised_before: query.raised_before,
        after: query.after,
        limit: query.limit.unwrap_or(500).clamp(1, 5000),
    };
    let records = state.store.notifications(filter).await.or_graph(&ids)?;
    let next = records.last().map_or(query.after, |r| r.seq);
    let entries: Vec<JournalEntry> = records.into_iter().map(JournalEntry::from).collect();
    Ok(Json(json!({ "value": entries, "next": next })).into_response())
}

async fn entry(state: &AppState, seq: i64, ids: &RequestIds) -> Result<JournalEntry, GraphError> {
    let record = state.store.notification(seq).await.or_graph(ids)?;
    let record = record.ok_or_else(|| {
        GraphError::new(
            ApiError::ControlNotFound(format!("/_sim/notifications/{seq} (no such notification)")),
            ids.clone(),
        )
    })?;
    let attempts = state.store.delivery_attempts(seq).await.or_graph(ids)?;
    let mut entry = JournalEntry::from(record);
    entry.delivery_attempts = Some(attempts.into_iter().map(AttemptEntry::from).collect());
    Ok(entry)
}

pub(crate) async fn show(State(state): State<AppState>, ids: RequestIds, Keys(seq): Keys<i64>) -> Answer {
    Ok(Json(entry(&state, seq, &ids).await?).into_response())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ReplayOne {
    /// Deliver to this URL instead (a bot that moved; required when the notification had nowhere to go).
    url: Option<url::Url>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ReplayMany {
    tenant_id: Option<Uuid>,
    app_id: Option<Uuid>,
    call_id: Option<String>,
    url: Option<url::Url>,
}

async fn replay_selected(state: &AppState, selection: ReplaySelection, ids: &RequestIds) -> Result<u64, GraphError> {
    let replayed = state.store.replay_notifications(selection, Utc::now()).await.or_graph(ids)?;
    if replayed > 0 {
        state.calls.outbox_signal().everything();
    }
    Ok(replayed)
}

/// `POST /_sim/notifications/{seq}/replay`: one dead letter, due again at once with a fresh retry budget.
pub(crate) async fn replay_one(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(seq): Keys<i64>,
    body: Option<JsonBody<ReplayOne>>,
) -> Answer {
    let body = body.map(|JsonBody(body)| body).unwrap_or_default();
    let selection = ReplaySelection { seq: Some(seq), url: body.url.map(String::from), ..ReplaySelection::default() };
    if replay_selected(&state, selection, &ids).await? == 0 {
        let current = entry(&state, seq, &ids).await?;
        return Err(GraphError::new(ApiError::NotADeadLetter { seq, status: current.status }, ids));
    }
    Ok(Json(entry(&state, seq, &ids).await?).into_response())
}

/// `POST /_sim/notifications/replay`: every dead letter of the selection (all of them without one).
pub(crate) async fn replay(
    State(state): State<AppState>,
    ids: RequestIds,
    body: Option<JsonBody<ReplayMany>>,
) -> Answer {
    let body = body.map(|JsonBody(body)| body).unwrap_or_default();
    let selection = ReplaySelection {
        seq: None,
        tenant_id: body.tenant_id,
        app_id: body.app_id,
        call_id: body.call_id.map(|c| c.to_ascii_lowercase()),
        url: body.url.map(String::from),
    };
    let replayed = replay_selected(&state, selection, &ids).await?;
    Ok(Json(json!({ "replayed": replayed })).into_response())
}

pub(crate) async fn show_disorder(State(state): State<AppState>) -> Response {
    Json(state.delivery.disorder()).into_response()
}

pub(crate) async fn set_disorder(
    State(state): State<AppState>,
    ids: RequestIds,
    JsonBody(knobs): JsonBody<Disorder>,
) -> Answer {
    state.delivery.set_disorder(knobs).or_graph(&ids)?;
    Ok(Json(state.delivery.disorder()).into_response())
}
