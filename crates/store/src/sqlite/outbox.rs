//! The notification outbox and its journal, in SQLite: notifications are inserted in the transaction of the call
//! change that raised them, handed to the dispatcher per call in order, and keep every attempt made at them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};

use super::{Query, all, classify, execute, first, get, optional_timestamp, required_timestamp, text, timestamp, uuid};
use crate::{
    AttemptOutcome, AttemptRecord, DeliveryAttempt, DeliveryStatus, NewNotification, NotificationCounts,
    NotificationFilter, NotificationRecord, ReplaySelection, StoreError,
};

/// Why a notification with nowhere to go is dead-lettered at once, so the journal shows why the bot heard nothing.
const NOWHERE: &str = "the call has no callbackUri and the app has no calling webhook registered";
/// Why an undelivered offer is given up when its call ends.
pub(super) const OFFER_OUTLIVED: &str = "the call ended before its offer was delivered; there is nothing to answer";

/// Inserts a notification inside the transaction of the change that raised it, `call_sequence` its number within its
/// call (the change numbered it as it wrote the call); returns it as queued, unless it has nowhere to go (then it
/// is dead-lettered at once).
pub(super) fn insert(
    connection: &Connection,
    notification: NewNotification,
    call_sequence: i64,
) -> Result<Option<NotificationRecord>, StoreError> {
    let (status, error, finished) = match notification.url {
        Some(_) => (DeliveryStatus::Pending, None, None),
        None => (DeliveryStatus::DeadLettered, Some(NOWHERE), Some(timestamp(notification.queued_at))),
    };
    let seq: i64 = first(
        connection,
        "INSERT INTO notification (message_id, call_id, call_sequence, tenant_id, app_id, url, body, chain_id, \
         scenario_id, raised_at, queued_at, status, last_error, finished_at, offer) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        rusqlite::params![
            notification.message_id.to_string(),
            &notification.call_id,
            call_sequence,
            notification.tenant_id.to_string(),
            notification.app_id.to_string(),
            &notification.url,
            &notification.body,
            &notification.chain_id,
            &notification.scenario_id,
            timestamp(notification.raised_at),
            timestamp(notification.queued_at),
            status.as_str(),
            error,
            finished,
            notification.offer,
        ],
        |row| get(row, "seq"),
    )?
    .ok_or_else(|| StoreError::Backend("an inserted notification returned no sequence number".into()))?;
    Ok((status == DeliveryStatus::Pending).then(|| NotificationRecord::queued(seq, call_sequence, notification)))
}

fn count(row: &Row<'_>, column: &str) -> Result<u32, StoreError> {
    let value: i64 = get(row, column)?;
    Ok(u32::try_from(value).unwrap_or(u32::MAX))
}

fn status_column(row: &Row<'_>, column: &str) -> Result<Option<u16>, StoreError> {
    let value: Option<i64> = get(row, column)?;
    Ok(value.and_then(|s| u16::try_from(s).ok()))
}

fn notification_from_row(row: &Row<'_>) -> Result<NotificationRecord, StoreError> {
    let stored = text(row, "status")?;
    let status = DeliveryStatus::parse(&stored)
        .ok_or_else(|| StoreError::Backend(format!("stored notification status '{stored}' is unknown")))?;
    let message_id = text(row, "message_id")?;
    Ok(NotificationRecord {
        seq: get(row, "seq")?,
        call_sequence: get(row, "call_sequence")?,
        notification: NewNotification {
            message_id: message_id
                .parse()
                .map_err(|e| StoreError::Backend(format!("stored message id '{message_id}' is not a UUID: {e}")))?,
            call_id: text(row, "call_id")?,
            tenant_id: uuid(row, "tenant_id")?,
            app_id: uuid(row, "app_id")?,
            url: get(row, "url")?,
            body: text(row, "body")?,
            chain_id: text(row, "chain_id")?,
            scenario_id: text(row, "scenario_id")?,
            raised_at: required_timestamp(row, "raised_at")?,
            queued_at: required_timestamp(row, "queued_at")?,
            offer: get(row, "offer")?,
        },
        status,
        attempts: count(row, "attempts")?,
        round_attempts: count(row, "round_attempts")?,
        replayed_at: optional_timestamp(row, "replayed_at")?,
        next_attempt_at: optional_timestamp(row, "next_attempt_at")?,
        last_status: status_column(row, "last_status")?,
        last_error: get(row, "last_error")?,
        finished_at: optional_timestamp(row, "finished_at")?,
        set_aside: get(row, "set_aside")?,
    })
}

fn is_due(record: &NotificationRecord, now: DateTime<Utc>) -> bool {
    record.next_attempt_at.is_none_or(|at| at <= now)
}

pub(super) fn deliverable(
    connection: &Connection,
    now: DateTime<Utc>,
    per_call: u32,
    calls: u32,
) -> Result<Vec<NotificationRecord>, StoreError> {
    // The calls whose oldest pending notification is due (read from the pending index alone), receivers taking
    // turns — each receiver's first call, then each one's second … — so thousands waiting for one receiver do not
    // hold up another's; within a receiver, those never tried first (fresh notifications do not queue behind
    // retries), then oldest first; then the first `per_call` pending notifications of each.
    due_from_heads(
        connection,
        "SELECT call_id FROM (SELECT n.call_id, n.seq, n.next_attempt_at IS NOT NULL AS retry, \
         ROW_NUMBER() OVER (PARTITION BY n.url ORDER BY n.next_attempt_at IS NOT NULL, n.seq) AS turn \
         FROM notification n JOIN (SELECT MIN(seq) AS head FROM notification \
         WHERE status = 'pending' AND NOT set_aside GROUP BY call_id) h ON n.seq = h.head \
         WHERE n.next_attempt_at IS NULL OR n.next_attempt_at <= ?) \
         ORDER BY turn, retry, seq LIMIT ?",
        now,
        per_call,
        calls,
    )
}

/// The calls `heads_sql` names (its parameters: `now`, then at most how many), each with its first due notifications.
fn due_from_heads(
    connection: &Connection,
    heads_sql: &str,
    now: DateTime<Utc>,
    per_call: u32,
    calls: u32,
) -> Result<Vec<NotificationRecord>, StoreError> {
    let heads: Vec<String> = all(connection, heads_sql, (timestamp(now), calls), |row| get(row, "call_id"))?;
    first_due_of(connection, &heads, now, per_call)
}

/// The first `per_call` pending notifications of each of `call_ids` that are due, in that order of calls: nothing
/// of a call behind a notification waiting for its retry.
pub(super) fn first_due_of(
    connection: &Connection,
    call_ids: &[String],
    now: DateTime<Utc>,
    per_call: u32,
) -> Result<Vec<NotificationRecord>, StoreError> {
    if call_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Query::new(
        "SELECT * FROM (SELECT n.*, ROW_NUMBER() OVER (PARTITION BY call_id ORDER BY seq) AS position \
         FROM notification n WHERE status = 'pending' AND call_id IN (",
    );
    query.bind_list(call_ids.iter().cloned());
    query.push(")) WHERE position <= ").bind(i64::from(per_call.max(1))).push(" ORDER BY call_id, seq");
    let rows = all(connection, &query.sql, query.params(), notification_from_row)?;
    // Per call: what is taken, and whether a notification waiting for its retry holds the rest back.
    let mut by_call: HashMap<String, (Vec<NotificationRecord>, bool)> = HashMap::new();
    for record in rows {
        let (call, held) = by_call.entry(record.notification.call_id.clone()).or_default();
        let due = is_due(&record, now);
        if record.set_aside {
            // Set aside, it goes when due and holds nothing back.
            if due {
                call.push(record);
            }
        } else if !*held && due {
            call.push(record);
        } else {
            // Nothing of a call may overtake a notification that is waiting for its retry.
            *held = true;
        }
    }
    Ok(call_ids.iter().flat_map(|call_id| by_call.remove(call_id).map(|(call, _)| call).unwrap_or_default()).collect())
}

/// A call's oldest pending notification (`n`), waiting for a retry: read through the retry index, one row per retry
/// rather than the whole outbox.
const RETRY_HEAD: &str = "n.status = 'pending' AND n.next_attempt_at IS NOT NULL AND (n.set_aside \
     OR n.seq = (SELECT MIN(h.seq) FROM notification h \
     WHERE h.status = 'pending' AND NOT h.set_aside AND h.call_id = n.call_id))";

pub(super) fn due_retries(
    connection: &Connection,
    now: DateTime<Utc>,
    per_call: u32,
    calls: u32,
) -> Result<Vec<NotificationRecord>, StoreError> {
    let heads_sql = format!(
        "SELECT n.call_id FROM notification n WHERE {RETRY_HEAD} AND n.next_attempt_at <= ? \
         ORDER BY n.next_attempt_at LIMIT ?"
    );
    due_from_heads(connection, &heads_sql, now, per_call, calls)
}

pub(super) fn next_retry(connection: &Connection, excluding: &[String]) -> Result<Option<DateTime<Utc>>, StoreError> {
    let mut query = Query::new(&format!("SELECT n.next_attempt_at FROM notification n WHERE {RETRY_HEAD}"));
    if !excluding.is_empty() {
        query.push(" AND n.call_id NOT IN (").bind_list(excluding.iter().cloned()).push(")");
    }
    query.push(" ORDER BY n.next_attempt_at LIMIT 1");
    Ok(first(connection, &query.sql, query.params(), |row| optional_timestamp(row, "next_attempt_at"))?.flatten())
}

pub(super) fn record_attempt(
    connection: &mut Connection,
    seqs: &[i64],
    attempt: DeliveryAttempt,
) -> Result<(), StoreError> {
    let finished = Some(timestamp(attempt.started_at + chrono::Duration::milliseconds(attempt.latency_ms.into())));
    let (status, next_attempt_at, finished_at) = match attempt.outcome {
        AttemptOutcome::Delivered | AttemptOutcome::Duplicate => (DeliveryStatus::Delivered, None, finished),
        AttemptOutcome::RetryAt(next) | AttemptOutcome::SetAside(next) => {
            (DeliveryStatus::Pending, Some(timestamp(next)), None)
        }
        AttemptOutcome::DeadLettered => (DeliveryStatus::DeadLettered, None, finished),
    };
    let headers = serde_json::to_string(&attempt.request_headers).expect("header pairs always serialise");
    let set_aside = matches!(attempt.outcome, AttemptOutcome::SetAside(_));
    let transaction = connection.savepoint().map_err(classify)?;
    for seq in seqs {
        execute(
            &transaction,
            "INSERT INTO delivery_attempt (seq, attempt, started_at, latency_ms, url, request_headers, batch_size, \
             status, response_excerpt, error, outcome, next_attempt_at, set_aside) \
             VALUES (?, (SELECT COUNT(*) + 1 FROM delivery_attempt WHERE seq = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params![
                seq,
                seq,
                timestamp(attempt.started_at),
                i64::from(attempt.latency_ms),
                &attempt.url,
                &headers,
                i64::from(attempt.batch_size),
                attempt.status.map(i64::from),
                &attempt.response_excerpt,
                &attempt.error,
                // Stored as the retry it is; the column says it set the notification aside.
                if set_aside { "retry" } else { attempt.outcome.as_str() },
                &next_attempt_at,
                set_aside,
            ],
        )?;
        if attempt.outcome == AttemptOutcome::Duplicate {
            continue;
        }
        execute(
            &transaction,
            "UPDATE notification SET status = ?, attempts = attempts + 1, round_attempts = round_attempts + 1, \
             next_attempt_at = ?, last_status = ?, last_error = ?, finished_at = ?, set_aside = set_aside OR ? \
             WHERE seq = ? AND status = 'pending'",
            (
                status.as_str(),
                &next_attempt_at,
                attempt.status.map(i64::from),
                &attempt.error,
                &finished_at,
                set_aside,
                seq,
            ),
        )?;
    }
    transaction.commit().map_err(classify)
}

pub(super) fn list(connection: &Connection, filter: NotificationFilter) -> Result<Vec<NotificationRecord>, StoreError> {
    let mut query = Query::new("SELECT * FROM notification WHERE seq > ");
    query.bind(filter.after);
    if let Some(tenant_id) = filter.tenant_id {
        query.push(" AND tenant_id = ").bind(tenant_id.to_string());
    }
    if let Some(app_id) = filter.app_id {
        query.push(" AND app_id = ").bind(app_id.to_string());
    }
    if let Some(call_id) = filter.call_id {
        query.push(" AND call_id = ").bind(call_id);
    }
    if let Some(status) = filter.status {
        // Written out, not bound: only a literal status lets SQLite use the partial pending and dead-letter indexes.
        query.push(&format!(" AND status = '{}'", status.as_str()));
    }
    if let Some(since) = filter.raised_since {
        query.push(" AND raised_at >= ").bind(timestamp(since));
    }
    if let Some(before) = filter.raised_before {
        query.push(" AND raised_at < ").bind(timestamp(before));
    }
    query.push(" ORDER BY seq LIMIT ").bind(i64::from(filter.limit));
    all(connection, &query.sql, query.params(), notification_from_row)
}

pub(super) fn get_one(connection: &Connection, seq: i64) -> Result<Option<NotificationRecord>, StoreError> {
    first(connection, "SELECT * FROM notification WHERE seq = ?", [seq], notification_from_row)
}

fn attempt_from_row(row: &Row<'_>) -> Result<AttemptRecord, StoreError> {
    let outcome = match text(row, "outcome")?.as_str() {
        "delivered" => AttemptOutcome::Delivered,
        "deadLettered" => AttemptOutcome::DeadLettered,
        "duplicate" => AttemptOutcome::Duplicate,
        "retry" if get::<bool>(row, "set_aside")? => {
            AttemptOutcome::SetAside(required_timestamp(row, "next_attempt_at")?)
        }
        "retry" => AttemptOutcome::RetryAt(required_timestamp(row, "next_attempt_at")?),
        other => return Err(StoreError::Backend(format!("stored attempt outcome '{other}' is unknown"))),
    };
    let headers = text(row, "request_headers")?;
    Ok(AttemptRecord {
        seq: get(row, "seq")?,
        attempt: count(row, "attempt")?,
        delivery: DeliveryAttempt {
            started_at: required_timestamp(row, "started_at")?,
            latency_ms: count(row, "latency_ms")?,
            url: text(row, "url")?,
            request_headers: serde_json::from_str(&headers)
                .map_err(|e| StoreError::Backend(format!("stored request headers are not a list of pairs: {e}")))?,
            batch_size: count(row, "batch_size")?,
            status: status_column(row, "status")?,
            response_excerpt: get(row, "response_excerpt")?,
            error: get(row, "error")?,
            outcome,
        },
    })
}

pub(super) fn attempts(connection: &Connection, seq: i64) -> Result<Vec<AttemptRecord>, StoreError> {
    all(connection, "SELECT * FROM delivery_attempt WHERE seq = ? ORDER BY attempt", [seq], attempt_from_row)
}

pub(super) fn replay(
    connection: &Connection,
    selection: ReplaySelection,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut query = Query::new("UPDATE notification SET status = 'pending', url = ");
    query.push("COALESCE(").bind(selection.url.clone()).push(", url)");
    query.push(", round_attempts = 0, next_attempt_at = NULL, finished_at = NULL, replayed_at = ");
    query.bind(timestamp(now));
    query.push(" WHERE status = 'deadLettered' AND COALESCE(").bind(selection.url).push(", url) IS NOT NULL");
    if let Some(seq) = selection.seq {
        query.push(" AND seq = ").bind(seq);
    }
    if let Some(tenant_id) = selection.tenant_id {
        query.push(" AND tenant_id = ").bind(tenant_id.to_string());
    }
    if let Some(app_id) = selection.app_id {
        query.push(" AND app_id = ").bind(app_id.to_string());
    }
    if let Some(call_id) = selection.call_id {
        query.push(" AND call_id = ").bind(call_id);
    }
    execute(connection, &query.sql, query.params())
}

pub(super) fn counts(connection: &Connection) -> Result<NotificationCounts, StoreError> {
    // Each from an index, never the table's rows (which carry the bodies): pending and dead-lettered from their
    // partial indexes, all of them from the smallest index SQLite has; delivered is the rest.
    let [pending, dead_lettered, total] = [
        "SELECT COUNT(*) AS n FROM notification WHERE status = 'pending'",
        "SELECT COUNT(*) AS n FROM notification WHERE status = 'deadLettered'",
        "SELECT COUNT(*) AS n FROM notification",
    ]
    .map(|sql| first(connection, sql, [], |row| get::<i64>(row, "n")).map(Option::unwrap_or_default));
    let (pending, dead_lettered, total) = (pending?, dead_lettered?, total?);
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    Ok(NotificationCounts {
        pending: count(pending),
        dead_lettered: count(dead_lettered),
        delivered: count(total - pending - dead_lettered),
    })
}

pub(super) fn prune(
    connection: &mut Connection,
    finished_before: DateTime<Utc>,
    keep_at_most: u64,
) -> Result<u64, StoreError> {
    let transaction = connection.savepoint().map_err(classify)?;
    let old = execute(
        &transaction,
        "DELETE FROM notification WHERE finished_at IS NOT NULL AND finished_at < ?",
        [timestamp(finished_before)],
    )?;
    let excess = execute(
        &transaction,
        "DELETE FROM notification WHERE seq IN (SELECT seq FROM notification WHERE finished_at IS NOT NULL \
         ORDER BY seq DESC LIMIT -1 OFFSET ?)",
        [i64::try_from(keep_at_most).unwrap_or(i64::MAX)],
    )?;
    transaction.commit().map_err(classify)?;
    Ok(old + excess)
}
