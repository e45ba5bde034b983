//! Calls, timers and the simulated world, in SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};
use uuid::Uuid;

use super::{Query, all, classify, execute, first, get, optional_timestamp, required_timestamp, text, timestamp, uuid};
use crate::{
    CallChange, CallFilter, CallRecord, Claimant, Lease, NodeRecord, NotificationRecord, OperationRecord, StoreError,
    TimerRecord, WorldEntityRecord,
};

pub(super) fn commit_call(
    connection: &mut Connection,
    change: CallChange,
) -> Result<Vec<NotificationRecord>, StoreError> {
    let CallChange {
        call,
        lease,
        expected_version,
        fired,
        timers,
        cancelled_timers,
        forgotten_operations,
        notifications,
    } = change;
    if let Some(stray) = notifications.iter().find(|notification| notification.call_id != call.call_id) {
        return Err(StoreError::Backend(format!(
            "a change of call {} carries a notification of call {}: a change raises its own call's only",
            call.call_id, stray.call_id
        )));
    }
    let raised = i64::try_from(notifications.len()).unwrap_or(i64::MAX);
    let transaction = connection.savepoint().map_err(classify)?;
    // One statement writes the call, checks its version and (for a stored call) the lease, and numbers the change's
    // notifications in the call's sequence: it answers how many the call has raised with them.
    let raised_through: Option<i64> = match expected_version {
        None => first(
            &transaction,
            "INSERT INTO call (call_id, tenant_id, app_id, state, version, document, created_at, updated_at, ended_at, \
             notifications_raised) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING \
             RETURNING notifications_raised",
            rusqlite::params![
                &call.call_id,
                call.tenant_id.to_string(),
                call.app_id.to_string(),
                &call.state,
                call.version,
                &call.document,
                timestamp(call.created_at),
                timestamp(call.updated_at),
                call.ended_at.map(timestamp),
                raised,
            ],
            |row| get(row, "notifications_raised"),
        )?,
        Some(expected) => first(
            &transaction,
            "UPDATE call SET state = ?, version = ?, document = ?, updated_at = ?, ended_at = ?, \
             notifications_raised = notifications_raised + ? \
             WHERE call_id = ? AND version = ? AND EXISTS \
             (SELECT 1 FROM call_owner o WHERE o.call_id = call.call_id AND o.node_id = ? AND o.epoch = ?) \
             RETURNING notifications_raised",
            rusqlite::params![
                &call.state,
                call.version,
                &call.document,
                timestamp(call.updated_at),
                call.ended_at.map(timestamp),
                raised,
                &call.call_id,
                expected,
                &lease.node_id,
                lease.epoch,
            ],
            |row| get(row, "notifications_raised"),
        )?,
    };
    let Some(raised_through) = raised_through else {
        // Refused: a stale lease is told apart from a stale version (the lease first, as a fenced node must stop).
        if expected_version.is_some() && owner(&transaction, &call.call_id)?.as_ref() != Some(&lease) {
            return Err(StoreError::Fenced {
                call_id: call.call_id.clone(),
                node_id: lease.node_id.clone(),
                epoch: lease.epoch,
            });
        }
        return Err(StoreError::Conflict { what: format!("call {}", call.call_id) });
    };
    if expected_version.is_none() {
        execute(
            &transaction,
            "INSERT INTO call_owner (call_id, node_id, epoch) VALUES (?, ?, ?) \
             ON CONFLICT (call_id) DO UPDATE SET node_id = excluded.node_id, epoch = excluded.epoch",
            (&call.call_id, &lease.node_id, lease.epoch),
        )?;
    }
    for operation in &call.operations {
        // An operation keeps its row (and its place in the call's order) as it changes.
        execute(
            &transaction,
            "INSERT INTO call_operation (call_id, operation_id, document) VALUES (?, ?, ?) \
             ON CONFLICT (call_id, operation_id) DO UPDATE SET document = excluded.document",
            (&call.call_id, &operation.operation_id, &operation.document),
        )?;
    }
    for operation_id in &forgotten_operations {
        execute(
            &transaction,
            "DELETE FROM call_operation WHERE call_id = ? AND operation_id = ?",
            (&call.call_id, operation_id),
        )?;
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
        execute(&transaction, "DELETE FROM call_operation WHERE call_id = ?", [&call.call_id])?;
        execute(
            &transaction,
            "UPDATE notification SET status = 'deadLettered', last_error = ?, finished_at = ?, next_attempt_at = NULL \
             WHERE call_id = ? AND status = 'pending' AND offer",
            (super::outbox::OFFER_OUTLIVED, timestamp(ended_at), &call.call_id),
        )?;
    }
    let mut queued = Vec::with_capacity(notifications.len());
    for (call_sequence, notification) in (raised_through - raised + 1..).zip(notifications) {
        queued.extend(super::outbox::insert(&transaction, notification, call_sequence)?);
    }
    transaction.commit().map_err(classify)?;
    Ok(queued)
}

/// The call's current lease, if a node holds it.
fn owner(connection: &Connection, call_id: &str) -> Result<Option<Lease>, StoreError> {
    let row = first(connection, "SELECT node_id, epoch FROM call_owner WHERE call_id = ?", [call_id], |row| {
        Ok(Lease { node_id: text(row, "node_id")?, epoch: get(row, "epoch")? })
    })?;
    Ok(row.filter(|lease| !lease.node_id.is_empty()))
}

pub(super) fn heartbeat(connection: &mut Connection, node: &NodeRecord) -> Result<bool, StoreError> {
    let transaction = connection.savepoint().map_err(classify)?;
    let alive = first(
        &transaction,
        "SELECT expires_at > ? AS alive FROM node WHERE node_id = ?",
        (timestamp(node.heartbeat_at), &node.node_id),
        |row| get::<bool>(row, "alive"),
    )?
    .unwrap_or(false);
    execute(
        &transaction,
        "INSERT INTO node (node_id, address, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, started_at = excluded.started_at, \
         heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at",
        (
            &node.node_id,
            &node.address,
            timestamp(node.started_at),
            timestamp(node.heartbeat_at),
            timestamp(node.expires_at),
        ),
    )?;
    transaction.commit().map_err(classify)?;
    Ok(alive)
}

/// Whether a live node other than `node_id` holds the call (the condition [`acquire_call`] and the timer claim
/// share): the call's owner, unless released, is `node_id` itself, or its node's heartbeat expired by `now`.
const HELD_ELSEWHERE: &str = "o.node_id <> '' AND o.node_id <> ?1 \
     AND EXISTS (SELECT 1 FROM node n WHERE n.node_id = o.node_id AND n.expires_at > ?2)";

pub(super) fn acquire_call(
    connection: &mut Connection,
    call_id: &str,
    node_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Lease>, StoreError> {
    let transaction = connection.savepoint().map_err(classify)?;
    if first(&transaction, "SELECT 1 AS found FROM call WHERE call_id = ?", [call_id], |row| get::<i64>(row, "found"))?
        .is_none()
    {
        return Ok(None);
    }
    let held = first(
        &transaction,
        &format!("SELECT 1 AS held FROM call_owner o WHERE o.call_id = ?3 AND {HELD_ELSEWHERE}"),
        (node_id, timestamp(now), call_id),
        |row| get::<i64>(row, "held"),
    )?;
    if held.is_some() {
        return Ok(None);
    }
    let epoch = first(
        &transaction,
        "INSERT INTO call_owner (call_id, node_id, epoch) VALUES (?1, ?2, 1) \
         ON CONFLICT (call_id) DO UPDATE SET node_id = excluded.node_id, epoch = call_owner.epoch + 1 \
         RETURNING epoch",
        (call_id, node_id),
        |row| get::<i64>(row, "epoch"),
    )?
    .expect("invariant: an upsert with RETURNING returns its row");
    transaction.commit().map_err(classify)?;
    Ok(Some(Lease { node_id: node_id.to_owned(), epoch }))
}

pub(super) fn release_call(connection: &Connection, call_id: &str, lease: &Lease) -> Result<(), StoreError> {
    execute(
        connection,
        "UPDATE call_owner SET node_id = '' WHERE call_id = ? AND node_id = ? AND epoch = ?",
        (call_id, &lease.node_id, lease.epoch),
    )
    .map(drop)
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
        operations: Vec::new(),
        created_at: required_timestamp(row, "created_at")?,
        updated_at: required_timestamp(row, "updated_at")?,
        ended_at: optional_timestamp(row, "ended_at")?,
    })
}

/// The calls of `records` with their operations, read for all of them at once (a restart walks every call).
fn with_operations(connection: &Connection, mut records: Vec<CallRecord>) -> Result<Vec<CallRecord>, StoreError> {
    if records.is_empty() {
        return Ok(records);
    }
    let mut query = Query::new("SELECT call_id, operation_id, document FROM call_operation WHERE call_id IN (");
    query.bind_list(records.iter().map(|record| record.call_id.clone())).push(") ORDER BY call_id, seq");
    let rows = all(connection, &query.sql, query.params(), |row| {
        let operation = OperationRecord { operation_id: text(row, "operation_id")?, document: text(row, "document")? };
        Ok((text(row, "call_id")?, operation))
    })?;
    let mut by_call: std::collections::HashMap<String, Vec<OperationRecord>> = std::collections::HashMap::new();
    for (call_id, operation) in rows {
        by_call.entry(call_id).or_default().push(operation);
    }
    for record in &mut records {
        record.operations = by_call.remove(&record.call_id).unwrap_or_default();
    }
    Ok(records)
}

pub(super) fn call(connection: &Connection, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
    let found = first(connection, "SELECT * FROM call WHERE call_id = ?", [call_id], call_from_row)?;
    Ok(with_operations(connection, found.into_iter().collect())?.pop())
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
    let records = all(connection, &query.sql, query.params(), call_from_row)?;
    with_operations(connection, records)
}

pub(super) fn claimable_calls_after(
    connection: &Connection,
    claimant: &Claimant,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<(CallRecord, Option<Lease>)>, StoreError> {
    let found = all(
        connection,
        &format!(
            "SELECT c.*, o.node_id AS owner_node_id, o.epoch AS owner_epoch \
             FROM call c LEFT JOIN call_owner o ON o.call_id = c.call_id \
             WHERE c.ended_at IS NULL AND c.call_id > ?3 AND (o.call_id IS NULL OR NOT ({HELD_ELSEWHERE})) \
             ORDER BY c.call_id LIMIT ?4"
        ),
        (&claimant.node_id, timestamp(claimant.at), after.unwrap_or_default(), limit),
        |row| {
            let node_id: Option<String> = get(row, "owner_node_id")?;
            let lease = match (node_id.filter(|node_id| !node_id.is_empty()), get(row, "owner_epoch")?) {
                (Some(node_id), Some(epoch)) => Some(Lease { node_id, epoch }),
                _ => None,
            };
            Ok((call_from_row(row)?, lease))
        },
    )?;
    let (records, leases): (Vec<CallRecord>, Vec<Option<Lease>>) = found.into_iter().unzip();
    Ok(with_operations(connection, records)?.into_iter().zip(leases).collect())
}

fn timer_from_row(row: &Row<'_>) -> Result<TimerRecord, StoreError> {
    Ok(TimerRecord {
        call_id: text(row, "call_id")?,
        key: text(row, "timer_key")?,
        due_at: required_timestamp(row, "due_at")?,
    })
}

/// The timers `claimant` may fire: those of calls no other live node holds.
fn claimable_timers(columns: &str, rest: &str) -> String {
    format!(
        "SELECT {columns} FROM call_timer t LEFT JOIN call_owner o ON o.call_id = t.call_id \
         WHERE (o.call_id IS NULL OR NOT ({HELD_ELSEWHERE})) {rest}"
    )
}

pub(super) fn due_timers(
    connection: &Connection,
    until: DateTime<Utc>,
    limit: u32,
    claimant: &Claimant,
) -> Result<Vec<TimerRecord>, StoreError> {
    all(
        connection,
        &claimable_timers(
            "t.call_id, t.timer_key, t.due_at",
            "AND t.due_at <= ?3 ORDER BY t.due_at, t.call_id, t.timer_key LIMIT ?4",
        ),
        (&claimant.node_id, timestamp(claimant.at), timestamp(until), limit),
        timer_from_row,
    )
}

pub(super) fn next_timer_due(
    connection: &Connection,
    claimant: &Claimant,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    first(
        connection,
        &claimable_timers("MIN(t.due_at) AS due_at", ""),
        (&claimant.node_id, timestamp(claimant.at)),
        |row| optional_timestamp(row, "due_at"),
    )
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
             DELETE FROM call_owner; DELETE FROM call_operation; DELETE FROM call;",
        )
        .map_err(classify)?;
    transaction.commit().map_err(classify)
}
