//! The embedded default: one SQLite file in the data directory, in WAL mode.
//!
//! `synchronous = NORMAL` with WAL loses no committed transaction when the process is killed (the WAL is in the
//! OS page cache); only a power cut can drop the last few. Every write is one transaction.

use std::{path::Path, str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    Row,
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous},
};
use uuid::Uuid;

use crate::{DeviceQualityReport, Instance, NewDeviceQualityReport, Store, StoreError};

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `database` and brings its schema up to date. `now` is recorded as the store's
    /// creation time on first use.
    pub async fn open(database: &Path, now: DateTime<Utc>) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(database)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(classify)?;
        Self::prepare(pool, now).await
    }

    /// A store that lives in memory and is gone when the process ends (`serve --ephemeral`, tests).
    pub async fn in_memory(now: DateTime<Utc>) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(classify)?.foreign_keys(true);
        // Every connection to `:memory:` is a database of its own, so the pool holds exactly one, forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(classify)?;
        Self::prepare(pool, now).await
    }

    async fn prepare(pool: SqlitePool, now: DateTime<Utc>) -> Result<SqliteStore, StoreError> {
        let known = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_optional(&pool)
            .await
            .ok()
            .flatten();
        if let Some(found) = applied.filter(|found| *found > known) {
            return Err(StoreError::TooNew { found, known });
        }
        MIGRATIONS.run(&pool).await.map_err(|e| StoreError::Backend(format!("migrating the schema: {e}")))?;
        sqlx::query(
            "INSERT INTO instance (singleton, instance_id, created_at) VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(timestamp(now))
        .execute(&pool)
        .await
        .map_err(classify)?;
        Ok(SqliteStore { pool })
    }
}

/// Timestamps are stored as RFC 3339 text with microseconds: sortable, readable in the sqlite3 shell.
fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Backend(format!("stored timestamp '{text}' is invalid: {e}")))
}

/// Turns the SQLite result codes a person can act on into their own variants.
fn classify(error: sqlx::Error) -> StoreError {
    let text = error.to_string();
    let code = error.as_database_error().and_then(|e| e.code()).and_then(|c| c.parse::<i32>().ok());
    // Extended result codes keep the primary code in their low byte.
    match code.map(|c| c & 0xff) {
        Some(13) => StoreError::Full(text),    // SQLITE_FULL
        Some(8) => StoreError::ReadOnly(text), // SQLITE_READONLY
        Some(5 | 6) => StoreError::Busy(text), // SQLITE_BUSY, SQLITE_LOCKED
        _ if text.contains("unable to open database file") => StoreError::ReadOnly(text),
        _ => StoreError::Backend(text),
    }
}

fn report_from_row(row: &SqliteRow) -> Result<DeviceQualityReport, StoreError> {
    let received_at: String = row.try_get("received_at").map_err(classify)?;
    Ok(DeviceQualityReport {
        id: row.try_get("id").map_err(classify)?,
        report: NewDeviceQualityReport {
            received_at: parse_timestamp(&received_at)?,
            api_version: row.try_get("api_version").map_err(classify)?,
            user_agent: row.try_get("user_agent").map_err(classify)?,
            call_chain_id: row.try_get("call_chain_id").map_err(classify)?,
            participant_id: row.try_get("participant_id").map_err(classify)?,
            media_leg_id: row.try_get("media_leg_id").map_err(classify)?,
            quality_json: row.try_get("quality_json").map_err(classify)?,
        },
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(classify)
    }

    async fn instance(&self) -> Result<Instance, StoreError> {
        let row = sqlx::query(
            "SELECT instance_id, created_at, (SELECT MAX(version) FROM _sqlx_migrations WHERE success) AS schema_version \
             FROM instance",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        let instance_id: String = row.try_get("instance_id").map_err(classify)?;
        let created_at: String = row.try_get("created_at").map_err(classify)?;
        Ok(Instance {
            instance_id: instance_id.parse().map_err(|e| StoreError::Backend(format!("stored instance id: {e}")))?,
            created_at: parse_timestamp(&created_at)?,
            schema_version: row.try_get("schema_version").map_err(classify)?,
        })
    }

    async fn add_device_quality_report(
        &self,
        report: NewDeviceQualityReport,
    ) -> Result<DeviceQualityReport, StoreError> {
        let id = sqlx::query(
            "INSERT INTO device_quality_report \
             (received_at, api_version, user_agent, call_chain_id, participant_id, media_leg_id, quality_json) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(timestamp(report.received_at))
        .bind(&report.api_version)
        .bind(&report.user_agent)
        .bind(&report.call_chain_id)
        .bind(&report.participant_id)
        .bind(&report.media_leg_id)
        .bind(&report.quality_json)
        .execute(&self.pool)
        .await
        .map_err(classify)?
        .last_insert_rowid();
        Ok(DeviceQualityReport { id, report })
    }

    async fn device_quality_reports(&self, after: i64, limit: u32) -> Result<Vec<DeviceQualityReport>, StoreError> {
        sqlx::query("SELECT * FROM device_quality_report WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?
            .iter()
            .map(report_from_row)
            .collect()
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
