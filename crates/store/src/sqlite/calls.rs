//! Calls, timers and the simulated world, in SQLite.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, sqlite::SqliteRow};
use uuid::Uuid;

use super::{classify, optional_timestamp, required_timestamp, text, timestamp, uuid};
use crate::{CallChange, CallFilter, CallRecord, StoreError, TimerRecord, WorldEntityRecord};

pub(super) async fn commit_call(pool: &SqlitePool, change: CallChange) -> Result<(), StoreError> {
    let CallChange { call, expected_version, fired, timers, notifications } = change;
    let mut transaction = pool.begin().await.map_err(classify)?;
    let written = match expected_version {
        None => sqlx::query(
            "INSERT INTO call (call_id, tenant_id, app_id, state, version, document, created_at, updated_at, ended_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&call.call_id)
        .bind(call.tenant_id.to_string())
        .bind(call.app_id.to_string())
        .bind(&call.state)
        .bind(call.version)
        .bind(&call.document)
        .bind(timestamp(call.created_at))
        .bind(timestamp(call.updated_at))
        .bind(call.ended_at.map(timestamp)),
        Some(expected) => sqlx::query(
            "UPDATE call SET state = ?, version = ?, document = ?, updated_at = ?, ended_at = ? \
             WHERE call_id = ? AND version = ?",
        )
        .bind(&call.state)
        .bind(call.version)
        .bind(&call.document)
        .bind(timestamp(call.updated_at))
        .bind(call.ended_at.map(timestamp))
        .bind(&call.call_id)
        .bind(expected),
    }
    .execute(&mut *transaction)
    .await
    .map_err(classify)?;
    if written.rows_affected() != 1 {
        return Err(StoreError::Conflict { what: format!("call {}", call.call_id) });
    }
    if let Some(fired) = &fired {
        delete_timer_in(&mut transaction, fired).await?;
    }
    for timer in &timers {
        sqlx::query(
            "INSERT INTO call_timer (call_id, timer_key, due_at) VALUES (?, ?, ?) \
             ON CONFLICT (call_id, timer_key) DO UPDATE SET due_at = excluded.due_at",
        )
        .bind(&timer.call_id)
        .bind(&timer.key)
        .bind(timestamp(timer.due_at))
        .execute(&mut *transaction)
        .await
        .map_err(classify)?;
    }
    if call.ended_at.is_some() {
        sqlx::query("DELETE FROM call_timer WHERE call_id = ?")
            .bind(&call.call_id)
            .execute(&mut *transaction)
            .await
            .map_err(classify)?;
    }
    for notification in &notifications {
        super::outbox::insert(&mut transaction, notification).await?;
    }
    transaction.commit().await.map_err(classify)
}

async fn delete_timer_in(connection: &mut sqlx::SqliteConnection, timer: &TimerRecord) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM call_timer WHERE call_id = ? AND timer_key = ? AND due_at = ?")
        .bind(&timer.call_id)
        .bind(&timer.key)
        .bind(timestamp(timer.due_at))
        .execute(connection)
        .await
        .map(|_| ())
        .map_err(classify)
}

fn call_from_row(row: &SqliteRow) -> Result<CallRecord, StoreError> {
    Ok(CallRecord {
        call_id: text(row, "call_id")?,
        tenant_id: uuid(row, "tenant_id")?,
        app_id: uuid(row, "app_id")?,
        state: text(row, "state")?,
        version: row.try_get("version").map_err(classify)?,
        document: text(row, "document")?,
        created_at: required_timestamp(row, "created_at")?,
        updated_at: required_timestamp(row, "updated_at")?,
        ended_at: optional_timestamp(row, "ended_at")?,
    })
}

pub(super) async fn call(pool: &SqlitePool, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM call WHERE call_id = ?").bind(call_id).fetch_optional(pool).await;
    row.map_err(classify)?.as_ref().map(call_from_row).transpose()
}

pub(super) async fn calls(pool: &SqlitePool, filter: CallFilter) -> Result<Vec<CallRecord>, StoreError> {
    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM call WHERE 1 = 1");
    if let Some(tenant_id) = filter.tenant_id {
        query.push(" AND tenant_id = ").push_bind(tenant_id.to_string());
    }
    if let Some(app_id) = filter.app_id {
        query.push(" AND app_id = ").push_bind(app_id.to_string());
    }
    if filter.active_only {
        query.push(" AND ended_at IS NULL");
    }
    query.push(" ORDER BY created_at DESC, call_id LIMIT ").push_bind(i64::from(filter.limit));
    let rows = query.build().fetch_all(pool).await.map_err(classify)?;
    rows.iter().map(call_from_row).collect()
}

fn timer_from_row(row: &SqliteRow) -> Result<TimerRecord, StoreError> {
    Ok(TimerRecord {
        call_id: text(row, "call_id")?,
        key: text(row, "timer_key")?,
        due_at: required_timestamp(row, "due_at")?,
    })
}

pub(super) async fn due_timers(
    pool: &SqlitePool,
    until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<TimerRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM call_timer WHERE due_at <= ? ORDER BY due_at, call_id, timer_key LIMIT ?")
        .bind(timestamp(until))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(classify)?;
    rows.iter().map(timer_from_row).collect()
}

pub(super) async fn next_timer_due(pool: &SqlitePool) -> Result<Option<DateTime<Utc>>, StoreError> {
    let row = sqlx::query("SELECT MIN(due_at) AS due_at FROM call_timer").fetch_one(pool).await.map_err(classify)?;
    optional_timestamp(&row, "due_at")
}

pub(super) async fn delete_timer(pool: &SqlitePool, timer: &TimerRecord) -> Result<(), StoreError> {
    let mut connection = pool.acquire().await.map_err(classify)?;
    delete_timer_in(&mut connection, timer).await
}

fn entity_from_row(row: &SqliteRow) -> Result<WorldEntityRecord, StoreError> {
    Ok(WorldEntityRecord {
        tenant_id: uuid(row, "tenant_id")?,
        kind: text(row, "kind")?,
        key: text(row, "entity_key")?,
        document: text(row, "document")?,
        updated_at: required_timestamp(row, "updated_at")?,
    })
}

pub(super) async fn put_world_entity(pool: &SqlitePool, entity: WorldEntityRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO world_entity (tenant_id, kind, entity_key, document, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (tenant_id, kind, entity_key) DO UPDATE SET document = excluded.document, \
         updated_at = excluded.updated_at",
    )
    .bind(entity.tenant_id.to_string())
    .bind(&entity.kind)
    .bind(&entity.key)
    .bind(&entity.document)
    .bind(timestamp(entity.updated_at))
    .execute(pool)
    .await
    .map(|_| ())
    .map_err(classify)
}

pub(super) async fn world_entity(
    pool: &SqlitePool,
    tenant_id: Uuid,
    kind: &str,
    key: &str,
) -> Result<Option<WorldEntityRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM world_entity WHERE tenant_id = ? AND kind = ? AND entity_key = ?")
        .bind(tenant_id.to_string())
        .bind(kind)
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(classify)?;
    row.as_ref().map(entity_from_row).transpose()
}

pub(super) async fn world_entities(
    pool: &SqlitePool,
    tenant_id: Option<Uuid>,
    kind: Option<&str>,
) -> Result<Vec<WorldEntityRecord>, StoreError> {
    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM world_entity WHERE 1 = 1");
    if let Some(tenant_id) = tenant_id {
        query.push(" AND tenant_id = ").push_bind(tenant_id.to_string());
    }
    if let Some(kind) = kind {
        query.push(" AND kind = ").push_bind(kind.to_owned());
    }
    query.push(" ORDER BY tenant_id, kind, entity_key");
    let rows = query.build().fetch_all(pool).await.map_err(classify)?;
    rows.iter().map(entity_from_row).collect()
}

pub(super) async fn delete_world_entity(
    pool: &SqlitePool,
    tenant_id: Uuid,
    kind: &str,
    key: &str,
) -> Result<bool, StoreError> {
    let deleted = sqlx::query("DELETE FROM world_entity WHERE tenant_id = ? AND kind = ? AND entity_key = ?")
        .bind(tenant_id.to_string())
        .bind(kind)
        .bind(key)
        .execute(pool)
        .await
        .map_err(classify)?;
    Ok(deleted.rows_affected() > 0)
}

pub(super) async fn reset_simulation(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut transaction = pool.begin().await.map_err(classify)?;
    sqlx::raw_sql(
        "DELETE FROM world_entity; DELETE FROM call_timer; DELETE FROM notification; DELETE FROM recording; \
         DELETE FROM call;",
    )
    .execute(&mut *transaction)
    .await
    .map_err(classify)?;
    transaction.commit().await.map_err(classify)
}
