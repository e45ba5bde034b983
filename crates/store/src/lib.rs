//! Switchboard's storage: the [`Store`] trait the rest of the server uses, and its embedded SQLite implementation.
//!
//! The trait speaks in records (plain data with no wire or HTTP types); every backend passes the same test suite
//! (`testsuite`, behind the feature of that name). Each method is one transaction, so a change and everything it
//! implies commit together or not at all.

mod sqlite;
#[cfg(feature = "testsuite")]
pub mod testsuite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use sqlite::SqliteStore;

/// The identity of a store, fixed when its data directory is first used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub instance_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// The newest migration applied.
    pub schema_version: i64,
}

/// A device quality report as received (`POST /communications/calls/logTeleconferenceDeviceQuality`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeviceQualityReport {
    pub received_at: DateTime<Utc>,
    pub api_version: String,
    pub user_agent: String,
    pub call_chain_id: Option<String>,
    pub participant_id: Option<String>,
    pub media_leg_id: Option<String>,
    /// The `quality` object, as JSON text.
    pub quality_json: String,
}

/// A stored device quality report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceQualityReport {
    /// Increases with every report: a cursor for paging.
    pub id: i64,
    pub report: NewDeviceQualityReport,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk holding the data directory is full; nothing was written.
    #[error("the disk holding the data directory is full; the change was not stored ({0})")]
    Full(String),
    /// The data directory or database file cannot be written.
    #[error("the data directory is read-only; the change was not stored ({0})")]
    ReadOnly(String),
    /// The database is in use by another process (another `switchboard serve` on the same data directory).
    #[error("the database is locked by another process ({0})")]
    Busy(String),
    /// Anything else the backend reported.
    #[error("storage failed: {0}")]
    Backend(String),
    /// The schema on disk is newer than this binary knows.
    #[error(
        "the data directory was written by a newer Switchboard (schema {found}, this build knows {known}); upgrade"
    )]
    TooNew { found: i64, known: i64 },
}

/// Where Switchboard keeps its state.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks the store can answer (for `/healthz`).
    async fn ping(&self) -> Result<(), StoreError>;

    async fn instance(&self) -> Result<Instance, StoreError>;

    async fn add_device_quality_report(
        &self,
        report: NewDeviceQualityReport,
    ) -> Result<DeviceQualityReport, StoreError>;

    /// Reports with an id above `after`, oldest first, at most `limit`.
    async fn device_quality_reports(&self, after: i64, limit: u32) -> Result<Vec<DeviceQualityReport>, StoreError>;

    /// Flushes and closes; the store answers nothing afterwards.
    async fn close(&self);
}
