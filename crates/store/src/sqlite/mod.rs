//! The embedded default: one SQLite file in the data directory, in WAL mode, driven from one thread
//! ([`connection`]) that runs each store method whole.
//!
//! `synchronous = NORMAL` with WAL loses no committed transaction when the process is killed (the WAL is in the
//! OS page cache); only a power cut can drop the last few. Every write is one transaction.

mod calls;
mod connection;
mod outbox;

use std::{path::Path, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, Params, Row, types::FromSql};
use uuid::Uuid;

use crate::{
    ApplicationRecord, AttemptRecord, CallChange, CallFilter, CallRecord, CertificateRecord, Claimant, DeliveryAttempt,
    DeviceQualityReport, Instance, Lease, NewDeviceQualityReport, NodeRecord, NotificationCounts, NotificationFilter,
    NotificationRecord, RecordingRecord, ReplaySelection, SecretRecord, SigningKeyRecord, Store, StoreError,
    TenantRecord, TimerRecord, WorldEntityRecord,
};
use connection::Worker;

/// The schema's migrations, in order: (version, description, SQL). Kept in sqlx's `_sqlx_migrations` table with
/// sqlx's checksums, so data directories written by earlier builds (which migrated with sqlx) open unchanged.
const MIGRATIONS: [(i64, &str, &str); 12] = [
    (1, "initial", include_str!("../../migrations/sqlite/0001_initial.sql")),
    (2, "identity", include_str!("../../migrations/sqlite/0002_identity.sql")),
    (3, "calls", include_str!("../../migrations/sqlite/0003_calls.sql")),
    (4, "delivery", include_str!("../../migrations/sqlite/0004_delivery.sql")),
    (5, "recordings", include_str!("../../migrations/sqlite/0005_recordings.sql")),
    (6, "retry_index", include_str!("../../migrations/sqlite/0006_retry_index.sql")),
    (7, "secret_hash", include_str!("../../migrations/sqlite/0007_secret_hash.sql")),
    (8, "set_aside", include_str!("../../migrations/sqlite/0008_set_aside.sql")),
    (9, "offers", include_str!("../../migrations/sqlite/0009_offers.sql")),
    (10, "ownership", include_str!("../../migrations/sqlite/0010_ownership.sql")),
    (11, "pending_index", include_str!("../../migrations/sqlite/0011_pending_index.sql")),
    (12, "call_operations", include_str!("../../migrations/sqlite/0012_call_operations.sql")),
];

pub struct SqliteStore {
    worker: Worker,
}

impl SqliteStore {
    /// Opens (creating if needed) `database` and brings its schema up to date. `now` is recorded as the store's
    /// creation time on first use.
    pub async fn open(database: &Path, now: DateTime<Utc>) -> Result<SqliteStore, StoreError> {
        let database = database.to_owned();
        Self::start(
            move || {
                let connection = Connection::open_with_flags(
                    &database,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(classify)?;
                connection.busy_timeout(Duration::from_secs(5)).map_err(classify)?;
                let mode: String =
                    connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(classify)?;
                if !mode.eq_ignore_ascii_case("wal") {
                    return Err(StoreError::Backend(format!("the database cannot use WAL (journal mode {mode})")));
                }
                connection.pragma_update(None, "synchronous", "NORMAL").map_err(classify)?;
                Ok(connection)
            },
            now,
        )
        .await
    }

    /// A store that lives in memory and is gone when the process ends (`serve --ephemeral`, tests).
    pub async fn in_memory(now: DateTime<Utc>) -> Result<SqliteStore, StoreError> {
        Self::start(|| Connection::open_in_memory().map_err(classify), now).await
    }

    async fn start(
        open: impl FnOnce() -> Result<Connection, StoreError> + Send + 'static,
        now: DateTime<Utc>,
    ) -> Result<SqliteStore, StoreError> {
        let worker = Worker::start(move || {
            let mut connection = open()?;
            connection.pragma_update(None, "foreign_keys", "ON").map_err(classify)?;
            // Each method of a group commit runs in a savepoint, whose journal SQLite would otherwise write to a
            // temporary file: in memory it costs no system calls (a profile found them ~5% of the SQLite thread).
            connection.pragma_update(None, "temp_store", "MEMORY").map_err(classify)?;
            connection.set_prepared_statement_cache_capacity(128);
            migrate(&mut connection)?;
            connection
                .execute(
                    "INSERT INTO instance (singleton, instance_id, created_at) VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
                    (Uuid::new_v4().to_string(), timestamp(now)),
                )
                .map_err(classify)?;
            Ok(connection)
        })
        .await?;
        Ok(SqliteStore { worker })
    }

    /// SQLite's `PRAGMA integrity_check` over the whole file: the problems it reports, none when the file is sound.
    pub async fn integrity_problems(&self) -> Result<Vec<String>, StoreError> {
        self.run(|connection| {
            let lines = all(connection, "PRAGMA integrity_check", [], |row| row.get::<_, String>(0).map_err(classify))?;
            Ok(lines.into_iter().filter(|line| line != "ok").collect())
        })
        .await
    }

    /// Runs `work` on the connection's thread.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.worker.run(work).await
    }
}

/// Brings the schema up to date, each migration in a transaction of its own.
fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
             checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)",
        )
        .map_err(classify)?;
    let applied =
        all(connection, "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version", [], |row| {
            Ok((get::<i64>(row, "version")?, get::<bool>(row, "success")?, get::<Vec<u8>>(row, "checksum")?))
        })?;
    let known = MIGRATIONS.iter().map(|(version, ..)| *version).max().unwrap_or(0);
    if let Some((found, ..)) = applied.iter().find(|(version, ..)| *version > known) {
        return Err(StoreError::TooNew { found: *found, known });
    }
    for (version, description, sql) in MIGRATIONS {
        let checksum = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, sql.as_bytes()).as_ref().to_vec();
        match applied.iter().find(|(applied, ..)| *applied == version) {
            Some((_, false, _)) => {
                return Err(StoreError::Backend(format!(
                    "migration {version} ({description}) failed part-way earlier; restore the data directory from a backup"
                )));
            }
            Some((_, true, stored)) if *stored != checksum => {
                return Err(StoreError::Backend(format!(
                    "migration {version} ({description}) on disk differs from this build's; the data directory was \
                     written by an incompatible build"
                )));
            }
            Some(_) => {}
            None => {
                let started = std::time::Instant::now();
                let transaction = connection.transaction().map_err(classify)?;
                transaction.execute_batch(sql).map_err(|e| {
                    StoreError::Backend(format!("migration {version} ({description}) failed: {}", classify(e)))
                })?;
                transaction
                    .execute(
                        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                         VALUES (?, ?, TRUE, ?, ?)",
                        (
                            version,
                            description,
                            checksum,
                            i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX),
                        ),
                    )
                    .map_err(classify)?;
                transaction.commit().map_err(classify)?;
            }
        }
    }
    Ok(())
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
fn classify(error: rusqlite::Error) -> StoreError {
    let text = error.to_string();
    match error.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::Full(text),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen) => StoreError::ReadOnly(text),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy(text),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Damaged(text),
        _ => StoreError::Backend(text),
    }
}

fn get<T: FromSql>(row: &Row<'_>, column: &str) -> Result<T, StoreError> {
    row.get(column).map_err(classify)
}

fn optional_timestamp(row: &Row<'_>, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    get::<Option<String>>(row, column)?.as_deref().map(parse_timestamp).transpose()
}

fn required_timestamp(row: &Row<'_>, column: &str) -> Result<DateTime<Utc>, StoreError> {
    parse_timestamp(&get::<String>(row, column)?)
}

fn uuid(row: &Row<'_>, column: &str) -> Result<Uuid, StoreError> {
    let text: String = get(row, column)?;
    text.parse().map_err(|e| StoreError::Backend(format!("stored {column} '{text}' is not a UUID: {e}")))
}

fn text(row: &Row<'_>, column: &str) -> Result<String, StoreError> {
    get(row, column)
}

/// Every row of a query, each turned into a record.
fn all<T>(
    connection: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(classify)?;
    let mut rows = statement.query(params).map_err(classify)?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().map_err(classify)? {
        records.push(map(row)?);
    }
    Ok(records)
}

/// The first row of a query, if any, turned into a record.
fn first<T>(
    connection: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(classify)?;
    let mut rows = statement.query(params).map_err(classify)?;
    rows.next().map_err(classify)?.map(map).transpose()
}

/// Runs a statement; returns how many rows it changed.
fn execute(connection: &Connection, sql: &str, params: impl Params) -> Result<u64, StoreError> {
    let changed = connection.prepare_cached(sql).map_err(classify)?.execute(params).map_err(classify)?;
    Ok(changed as u64)
}

/// A statement built at run time: its SQL and its parameters, in order.
#[derive(Default)]
struct Query {
    sql: String,
    params: Vec<rusqlite::types::Value>,
}

impl Query {
    fn new(sql: &str) -> Query {
        Query { sql: sql.to_owned(), params: Vec::new() }
    }

    fn push(&mut self, sql: &str) -> &mut Query {
        self.sql.push_str(sql);
        self
    }

    /// Appends a `?` bound to `value`.
    fn bind(&mut self, value: impl Into<rusqlite::types::Value>) -> &mut Query {
        self.sql.push('?');
        self.params.push(value.into());
        self
    }

    /// Appends `?, ?, …` bound to `values`.
    fn bind_list<V: Into<rusqlite::types::Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Query {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.bind(value);
        }
        self
    }

    fn params(&self) -> rusqlite::ParamsFromIter<std::slice::Iter<'_, rusqlite::types::Value>> {
        rusqlite::params_from_iter(self.params.iter())
    }
}

fn tenant_from_row(row: &Row<'_>) -> Result<TenantRecord, StoreError> {
    Ok(TenantRecord {
        tenant_id: uuid(row, "tenant_id")?,
        display_name: text(row, "display_name")?,
        created_at: required_timestamp(row, "created_at")?,
    })
}

fn application_from_row(row: &Row<'_>) -> Result<ApplicationRecord, StoreError> {
    let permissions: Option<String> = get(row, "permissions")?;
    let mut permissions: Vec<String> =
        permissions.map(|list| list.split(',').map(str::to_owned).collect()).unwrap_or_default();
    permissions.sort();
    Ok(ApplicationRecord {
        app_id: uuid(row, "app_id")?,
        tenant_id: uuid(row, "tenant_id")?,
        display_name: text(row, "display_name")?,
        permissions,
        calling_webhook: get(row, "calling_webhook")?,
        created_at: required_timestamp(row, "created_at")?,
    })
}

fn secret_from_row(row: &Row<'_>) -> Result<SecretRecord, StoreError> {
    Ok(SecretRecord {
        secret_id: uuid(row, "secret_id")?,
        app_id: uuid(row, "app_id")?,
        hint: text(row, "hint")?,
        hash: text(row, "hash")?,
        created_at: required_timestamp(row, "created_at")?,
        expires_at: optional_timestamp(row, "expires_at")?,
    })
}

fn certificate_from_row(row: &Row<'_>) -> Result<CertificateRecord, StoreError> {
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

fn signing_key_from_row(row: &Row<'_>) -> Result<SigningKeyRecord, StoreError> {
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

fn report_from_row(row: &Row<'_>) -> Result<DeviceQualityReport, StoreError> {
    Ok(DeviceQualityReport {
        id: get(row, "id")?,
        report: NewDeviceQualityReport {
            received_at: required_timestamp(row, "received_at")?,
            tenant_id: uuid(row, "tenant_id")?,
            app_id: uuid(row, "app_id")?,
            api_version: get(row, "api_version")?,
            user_agent: get(row, "user_agent")?,
            call_chain_id: get(row, "call_chain_id")?,
            participant_id: get(row, "participant_id")?,
            media_leg_id: get(row, "media_leg_id")?,
            quality_json: get(row, "quality_json")?,
        },
    })
}

fn recording_from_row(row: &Row<'_>) -> Result<RecordingRecord, StoreError> {
    Ok(RecordingRecord {
        recording_id: uuid(row, "recording_id")?,
        call_id: text(row, "call_id")?,
        tenant_id: uuid(row, "tenant_id")?,
        app_id: uuid(row, "app_id")?,
        token_sha256: text(row, "token_sha256")?,
        wav: get(row, "wav")?,
        created_at: required_timestamp(row, "created_at")?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(classify)).await
    }

    async fn instance(&self) -> Result<Instance, StoreError> {
        self.run(|c| {
            first(
                c,
                "SELECT instance_id, created_at, (SELECT MAX(version) FROM _sqlx_migrations WHERE success) AS schema_version \
                 FROM instance",
                [],
                |row| {
                    Ok(Instance {
                        instance_id: uuid(row, "instance_id")?,
                        created_at: required_timestamp(row, "created_at")?,
                        schema_version: get(row, "schema_version")?,
                    })
                },
            )?
            .ok_or_else(|| StoreError::Backend("the instance row is missing".into()))
        })
        .await
    }

    async fn add_device_quality_report(
        &self,
        report: NewDeviceQualityReport,
    ) -> Result<DeviceQualityReport, StoreError> {
        self.run(move |c| {
            execute(
                c,
                "INSERT INTO device_quality_report (received_at, tenant_id, app_id, api_version, user_agent, call_chain_id, \
                 participant_id, media_leg_id, quality_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    timestamp(report.received_at),
                    report.tenant_id.to_string(),
                    report.app_id.to_string(),
                    &report.api_version,
                    &report.user_agent,
                    &report.call_chain_id,
                    &report.participant_id,
                    &report.media_leg_id,
                    &report.quality_json,
                ),
            )?;
            Ok(DeviceQualityReport { id: c.last_insert_rowid(), report })
        })
        .await
    }

    async fn device_quality_reports(&self, after: i64, limit: u32) -> Result<Vec<DeviceQualityReport>, StoreError> {
        self.run(move |c| {
            all(
                c,
                "SELECT * FROM device_quality_report WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
                report_from_row,
            )
        })
        .await
    }

    async fn claim_dev_defaults(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.run(move |c| {
            Ok(execute(c, "UPDATE instance SET dev_defaults_at = ? WHERE dev_defaults_at IS NULL", [timestamp(now)])?
                == 1)
        })
        .await
    }

    async fn put_tenant(&self, tenant: TenantRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            execute(
                c,
                "INSERT INTO tenant (tenant_id, display_name, created_at) VALUES (?, ?, ?) \
                 ON CONFLICT (tenant_id) DO UPDATE SET display_name = excluded.display_name",
                (tenant.tenant_id.to_string(), &tenant.display_name, timestamp(tenant.created_at)),
            )
            .map(drop)
        })
        .await
    }

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        self.run(|c| all(c, "SELECT * FROM tenant ORDER BY created_at, tenant_id", [], tenant_from_row)).await
    }

    async fn delete_tenant(&self, tenant_id: Uuid) -> Result<bool, StoreError> {
        self.run(move |c| Ok(execute(c, "DELETE FROM tenant WHERE tenant_id = ?", [tenant_id.to_string()])? == 1)).await
    }

    async fn put_application(&self, application: ApplicationRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            let app_id = application.app_id.to_string();
            let transaction = c.savepoint().map_err(classify)?;
            execute(
                &transaction,
                "INSERT INTO application (app_id, tenant_id, display_name, calling_webhook, created_at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (app_id) DO UPDATE SET tenant_id = excluded.tenant_id, display_name = excluded.display_name, \
                 calling_webhook = excluded.calling_webhook",
                (
                    &app_id,
                    application.tenant_id.to_string(),
                    &application.display_name,
                    &application.calling_webhook,
                    timestamp(application.created_at),
                ),
            )?;
            execute(&transaction, "DELETE FROM application_permission WHERE app_id = ?", [&app_id])?;
            for permission in &application.permissions {
                execute(
                    &transaction,
                    "INSERT INTO application_permission (app_id, permission) VALUES (?, ?)",
                    (&app_id, permission),
                )?;
            }
            transaction.commit().map_err(classify)
        })
        .await
    }

    async fn application(&self, app_id: Uuid) -> Result<Option<ApplicationRecord>, StoreError> {
        self.run(move |c| {
            first(c, select_applications!("WHERE a.app_id = ?"), [app_id.to_string()], application_from_row)
        })
        .await
    }

    async fn applications(&self) -> Result<Vec<ApplicationRecord>, StoreError> {
        self.run(|c| all(c, select_applications!("ORDER BY a.created_at, a.app_id"), [], application_from_row)).await
    }

    async fn delete_application(&self, app_id: Uuid) -> Result<bool, StoreError> {
        self.run(move |c| Ok(execute(c, "DELETE FROM application WHERE app_id = ?", [app_id.to_string()])? == 1)).await
    }

    async fn add_secret(&self, secret: SecretRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            execute(
                c,
                "INSERT INTO application_secret (secret_id, app_id, hint, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    secret.secret_id.to_string(),
                    secret.app_id.to_string(),
                    &secret.hint,
                    &secret.hash,
                    timestamp(secret.created_at),
                    secret.expires_at.map(timestamp),
                ),
            )
            .map(drop)
        })
        .await
    }

    async fn secrets(&self, app_id: Uuid) -> Result<Vec<SecretRecord>, StoreError> {
        self.run(move |c| {
            all(
                c,
                "SELECT * FROM application_secret WHERE app_id = ? ORDER BY created_at, secret_id",
                [app_id.to_string()],
                secret_from_row,
            )
        })
        .await
    }

    async fn delete_secret(&self, app_id: Uuid, secret_id: Uuid) -> Result<bool, StoreError> {
        self.run(move |c| {
            let sql = "DELETE FROM application_secret WHERE app_id = ? AND secret_id = ?";
            Ok(execute(c, sql, (app_id.to_string(), secret_id.to_string()))? == 1)
        })
        .await
    }

    async fn put_certificate(&self, certificate: CertificateRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            execute(
                c,
                "INSERT INTO application_certificate (app_id, sha1, sha256, public_key_pem, description, created_at, expires_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, sha1) DO UPDATE SET sha256 = excluded.sha256, \
                 public_key_pem = excluded.public_key_pem, description = excluded.description, expires_at = excluded.expires_at",
                (
                    certificate.app_id.to_string(),
                    &certificate.sha1,
                    &certificate.sha256,
                    &certificate.public_key_pem,
                    &certificate.description,
                    timestamp(certificate.created_at),
                    certificate.expires_at.map(timestamp),
                ),
            )
            .map(drop)
        })
        .await
    }

    async fn certificates(&self, app_id: Uuid) -> Result<Vec<CertificateRecord>, StoreError> {
        self.run(move |c| {
            all(
                c,
                "SELECT * FROM application_certificate WHERE app_id = ? ORDER BY created_at, sha1",
                [app_id.to_string()],
                certificate_from_row,
            )
        })
        .await
    }

    async fn delete_certificate(&self, app_id: Uuid, sha1: &str) -> Result<bool, StoreError> {
        let sha1 = sha1.to_owned();
        self.run(move |c| {
            let sql = "DELETE FROM application_certificate WHERE app_id = ? AND sha1 = ?";
            Ok(execute(c, sql, (app_id.to_string(), sha1))? == 1)
        })
        .await
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.run(|c| all(c, "SELECT * FROM signing_key ORDER BY created_at, kid", [], signing_key_from_row)).await
    }

    async fn rotate_signing_key(&self, key: SigningKeyRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            let transaction = c.savepoint().map_err(classify)?;
            execute(
                &transaction,
                "UPDATE signing_key SET retired_at = ? WHERE retired_at IS NULL",
                [timestamp(key.created_at)],
            )?;
            execute(
                &transaction,
                "INSERT INTO signing_key (kid, private_key_pem, created_at, retired_at) VALUES (?, ?, ?, ?)",
                (&key.kid, &key.private_key_pem, timestamp(key.created_at), key.retired_at.map(timestamp)),
            )?;
            transaction.commit().map_err(classify)
        })
        .await
    }

    async fn delete_signing_keys_retired_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        self.run(move |c| {
            execute(c, "DELETE FROM signing_key WHERE retired_at IS NOT NULL AND retired_at < ?", [timestamp(cutoff)])
        })
        .await
    }

    async fn commit_call(&self, change: CallChange) -> Result<Vec<NotificationRecord>, StoreError> {
        self.run(move |c| calls::commit_call(c, change)).await
    }

    async fn call(&self, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
        let call_id = call_id.to_owned();
        self.run(move |c| calls::call(c, &call_id)).await
    }

    async fn calls(&self, filter: CallFilter) -> Result<Vec<CallRecord>, StoreError> {
        self.run(move |c| calls::calls(c, filter)).await
    }

    async fn claimable_calls_after(
        &self,
        claimant: &Claimant,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<(CallRecord, Option<Lease>)>, StoreError> {
        let claimant = claimant.clone();
        self.run(move |c| calls::claimable_calls_after(c, &claimant, after.as_deref(), limit)).await
    }

    async fn heartbeat(&self, node: NodeRecord) -> Result<bool, StoreError> {
        self.run(move |c| calls::heartbeat(c, &node)).await
    }

    async fn acquire_call(
        &self,
        call_id: &str,
        node_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Lease>, StoreError> {
        let (call_id, node_id) = (call_id.to_owned(), node_id.to_owned());
        self.run(move |c| calls::acquire_call(c, &call_id, &node_id, now)).await
    }

    async fn release_call(&self, call_id: &str, lease: &Lease) -> Result<(), StoreError> {
        let (call_id, lease) = (call_id.to_owned(), lease.clone());
        self.run(move |c| calls::release_call(c, &call_id, &lease)).await
    }

    async fn due_timers(
        &self,
        until: DateTime<Utc>,
        limit: u32,
        claimant: &Claimant,
    ) -> Result<Vec<TimerRecord>, StoreError> {
        let claimant = claimant.clone();
        self.run(move |c| calls::due_timers(c, until, limit, &claimant)).await
    }

    async fn next_timer_due(&self, claimant: &Claimant) -> Result<Option<DateTime<Utc>>, StoreError> {
        let claimant = claimant.clone();
        self.run(move |c| calls::next_timer_due(c, &claimant)).await
    }

    async fn delete_timer(&self, timer: &TimerRecord) -> Result<(), StoreError> {
        let timer = timer.clone();
        self.run(move |c| calls::delete_timer(c, &timer)).await
    }

    async fn deliverable_notifications(
        &self,
        now: DateTime<Utc>,
        per_call: u32,
        calls: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        self.run(move |c| outbox::deliverable(c, now, per_call, calls)).await
    }

    async fn deliverable_notifications_of(
        &self,
        call_ids: &[String],
        now: DateTime<Utc>,
        per_call: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let call_ids = call_ids.to_vec();
        self.run(move |c| outbox::first_due_of(c, &call_ids, now, per_call)).await
    }

    async fn deliverable_retries(
        &self,
        now: DateTime<Utc>,
        per_call: u32,
        calls: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        self.run(move |c| outbox::due_retries(c, now, per_call, calls)).await
    }

    async fn next_retry_due(&self, excluding: &[String]) -> Result<Option<DateTime<Utc>>, StoreError> {
        let excluding = excluding.to_vec();
        self.run(move |c| outbox::next_retry(c, &excluding)).await
    }

    async fn record_attempt(&self, seqs: &[i64], attempt: DeliveryAttempt) -> Result<(), StoreError> {
        let seqs = seqs.to_vec();
        self.run(move |c| outbox::record_attempt(c, &seqs, attempt)).await
    }

    async fn notifications(&self, filter: NotificationFilter) -> Result<Vec<NotificationRecord>, StoreError> {
        self.run(move |c| outbox::list(c, filter)).await
    }

    async fn notification(&self, seq: i64) -> Result<Option<NotificationRecord>, StoreError> {
        self.run(move |c| outbox::get_one(c, seq)).await
    }

    async fn delivery_attempts(&self, seq: i64) -> Result<Vec<AttemptRecord>, StoreError> {
        self.run(move |c| outbox::attempts(c, seq)).await
    }

    async fn replay_notifications(&self, selection: ReplaySelection, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.run(move |c| outbox::replay(c, selection, now)).await
    }

    async fn notification_counts(&self) -> Result<NotificationCounts, StoreError> {
        self.run(|c| outbox::counts(c)).await
    }

    async fn prune_notifications(&self, finished_before: DateTime<Utc>, keep_at_most: u64) -> Result<u64, StoreError> {
        self.run(move |c| outbox::prune(c, finished_before, keep_at_most)).await
    }

    async fn put_recording(&self, recording: RecordingRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            execute(
                c,
                "INSERT INTO recording (recording_id, call_id, tenant_id, app_id, token_sha256, wav, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    recording.recording_id.to_string(),
                    &recording.call_id,
                    recording.tenant_id.to_string(),
                    recording.app_id.to_string(),
                    &recording.token_sha256,
                    &recording.wav,
                    timestamp(recording.created_at),
                ),
            )
            .map(drop)
        })
        .await
    }

    async fn recording(&self, recording_id: Uuid) -> Result<Option<RecordingRecord>, StoreError> {
        self.run(move |c| {
            first(c, "SELECT * FROM recording WHERE recording_id = ?", [recording_id.to_string()], recording_from_row)
        })
        .await
    }

    async fn delete_recordings_of_calls_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        self.run(move |c| {
            execute(
                c,
                "DELETE FROM recording WHERE call_id IN (SELECT call_id FROM call WHERE ended_at IS NOT NULL AND ended_at < ?) \
                 OR call_id NOT IN (SELECT call_id FROM call)",
                [timestamp(cutoff)],
            )
        })
        .await
    }

    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let name = name.to_owned();
        self.run(move |c| first(c, "SELECT value FROM setting WHERE name = ?", [name], |row| get(row, "value"))).await
    }

    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.run(move |c| {
            execute(
                c,
                "INSERT INTO setting (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
            .map(drop)
        })
        .await
    }

    async fn put_world_entity(&self, entity: WorldEntityRecord) -> Result<(), StoreError> {
        self.run(move |c| calls::put_world_entity(c, entity)).await
    }

    async fn world_entity(
        &self,
        tenant_id: Uuid,
        kind: &str,
        key: &str,
    ) -> Result<Option<WorldEntityRecord>, StoreError> {
        let (kind, key) = (kind.to_owned(), key.to_owned());
        self.run(move |c| calls::world_entity(c, tenant_id, &kind, &key)).await
    }

    async fn world_entities(
        &self,
        tenant_id: Option<Uuid>,
        kind: Option<&str>,
    ) -> Result<Vec<WorldEntityRecord>, StoreError> {
        let kind = kind.map(str::to_owned);
        self.run(move |c| calls::world_entities(c, tenant_id, kind.as_deref())).await
    }

    async fn delete_world_entity(&self, tenant_id: Uuid, kind: &str, key: &str) -> Result<bool, StoreError> {
        let (kind, key) = (kind.to_owned(), key.to_owned());
        self.run(move |c| calls::delete_world_entity(c, tenant_id, &kind, &key)).await
    }

    async fn reset_simulation(&self) -> Result<(), StoreError> {
        self.run(calls::reset_simulation).await
    }

    async fn close(&self) {
        self.worker.close().await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_migration_file_is_listed_in_order() {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        let mut files: Vec<String> = std::fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let listed: Vec<String> = super::MIGRATIONS
            .iter()
            .map(|(version, description, _)| format!("{version:04}_{description}.sql"))
            .collect();
        assert_eq!(files, listed);
    }
}
