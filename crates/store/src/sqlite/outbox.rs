//! The notification outbox and its journal, in SQLite: notifications are inserted in the transaction of the call
//! change that raised them, handed to the dispatcher per call in order, and keep every attempt made at them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool, sqlite::SqliteRow};

use super::{classify, optional_timestamp, required_timestamp, text, timestamp, uuid};
use crate::{
    AttemptOutcome, AttemptRecord, DeliveryAttempt, DeliveryStatus, NewNotification, NotificationCounts,
    NotificationFilter, NotificationRecord, ReplaySelection, StoreError,
};

/// Why a notification with nowhere to go is dead-lettered at once, so the journal shows why the bot heard nothing.
const NOWHERE: &str = "the call has no callbackUri and the app has no calling webhook registered";

/// Inserts a notification inside the transaction of the change that raised it, numbering it within its call.
pub(super) async fn insert(
    connection: &mut SqliteConnection,
    notification: &NewNotification,
) -> Result<(), StoreError> {
    let call_sequence: i64 = sqlx::query_scalar(
        "UPDATE call SET notifications_raised = notifications_raised + 1 WHERE call_id = ? \
         RETURNING notifications_raised",
    )
    .bind(&notification.call_id)
    .fetch_optional(&mut *connection)
    .await
    .map_err(classify)?
    .ok_or_else(|| {
        StoreError::Backend(format!("a notification for call {} that is not stored", notification.call_id))
    })?;
    let (status, error, finished) = match notification.url {
        Some(_) => (DeliveryStatus::Pending, None, None),
        None => (DeliveryStatus::DeadLettered, Some(NOWHERE), Some(timestamp(notification.queued_at))),
    };
    sqlx::query(
        "INSERT INTO notification (message_id, call_id, call_sequence, tenant_id, app_id, url, body, chain_id, \
         scenario_id, raised_at, queued_at, status, last_error, finished_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(notification.message_id.to_string())
    .bind(&notification.call_id)
    .bind(call_sequence)
    .bind(notification.tenant_id.to_string())
    .bind(notification.app_id.to_string())
    .bind(&notification.url)
    .bind(&notification.body)
    .bind(&notification.chain_id)
    .bind(&notification.scenario_id)
    .bind(timestamp(notification.raised_at))
    .bind(timestamp(notification.queued_at))
    .bind(status.as_str())
    .bind(error)
    .bind(finished)
    .execute(connection)
    .await
    .map(|_| ())
    .map_err(classify)
}

fn count(row: &SqliteRow, column: &str) -> Result<u32, StoreError> {
    let value: i64 = row.try_get(column).map_err(classify)?;
    Ok(u32::try_from(value).unwrap_or(u32::MAX))
}

fn status_column(row: &SqliteRow, column: &str) -> Result<Option<u16>, StoreError> {
    let value: Option<i64> = row.try_get(column).map_err(classify)?;
    Ok(value.and_then(|s| u16::try_from(s).ok()))
}

fn notification_from_row(row: &SqliteRow) -> Result<NotificationRecord, StoreError> {
    let stored = text(row, "status")?;
    let status = DeliveryStatus::parse(&stored)
        .ok_or_else(|| StoreError::Backend(format!("stored notification status '{stored}' is unknown")))?;
    let message_id = text(row, "message_id")?;
    Ok(NotificationRecord {
        seq: row.try_get("seq").map_err(classify)?,
        call_sequence: row.try_get("call_sequence").map_err(classify)?,
        notification: NewNotification {
            message_id: message_id
                .parse()
                .map_err(|e| StoreError::Backend(format!("stored message id '{message_id}' is not a UUID: {e}")))?,
            call_id: text(row, "call_id")?,
            tenant_id: uuid(row, "tenant_id")?,
            app_id: uuid(row, "app_id")?,
            url: row.try_get("url").map_err(classify)?,
            body: text(row, "body")?,
            chain_id: text(row, "chain_id")?,
            scenario_id: text(row, "scenario_id")?,
            raised_at: required_timestamp(row, "raised_at")?,
            queued_at: required_timestamp(row, "queued_at")?,
        },
        status,
        attempts: count(row, "attempts")?,
        round_attempts: count(row, "round_attempts")?,
        replayed_at: optional_timestamp(row, "replayed_at")?,
        next_attempt_at: optional_timestamp(row, "next_attempt_at")?,
        last_status: status_column(row, "last_status")?,
        last_error: row.try_get("last_error").map_err(classify)?,
        finished_at: optional_timestamp(row, "finished_at")?,
    })
}

fn is_due(record: &NotificationRecord, now: DateTime<Utc>) -> bool {
    record.next_attempt_at.is_none_or(|at| at <= now)
}

pub(super) async fn deliverable(
    pool: &SqlitePool,
    now: DateTime<Utc>,
    per_call: u32,
    calls: u32,
) -> Result<Vec<NotificationRecord>, StoreError> {
    // The calls whose oldest pending notification is due, oldest first (read from the pending index alone) …
    let heads: Vec<String> = sqlx::query_scalar(
        "SELECT n.call_id FROM notification n JOIN (SELECT MIN(seq) AS head FROM notification \
         WHERE status = 'pending' GROUP BY call_id) h ON n.seq = h.head \
         WHERE n.next_attempt_at IS NULL OR n.next_attempt_at <= ? ORDER BY n.seq LIMIT ?",
    )
    .bind(timestamp(now))
    .bind(i64::from(calls))
    .fetch_all(pool)
    .await
    .map_err(classify)?;
    if heads.is_empty() {
        return Ok(Vec::new());
    }
    // … then the first `per_call` pending notifications of each.
    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT * FROM (SELECT n.*, ROW_NUMBER() OVER (PARTITION BY call_id ORDER BY seq) AS position \
         FROM notification n WHERE status = 'pending' AND call_id IN (",
    );
    let mut list = query.separated(", ");
    for call_id in &heads {
        list.push_bind(call_id);
    }
    query.push(")) WHERE position <= ").push_bind(i64::from(per_call.max(1))).push(" ORDER BY call_id, seq");
    let rows = query.build().fetch_all(pool).await.map_err(classify)?;
    let mut by_call: HashMap<String, Vec<NotificationRecord>> = HashMap::new();
    for row in &rows {
        let position: i64 = row.try_get("position").map_err(classify)?;
        let record = notification_from_row(row)?;
        let call = by_call.entry(record.notification.call_id.clone()).or_default();
        // Nothing of a call may overtake a notification that is waiting for its retry.
        if i64::try_from(call.len()).unwrap_or(i64::MAX) == position - 1 && is_due(&record, now) {
            call.push(record);
        }
    }
    Ok(heads.iter().flat_map(|call_id| by_call.remove(call_id).unwrap_or_default()).collect())
}

pub(super) async fn next_due(pool: &SqlitePool, excluding: &[String]) -> Result<Option<DateTime<Utc>>, StoreError> {
    // Only the oldest pending notification of each call can go next; one never attempted is due at once.
    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT n.next_attempt_at FROM notification n JOIN (SELECT MIN(seq) AS head FROM notification \
         WHERE status = 'pending' GROUP BY call_id) h ON n.seq = h.head",
    );
    if !excluding.is_empty() {
        query.push(" WHERE n.call_id NOT IN (");
        let mut list = query.separated(", ");
        for call_id in excluding {
            list.push_bind(call_id.clone());
        }
        list.push_unseparated(")");
    }
    query.push(" ORDER BY n.next_attempt_at IS NOT NULL, n.next_attempt_at LIMIT 1");
    let row = query.build().fetch_optional(pool).await.map_err(classify)?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some(optional_timestamp(&row, "next_attempt_at")?.unwrap_or(DateTime::<Utc>::MIN_UTC))),
    }
}

pub(super) async fn record_attempt(
    pool: &SqlitePool,
    seqs: &[i64],
    attempt: DeliveryAttempt,
) -> Result<(), StoreError> {
    let finished = Some(timestamp(attempt.started_at + chrono::Duration::milliseconds(attempt.latency_ms.into())));
    let (status, next_attempt_at, finished_at) = match attempt.outcome {
        AttemptOutcome::Delivered | AttemptOutcome::Duplicate => (DeliveryStatus::Delivered, None, finished),
        AttemptOutcome::RetryAt(next) => (DeliveryStatus::Pending, Some(timestamp(next)), None),
        AttemptOutcome::DeadLettered => (DeliveryStatus::DeadLettered, None, finished),
    };
    let headers = serde_json::to_string(&attempt.request_headers).expect("header pairs always serialise");
    let mut transaction = pool.begin().await.map_err(classify)?;
    for seq in seqs {
        sqlx::query(
            "INSERT INTO delivery_attempt (seq, attempt, started_at, latency_ms, url, request_headers, batch_size, \
             status, response_excerpt, error, outcome, next_attempt_at) \
             VALUES (?, (SELECT COUNT(*) + 1 FROM delivery_attempt WHERE seq = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(seq)
        .bind(seq)
        .bind(timestamp(attempt.started_at))
        .bind(i64::from(attempt.latency_ms))
        .bind(&attempt.url)
        .bind(&headers)
        .bind(i64::from(attempt.batch_size))
        .bind(attempt.status.map(i64::from))
        .bind(&attempt.response_excerpt)
        .bind(&attempt.error)
        .bind(attempt.outcome.as_str())
        .bind(&next_attempt_at)
        .execute(&mut *transaction)
        .await
        .map_err(classify)?;
        if attempt.outcome == AttemptOutcome::Duplicate {
            continue;
        }
        sqlx::query(
            "UPDATE notification SET status = ?, attempts = attempts + 1, round_attempts = round_attempts + 1, \
             next_attempt_at = ?, last_status = ?, last_error = ?, finished_at = ? WHERE seq = ? AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(&next_attempt_at)
        .bind(attempt.status.map(i64::from))
        .bind(&attempt.error)
        .bind(&finished_at)
        .bind(seq)
        .execute(&mut *transaction)
        .await
        .map_err(classify)?;
    }
    transaction.commit().await.map_err(classify)
}

pub(super) async fn list(pool: &SqlitePool, filter: NotificationFilter) -> Result<Vec<NotificationRecord>, StoreError> {
    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM notification WHERE seq > ");
    query.push_bind(filter.after);
    if let Some(tenant_id) = filter.tenant_id {
        query.push(" AND tenant_id = ").push_bind(tenant_id.to_string());
    }
    if let Some(app_id) = filter.app_id {
        query.push(" AND app_id = ").push_bind(app_id.to_string());
    }
    if let Some(call_id) = filter.call_id {
        query.push(" AND call_id = ").push_bind(call_id);
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(since) = filter.raised_since {
        query.push(" AND raised_at >= ").push_bind(timestamp(since));
    }
    if let Some(before) = filter.raised_before {
        query.push(" AND raised_at < ").push_bind(timestamp(before));
    }
    query.push(" ORDER BY seq LIMIT ").push_bind(i64::from(filter.limit));
    let rows = query.build().fetch_all(pool).await.map_err(classify)?;
    rows.iter().map(notification_from_row).collect()
}

pub(super) async fn get(pool: &SqlitePool, seq: i64) -> Result<Option<NotificationRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM notification WHERE seq = ?").bind(seq).fetch_optional(pool).await;
    row.map_err(classify)?.as_ref().map(notification_from_row).transpose()
}

fn attempt_from_row(row: &SqliteRow) -> Result<AttemptRecord, StoreError> {
    let outcome = match text(row, "outcome")?.as_str() {
        "delivered" => AttemptOutcome::Delivered,
        "deadLettered" => AttemptOutcome::DeadLettered,
        "duplicate" => AttemptOutcome::Duplicate,
        "retry" => AttemptOutcome::RetryAt(required_timestamp(row, "next_attempt_at")?),
        other => return Err(StoreError::Backend(format!("stored attempt outcome '{other}' is unknown"))),
    };
    let headers = text(row, "request_headers")?;
    Ok(AttemptRecord {
        seq: row.try_get("seq").map_err(classify)?,
        attempt: count(row, "attempt")?,
        delivery: DeliveryAttempt {
            started_at: required_timestamp(row, "started_at")?,
            latency_ms: count(row, "latency_ms")?,
            url: text(row, "url")?,
            request_headers: serde_json::from_str(&headers)
                .map_err(|e| StoreError::Backend(format!("stored request headers are not a list of pairs: {e}")))?,
            batch_size: count(row, "batch_size")?,
            status: status_column(row, "status")?,
            response_excerpt: row.try_get("response_excerpt").map_err(classify)?,
            error: row.try_get("error").map_err(classify)?,
            outcome,
        },
    })
}

pub(super) async fn attempts(pool: &SqlitePool, seq: i64) -> Result<Vec<AttemptRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM delivery_attempt WHERE seq = ? ORDER BY attempt")
        .bind(seq)
        .fetch_all(pool)
        .await
        .map_err(classify)?;
    rows.iter().map(attempt_from_row).collect()
}

pub(super) async fn replay(
    pool: &SqlitePool,
    selection: ReplaySelection,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE notification SET status = 'pending', url = ");
    query.push("COALESCE(").push_bind(selection.url.clone()).push(", url)");
    query.push(", round_attempts = 0, next_attempt_at = NULL, finished_at = NULL, replayed_at = ");
    query.push_bind(timestamp(now));
    query.push(" WHERE status = 'deadLettered' AND COALESCE(").push_bind(selection.url).push(", url) IS NOT NULL");
    if let Some(seq) = selection.seq {
        query.push(" AND seq = ").push_bind(seq);
    }
    if let Some(tenant_id) = selection.tenant_id {
        query.push(" AND tenant_id = ").push_bind(tenant_id.to_string());
    }
    if let Some(app_id) = selection.app_id {
        query.push(" AND app_id = ").push_bind(app_id.to_string());
    }
    if let Some(call_id) = selection.call_id {
        query.push(" AND call_id = ").push_bind(call_id);
    }
    let replayed = query.build().execute(pool).await.map_err(classify)?;
    Ok(replayed.rows_affected())
}

pub(super) async fn counts(pool: &SqlitePool) -> Result<NotificationCounts, StoreError> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM notification GROUP BY status")
        .fetch_all(pool)
        .await
        .map_err(classify)?;
    let mut counts = NotificationCounts::default();
    for row in &rows {
        let n: i64 = row.try_get("n").map_err(classify)?;
        let n = u64::try_from(n).unwrap_or_default();
        match DeliveryStatus::parse(&text(row, "status")?) {
            Some(DeliveryStatus::Pending) => counts.pending = n,
            Some(DeliveryStatus::Delivered) => counts.delivered = n,
            Some(DeliveryStatus::DeadLettered) => counts.dead_lettered = n,
            None => {}
        }
    }
    Ok(counts)
}

pub(super) async fn prune(
    pool: &SqlitePool,
    finished_before: DateTime<Utc>,
    keep_at_most: u64,
) -> Result<u64, StoreError> {
    let mut transaction = pool.begin().await.map_err(classify)?;
    let old = sqlx::query("DELETE FROM notification WHERE finished_at IS NOT NULL AND finished_at < ?")
        .bind(timestamp(finished_before))
        .execute(&mut *transaction)
        .await
        .map_err(classify)?;
    let excess = sqlx::query(
        "DELETE FROM notification WHERE seq IN (SELECT seq FROM notification WHERE finished_at IS NOT NULL \
         ORDER BY seq DESC LIMIT -1 OFFSET ?)",
    )
    .bind(i64::try_from(keep_at_most).unwrap_or(i64::MAX))
    .execute(&mut *transaction)
    .await
    .map_err(classify)?;
    transaction.commit().await.map_err(classify)?;
    Ok(old.rows_affected() + excess.rows_affected())
}
