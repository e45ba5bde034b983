//! Calls, timers and the simulated world, in SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};
use uuid::Uuid;

use super::{Query, all, classify, execute, first, get, optional_timestamp, required_timestamp, text, timestamp, uuid};
use crate::{CallChange, CallFilter, CallRecord, StoreError, TimerRecord, WorldEntityRecord};

pub(super) fn commit_call(connection: &mut Connection, change: CallChange) -> Result<(), StoreError> {
    let CallChange { call, expected_version, fired, timers, cancelled_timers, notifications } = change;
    let transaction = connection.savepoint().map_err(classify)?;
    let written = match expected_version {
        None => execute(
            &transaction,
            "INSERT INTO call (call_id, tenant_id, app_id, state, version, document, created_at, updated_at, ended_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                &call.call_id,
                call.tenant_id.to_string(),
                call.app_id.to_string(),
                &call.state,
                call.version,
                &call.document,
                timestamp(call.created_at),
                timestamp(call.updated_at),
                call.ended_at.map(timestamp),
            ),
        )?,
        Some(expected) => execute(
            &transaction,
            "UPDATE call SET state = ?, version = ?, document = ?, updated_at = ?, ended_at = ? \
             WHERE call_id = ? AND version = ?",
            (
                &call.state,
                call.version,
                &call.document,
                timestamp(call.updated_at),
                call.ended_at.map(timestamp),
                &call.call_id,
                expected,
            ),
        )?,
    };
    if written != 1 {
        return Err(StoreError::Conflict { what: format!("call {}", call.call_id) });
    }
    if let Some(fired) = &fired {
        delete_timer(&transaction, fired)?;
    }
    for timer in &timers {
        execute(
            &transaction,
            "INSERT INTO call_timer (call_id, timer_key, due_at) VALUES (?, ?, ?) \
             ON CONFLICT (call_id, timer_key) DO UPDATE SET due_at = excluded.due_at",
            (&timer.call_id, &timer.key, timestamp(timer.due_at)),
        )?;
    }
    for key in &cancelled_timers {
        execute(&transaction, "DELETE FROM call_timer WHERE call_id = ? AND timer_key = ?", (&call.call_id, key))?;
    }
    if let Some(ended_at) = call.ended_at {
        execute(&transaction, "DELETE FROM call_timer WHERE call_id = ?", [&call.call_id])?;
        execute(
            &transaction,
            "UPDATE notification SET status = 'deadLettered', last_error = ?, finished_at = ?, next_attempt_at = NULL \
             WHERE call_id = ? AND status = 'pending' AND offer",
            (super::outbox::OFFER_OUTLIVED, timestamp(ended_at), &call.call_id),
        )?;
    }
    for notification in &notifications {
        super::outbox::insert(&transaction, notification)?;
    }
    transaction.commit().map_err(classify)
}

pub(super) fn delete_timer(connection: &Connection, timer: &TimerRecord) -> Result<(), StoreError> {
    execute(
        connection,
        "DELETE FROM call_timer WHERE call_id = ? AND timer_key = ? AND due_at = ?",
        (&timer.call_id, &timer.key, timestamp(timer.due_at)),
    )
    .map(drop)
}

fn call_from_row(row: &Row<'_>) -> Result<CallRecord, StoreError> {
    Ok(CallRecord {
        call_id: text(row, "call_id")?,
        tenant_id: uuid(row, "tenant_id")?,
        app_id: uuid(row, "app_id")?,
        state: text(row, "state")?,
        version: get(row, "version")?,
        document: text(row, "document")?,
        created_at: required_timestamp(row, "created_at")?,
        updated_at: required_timestamp(row, "updated_at")?,
        ended_at: optional_timestamp(row, "ended_at")?,
    })
}

pub(super) fn call(connection: &Connection, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
    first(connection, "SELECT * FROM call WHERE call_id = ?", [call_id], call_from_row)
}

pub(super) fn calls(connection: &Connection, filter: CallFilter) -> Result<Vec<CallRecord>, StoreError> {
    let mut query = Query::new("SELECT * FROM call WHERE 1 = 1");
    if let Some(tenant_id) = filter.tenant_id {
        query.push(" AND tenant_id = ").bind(tenant_id.to_string());
    }
    if let Some(app_id) = filter.app_id {
        query.push(" AND app_id = ").bind(app_id.to_string());
    }
    if filter.active_only {
        query.push(" AND ended_at IS NULL");
    }
    query.push(" ORDER BY created_at DESC, call_id LIMIT ").bind(i64::from(filter.limit));
    all(connection, &query.sql, query.params(), call_from_row)
}

pub(super) fn active_calls_after(
    connection: &Connection,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<CallRecord>, StoreError> {
    all(
        connection,
        "SELECT * FROM call WHERE ended_at IS NULL AND call_id > ? ORDER BY call_id LIMIT ?",
        (after.unwrap_or_default(), limit),
        call_from_row,
    )
}

fn timer_from_row(row: &Row<'_>) -> Result<TimerRecord, StoreError> {
    Ok(TimerRecord {
        call_id: text(row, "call_id")?,
        key: text(row, "timer_key")?,
        due_at: required_timestamp(row, "due_at")?,
    })
}

pub(super) fn due_timers(
    connection: &Connection,
    until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<TimerRecord>, StoreError> {
    all(
        connection,
        "SELECT * FROM call_timer WHERE due_at <= ? ORDER BY due_at, call_id, timer_key LIMIT ?",
        (timestamp(until), limit),
        timer_from_row,
    )
}

pub(super) fn next_timer_due(connection: &Connection) -> Result<Option<DateTime<Utc>>, StoreError> {
    first(connection, "SELECT MIN(due_at) AS due_at FROM call_timer", [], |row| optional_timestamp(row, "due_at"))
        .map(Option::flatten)
}

fn entity_from_row(row: &Row<'_>) -> Result<WorldEntityRecord, StoreError> {
    Ok(WorldEntityRecord {
        tenant_id: uuid(row, "tenant_id")?,
        kind: text(row, "kind")?,
        key: text(row, "entity_key")?,
        document: text(row, "document")?,
        updated_at: required_timestamp(row, "updated_at")?,
    })
}

pub(super) fn put_world_entity(connection: &Connection, entity: WorldEntityRecord) -> Result<(), StoreError> {
    execute(
        connection,
        "INSERT INTO world_entity (tenant_id, kind, entity_key, document, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (tenant_id, kind, entity_key) DO UPDATE SET document = excluded.document, \
         updated_at = excluded.updated_at",
        (entity.tenant_id.to_string(), &entity.kind, &entity.key, &entity.document, timestamp(entity.updated_at)),
    )
    .map(drop)
}

pub(super) fn world_entity(
    connection: &Connection,
    tenant_id: Uuid,
    kind: &str,
    key: &str,
) -> Result<Option<WorldEntityRecord>, StoreError> {
    first(
        connection,
        "SELECT * FROM world_entity WHERE tenant_id = ? AND kind = ? AND entity_key = ?",
        (tenant_id.to_string(), kind, key),
        entity_from_row,
    )
}

pub(super) fn world_entities(
    connection: &Connection,
    tenant_id: Option<Uuid>,
    kind: Option<&str>,
) -> Result<Vec<WorldEntityRecord>, StoreError> {
    let mut query = Query::new("SELECT * FROM world_entity WHERE 1 = 1");
    if let Some(tenant_id) = tenant_id {
        query.push(" AND tenant_id = ").bind(tenant_id.to_string());
    }
    if let Some(kind) = kind {
        query.push(" AND kind = ").bind(kind.to_owned());
    }
    query.push(" ORDER BY tenant_id, kind, entity_key");
    all(connection, &query.sql, query.params(), entity_from_row)
}

pub(super) fn delete_world_entity(
    connection: &Connection,
    tenant_id: Uuid,
    kind: &str,
    key: &str,
) -> Result<bool, StoreError> {
    let deleted = execute(
        connection,
        "DELETE FROM world_entity WHERE tenant_id = ? AND kind = ? AND entity_key = ?",
        (tenant_id.to_string(), kind, key),
    )?;
    Ok(deleted > 0)
}

pub(super) fn reset_simulation(connection: &mut Connection) -> Result<(), StoreError> {
    let transaction = connection.savepoint().map_err(classify)?;
    transaction
        .execute_batch(
            "DELETE FROM world_entity; DELETE FROM call_timer; DELETE FROM notification; DELETE FROM recording; \
             DELETE FROM call;",
        )
        .map_err(classify)?;
    transaction.commit().map_err(classify)
}
