//! The embedded default: one SQLite file in the data directory, in WAL mode.
//!
//! `synchronous = NORMAL` with WAL loses no committed transaction when the process is killed (the WAL is in the
//! OS page cache); only a power cut can drop the last few. Every write is one transaction.

mod calls;
mod outbox;

use std::{path::Path, str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    Row,
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous},
};
use uuid::Uuid;

use crate::{
    ApplicationRecord, AttemptRecord, CallChange, CallFilter, CallRecord, CertificateRecord, DeliveryAttempt,
    DeviceQualityReport, Instance, NewDeviceQualityReport, NotificationCounts, NotificationFilter, NotificationRecord,
    RecordingRecord, ReplaySelection, SecretRecord, SigningKeyRecord, Store, StoreError, TenantRecord, TimerRecord,
    WorldEntityRecord,
};

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

fn optional_timestamp(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let text: Option<String> = row.try_get(column).map_err(classify)?;
    text.as_deref().map(parse_timestamp).transpose()
}

fn required_timestamp(row: &SqliteRow, column: &str) -> Result<DateTime<Utc>, StoreError> {
    let text: String = row.try_get(column).map_err(classify)?;
    parse_timestamp(&text)
}

fn uuid(row: &SqliteRow, column: &str) -> Result<Uuid, StoreError> {
    let text: String = row.try_get(column).map_err(classify)?;
    text.parse().map_err(|e| StoreError::Backend(format!("stored {column} '{text}' is not a UUID: {e}")))
}

fn text(row: &SqliteRow, column: &str) -> Result<String, StoreError> {
    row.try_get(column).map_err(classify)
}

fn tenant_from_row(row: &SqliteRow) -> Result<TenantRecord, StoreError> {
    Ok(TenantRecord {
        tenant_id: uuid(row, "tenant_id")?,
        display_name: text(row, "display_name")?,
        created_at: required_timestamp(row, "created_at")?,
    })
}

fn application_from_row(row: &SqliteRow) -> Result<ApplicationRecord, StoreError> {
    let permissions: Option<String> = row.try_get("permissions").map_err(classify)?;
    let mut permissions: Vec<String> =
        permissions.map(|list| list.split(',').map(str::to_owned).collect()).unwrap_or_default();
    permissions.sort();
    Ok(ApplicationRecord {
        app_id: uuid(row, "app_id")?,
        tenant_id: uuid(row, "tenant_id")?,
        display_name: text(row, "display_name")?,
        permissions,
        calling_webhook: row.try_get("calling_webhook").map_err(classify)?,
        created_at: required_timestamp(row, "created_at")?,
    })
}

fn secret_from_row(row: &SqliteRow) -> Result<SecretRecord, StoreError> {
    Ok(SecretRecord {
        secret_id: uuid(row, "secret_id")?,
        app_id: uuid(row, "app_id")?,
        hint: text(row, "hint")?,
        sha256: text(row, "sha256")?,
        created_at: required_timestamp(row, "created_at")?,
        expires_at: optional_timestamp(row, "expires_at")?,
    })
}

fn certificate_from_row(row: &SqliteRow) -> Result<CertificateRecord, StoreError> {
    Ok(CertificateRecord {
        app_id: uuid(row, "app_id")?,
        sha1: text(row, "sha1")?,
        sha256: text(row, "sha256")?,
        public_key_pem: text(row, "public_key_pem")?,
        description: text(row, "description")?,
        created_at: required_timestamp(row, "created_at")?,
        expires_at: optional_timestamp(row, "expires_at")?,
    })
}

fn signing_key_from_row(row: &SqliteRow) -> Result<SigningKeyRecord, StoreError> {
    Ok(SigningKeyRecord {
        kid: text(row, "kid")?,
        private_key_pem: text(row, "private_key_pem")?,
        created_at: required_timestamp(row, "created_at")?,
        retired_at: optional_timestamp(row, "retired_at")?,
    })
}

/// Applications with their permissions folded into one comma-separated column, then `$rest`.
macro_rules! select_applications {
    ($rest:literal) => {
        concat!(
            "SELECT a.app_id, a.tenant_id, a.display_name, a.calling_webhook, a.created_at, ",
            "(SELECT group_concat(p.permission) FROM application_permission p WHERE p.app_id = a.app_id) AS permissions ",
            "FROM application a ",
            $rest
        )
    };
}

fn report_from_row(row: &SqliteRow) -> Result<DeviceQualityReport, StoreError> {
    let received_at: String = row.try_get("received_at").map_err(classify)?;
    Ok(DeviceQualityReport {
        id: row.try_get("id").map_err(classify)?,
        report: NewDeviceQualityReport {
            received_at: parse_timestamp(&received_at)?,
            tenant_id: uuid(row, "tenant_id")?,
            app_id: uuid(row, "app_id")?,
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
            "INSERT INTO device_quality_report (received_at, tenant_id, app_id, api_version, user_agent, call_chain_id, \
             participant_id, media_leg_id, quality_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(timestamp(report.received_at))
        .bind(report.tenant_id.to_string())
        .bind(report.app_id.to_string())
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

    async fn claim_dev_defaults(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let claimed = sqlx::query("UPDATE instance SET dev_defaults_at = ? WHERE dev_defaults_at IS NULL")
            .bind(timestamp(now))
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn put_tenant(&self, tenant: TenantRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tenant (tenant_id, display_name, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (tenant_id) DO UPDATE SET display_name = excluded.display_name",
        )
        .bind(tenant.tenant_id.to_string())
        .bind(&tenant.display_name)
        .bind(timestamp(tenant.created_at))
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM tenant ORDER BY created_at, tenant_id").fetch_all(&self.pool).await;
        rows.map_err(classify)?.iter().map(tenant_from_row).collect()
    }

    async fn delete_tenant(&self, tenant_id: Uuid) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM tenant WHERE tenant_id = ?")
            .bind(tenant_id.to_string())
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn put_application(&self, application: ApplicationRecord) -> Result<(), StoreError> {
        let app_id = application.app_id.to_string();
        let mut transaction = self.pool.begin().await.map_err(classify)?;
        sqlx::query(
            "INSERT INTO application (app_id, tenant_id, display_name, calling_webhook, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (app_id) DO UPDATE SET tenant_id = excluded.tenant_id, display_name = excluded.display_name, \
             calling_webhook = excluded.calling_webhook",
        )
        .bind(&app_id)
        .bind(application.tenant_id.to_string())
        .bind(&application.display_name)
        .bind(&application.calling_webhook)
        .bind(timestamp(application.created_at))
        .execute(&mut *transaction)
        .await
        .map_err(classify)?;
        sqlx::query("DELETE FROM application_permission WHERE app_id = ?")
            .bind(&app_id)
            .execute(&mut *transaction)
            .await
            .map_err(classify)?;
        for permission in &application.permissions {
            sqlx::query("INSERT INTO application_permission (app_id, permission) VALUES (?, ?)")
                .bind(&app_id)
                .bind(permission)
                .execute(&mut *transaction)
                .await
                .map_err(classify)?;
        }
        transaction.commit().await.map_err(classify)
    }

    async fn application(&self, app_id: Uuid) -> Result<Option<ApplicationRecord>, StoreError> {
        let row = sqlx::query(select_applications!("WHERE a.app_id = ?"))
            .bind(app_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
        row.as_ref().map(application_from_row).transpose()
    }

    async fn applications(&self) -> Result<Vec<ApplicationRecord>, StoreError> {
        let rows = sqlx::query(select_applications!("ORDER BY a.created_at, a.app_id")).fetch_all(&self.pool).await;
        rows.map_err(classify)?.iter().map(application_from_row).collect()
    }

    async fn delete_application(&self, app_id: Uuid) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM application WHERE app_id = ?")
            .bind(app_id.to_string())
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn add_secret(&self, secret: SecretRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO application_secret (secret_id, app_id, hint, sha256, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(secret.secret_id.to_string())
        .bind(secret.app_id.to_string())
        .bind(&secret.hint)
        .bind(&secret.sha256)
        .bind(timestamp(secret.created_at))
        .bind(secret.expires_at.map(timestamp))
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn secrets(&self, app_id: Uuid) -> Result<Vec<SecretRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM application_secret WHERE app_id = ? ORDER BY created_at, secret_id")
            .bind(app_id.to_string())
            .fetch_all(&self.pool)
            .await;
        rows.map_err(classify)?.iter().map(secret_from_row).collect()
    }

    async fn delete_secret(&self, app_id: Uuid, secret_id: Uuid) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM application_secret WHERE app_id = ? AND secret_id = ?")
            .bind(app_id.to_string())
            .bind(secret_id.to_string())
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn put_certificate(&self, certificate: CertificateRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO application_certificate (app_id, sha1, sha256, public_key_pem, description, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, sha1) DO UPDATE SET sha256 = excluded.sha256, \
             public_key_pem = excluded.public_key_pem, description = excluded.description, expires_at = excluded.expires_at",
        )
        .bind(certificate.app_id.to_string())
        .bind(&certificate.sha1)
        .bind(&certificate.sha256)
        .bind(&certificate.public_key_pem)
        .bind(&certificate.description)
        .bind(timestamp(certificate.created_at))
        .bind(certificate.expires_at.map(timestamp))
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn certificates(&self, app_id: Uuid) -> Result<Vec<CertificateRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM application_certificate WHERE app_id = ? ORDER BY created_at, sha1")
            .bind(app_id.to_string())
            .fetch_all(&self.pool)
            .await;
        rows.map_err(classify)?.iter().map(certificate_from_row).collect()
    }

    async fn delete_certificate(&self, app_id: Uuid, sha1: &str) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM application_certificate WHERE app_id = ? AND sha1 = ?")
            .bind(app_id.to_string())
            .bind(sha1)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM signing_key ORDER BY created_at, kid").fetch_all(&self.pool).await;
        rows.map_err(classify)?.iter().map(signing_key_from_row).collect()
    }

    async fn rotate_signing_key(&self, key: SigningKeyRecord) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.map_err(classify)?;
        sqlx::query("UPDATE signing_key SET retired_at = ? WHERE retired_at IS NULL")
            .bind(timestamp(key.created_at))
            .execute(&mut *transaction)
            .await
            .map_err(classify)?;
        sqlx::query("INSERT INTO signing_key (kid, private_key_pem, created_at, retired_at) VALUES (?, ?, ?, ?)")
            .bind(&key.kid)
            .bind(&key.private_key_pem)
            .bind(timestamp(key.created_at))
            .bind(key.retired_at.map(timestamp))
            .execute(&mut *transaction)
            .await
            .map_err(classify)?;
        transaction.commit().await.map_err(classify)
    }

    async fn delete_signing_keys_retired_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM signing_key WHERE retired_at IS NOT NULL AND retired_at < ?")
            .bind(timestamp(cutoff))
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(deleted.rows_affected())
    }

    async fn commit_call(&self, change: CallChange) -> Result<(), StoreError> {
        calls::commit_call(&self.pool, change).await
    }

    async fn call(&self, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
        calls::call(&self.pool, call_id).await
    }

    async fn calls(&self, filter: CallFilter) -> Result<Vec<CallRecord>, StoreError> {
        calls::calls(&self.pool, filter).await
    }

    async fn due_timers(&self, until: DateTime<Utc>, limit: u32) -> Result<Vec<TimerRecord>, StoreError> {
        calls::due_timers(&self.pool, until, limit).await
    }

    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        calls::next_timer_due(&self.pool).await
    }

    async fn delete_timer(&self, timer: &TimerRecord) -> Result<(), StoreError> {
        calls::delete_timer(&self.pool, timer).await
    }

    async fn deliverable_notifications(
        &self,
        now: DateTime<Utc>,
        per_call: u32,
        calls: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        outbox::deliverable(&self.pool, now, per_call, calls).await
    }

    async fn next_delivery_due(&self, excluding: &[String]) -> Result<Option<DateTime<Utc>>, StoreError> {
        outbox::next_due(&self.pool, excluding).await
    }

    async fn record_attempt(&self, seqs: &[i64], attempt: DeliveryAttempt) -> Result<(), StoreError> {
        outbox::record_attempt(&self.pool, seqs, attempt).await
    }

    async fn notifications(&self, filter: NotificationFilter) -> Result<Vec<NotificationRecord>, StoreError> {
        outbox::list(&self.pool, filter).await
    }

    async fn notification(&self, seq: i64) -> Result<Option<NotificationRecord>, StoreError> {
        outbox::get(&self.pool, seq).await
    }

    async fn delivery_attempts(&self, seq: i64) -> Result<Vec<AttemptRecord>, StoreError> {
        outbox::attempts(&self.pool, seq).await
    }

    async fn replay_notifications(&self, selection: ReplaySelection, now: DateTime<Utc>) -> Result<u64, StoreError> {
        outbox::replay(&self.pool, selection, now).await
    }

    async fn notification_counts(&self) -> Result<NotificationCounts, StoreError> {
        outbox::counts(&self.pool).await
    }

    async fn prune_notifications(&self, finished_before: DateTime<Utc>, keep_at_most: u64) -> Result<u64, StoreError> {
        outbox::prune(&self.pool, finished_before, keep_at_most).await
    }

    async fn put_recording(&self, recording: RecordingRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO recording (recording_id, call_id, tenant_id, app_id, token_sha256, wav, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(recording.recording_id.to_string())
        .bind(&recording.call_id)
        .bind(recording.tenant_id.to_string())
        .bind(recording.app_id.to_string())
        .bind(&recording.token_sha256)
        .bind(&recording.wav)
        .bind(timestamp(recording.created_at))
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn recording(&self, recording_id: Uuid) -> Result<Option<RecordingRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM recording WHERE recording_id = ?")
            .bind(recording_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
        row.map(|row| {
            Ok(RecordingRecord {
                recording_id: uuid(&row, "recording_id")?,
                call_id: text(&row, "call_id")?,
                tenant_id: uuid(&row, "tenant_id")?,
                app_id: uuid(&row, "app_id")?,
                token_sha256: text(&row, "token_sha256")?,
                wav: row.try_get("wav").map_err(classify)?,
                created_at: required_timestamp(&row, "created_at")?,
            })
        })
        .transpose()
    }

    async fn delete_recordings_of_calls_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM recording WHERE call_id IN (SELECT call_id FROM call WHERE ended_at IS NOT NULL AND ended_at < ?) \
             OR call_id NOT IN (SELECT call_id FROM call)",
        )
        .bind(timestamp(cutoff))
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(deleted.rows_affected())
    }

    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM setting WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO setting (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn put_world_entity(&self, entity: WorldEntityRecord) -> Result<(), StoreError> {
        calls::put_world_entity(&self.pool, entity).await
    }

    async fn world_entity(
        &self,
        tenant_id: Uuid,
        kind: &str,
        key: &str,
    ) -> Result<Option<WorldEntityRecord>, StoreError> {
        calls::world_entity(&self.pool, tenant_id, kind, key).await
    }

    async fn world_entities(
        &self,
        tenant_id: Option<Uuid>,
        kind: Option<&str>,
    ) -> Result<Vec<WorldEntityRecord>, StoreError> {
        calls::world_entities(&self.pool, tenant_id, kind).await
    }

    async fn delete_world_entity(&self, tenant_id: Uuid, kind: &str, key: &str) -> Result<bool, StoreError> {
        calls::delete_world_entity(&self.pool, tenant_id, kind, key).await
    }

    async fn reset_simulation(&self) -> Result<(), StoreError> {
        calls::reset_simulation(&self.pool).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
