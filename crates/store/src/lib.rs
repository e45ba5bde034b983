//! Switchboard's storage: the [`Store`] trait the rest of the server uses, and its embedded SQLite implementation.
//!
//! The trait speaks in records (plain data with no wire or HTTP types); every backend passes the same test suite
//! (`testsuite`, behind the feature of that name). Each method is one transaction, so a change and everything it
//! implies commit together or not at all.

mod calls;
mod signal;
mod sqlite;
#[cfg(feature = "testsuite")]
pub mod testsuite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use calls::{
    AttemptOutcome, AttemptRecord, CallChange, CallFilter, CallRecord, Claimant, DeliveryAttempt, DeliveryStatus,
    Lease, NewNotification, NodeRecord, NotificationCounts, NotificationFilter, NotificationRecord, OperationRecord,
    RecordingRecord, ReplaySelection, TimerRecord, WorldEntityRecord,
};
pub use signal::{OutboxSignal, Raised};

/// Lower-case hex SHA-256: how the store keeps secrets and tokens it must recognise but never reveal.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
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
    /// The tenant and app whose token the report came with.
    pub tenant_id: Uuid,
    pub app_id: Uuid,
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

/// A tenant: the directory that apps, and later users and calls, belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    pub tenant_id: Uuid,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

/// An app registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub app_id: Uuid,
    pub tenant_id: Uuid,
    pub display_name: String,
    /// Granted application permissions, by role name, sorted.
    pub permissions: Vec<String>,
    /// Where incoming-call notifications for the app go (its "Webhook (for calling)").
    pub calling_webhook: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A client secret, known only by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRecord {
    pub secret_id: Uuid,
    pub app_id: Uuid,
    /// The first characters of the value, to tell secrets apart (as the Azure portal shows them).
    pub hint: String,
    /// How the value is recognised: the lower-case hex SHA-256 of a random secret, or the argon2id PHC string of one
    /// chosen by hand.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A certificate (or public key) an app signs client assertions with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub app_id: Uuid,
    /// Lower-case hex SHA-1 of the certificate's DER (what `x5t` carries, base64url-encoded).
    pub sha1: String,
    pub sha256: String,
    pub public_key_pem: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key that signs the tokens Switchboard issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub private_key_pem: String,
    pub created_at: DateTime<Utc>,
    /// When a newer key replaced it; it stays published until the tokens it signed have expired.
    pub retired_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The disk holding the data directory is full; nothing was written.
    #[error("the disk holding the data directory is full; nothing was written ({0})")]
    Full(String),
    /// The data directory or database file cannot be written.
    #[error("the data directory is read-only; nothing was written ({0})")]
    ReadOnly(String),
    /// The database is in use by another process (another `switchboard serve` on the same data directory).
    #[error("the database is locked by another process ({0})")]
    Busy(String),
    /// The database file is damaged (a disk that lost writes, a file changed behind the server's back).
    #[error("the database file is damaged; restore the data directory from a backup ({0})")]
    Damaged(String),
    /// Anything else the backend reported.
    #[error("storage failed: {0}")]
    Backend(String),
    /// A concurrent change got there first; nothing was written. Reload and retry.
    #[error("the {what} changed while this change was being made; nothing was written")]
    Conflict { what: String },
    /// The change was made under a lease the call no longer has (another node took it over); nothing was written.
    #[error("call {call_id} is no longer owned by node {node_id} with epoch {epoch}; nothing was written")]
    Fenced { call_id: String, node_id: String, epoch: i64 },
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

    /// Records that dev mode provisioned its well-known tenant and app. True only for the call that recorded it,
    /// so the defaults are created once per store, and deleting them is respected.
    async fn claim_dev_defaults(&self, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Creates or updates a tenant.
    async fn put_tenant(&self, tenant: TenantRecord) -> Result<(), StoreError>;

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError>;

    /// Deletes a tenant with its apps; false if there was none.
    async fn delete_tenant(&self, tenant_id: Uuid) -> Result<bool, StoreError>;

    /// Creates or updates an app, replacing its permissions.
    async fn put_application(&self, application: ApplicationRecord) -> Result<(), StoreError>;

    async fn application(&self, app_id: Uuid) -> Result<Option<ApplicationRecord>, StoreError>;

    async fn applications(&self) -> Result<Vec<ApplicationRecord>, StoreError>;

    /// Deletes an app with its secrets and certificates; false if there was none.
    async fn delete_application(&self, app_id: Uuid) -> Result<bool, StoreError>;

    async fn add_secret(&self, secret: SecretRecord) -> Result<(), StoreError>;

    async fn secrets(&self, app_id: Uuid) -> Result<Vec<SecretRecord>, StoreError>;

    async fn delete_secret(&self, app_id: Uuid, secret_id: Uuid) -> Result<bool, StoreError>;

    /// Adds a certificate; adding one with the same thumbprint again replaces it.
    async fn put_certificate(&self, certificate: CertificateRecord) -> Result<(), StoreError>;

    async fn certificates(&self, app_id: Uuid) -> Result<Vec<CertificateRecord>, StoreError>;

    async fn delete_certificate(&self, app_id: Uuid, sha1: &str) -> Result<bool, StoreError>;

    /// All signing keys, oldest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;

    /// In one transaction: retires every active key at `key.created_at` and adds `key` as the active one.
    async fn rotate_signing_key(&self, key: SigningKeyRecord) -> Result<(), StoreError>;

    /// Deletes keys retired before `cutoff`; returns how many.
    async fn delete_signing_keys_retired_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    // ---- calls ---------------------------------------------------------------------------------------------------

    /// Writes a call with its timers and notifications, in one transaction. Refused with [`StoreError::Conflict`]
    /// when the stored version is not `expected_version` (or, for a new call, when the id exists), and with
    /// [`StoreError::Fenced`] when the change's lease is not the call's. Returns the notifications it queued for
    /// delivery, numbered, in the order they were raised, for the dispatcher to take without reading them back.
    async fn commit_call(&self, change: CallChange) -> Result<Vec<NotificationRecord>, StoreError>;

    /// Records a node's heartbeat (registering it the first time); returns whether it was still alive, that is,
    /// whether its previous heartbeat had not expired by `node.heartbeat_at`.
    async fn heartbeat(&self, node: NodeRecord) -> Result<bool, StoreError>;

    /// Takes the lease of a stored call for `node_id` at wall time `now`, raising its epoch, if nobody else holds it:
    /// it was released, its node is not alive, or it is `node_id`'s own (an earlier run's). `None` when a live
    /// node holds it.
    async fn acquire_call(&self, call_id: &str, node_id: &str, now: DateTime<Utc>)
    -> Result<Option<Lease>, StoreError>;

    /// Gives up the lease (its epoch stays), if it is still the call's.
    async fn release_call(&self, call_id: &str, lease: &Lease) -> Result<(), StoreError>;

    async fn call(&self, call_id: &str) -> Result<Option<CallRecord>, StoreError>;

    /// Calls, newest first.
    async fn calls(&self, filter: CallFilter) -> Result<Vec<CallRecord>, StoreError>;

    /// Calls that have not ended and that `claimant` may own — its own, or held by no live node (the rule of
    /// [`Store::acquire_call`] and of the timers' claim) — with the lease on each now (none: never leased, or
    /// released), by id, after `after` (a page of at most `limit`): to walk all of them in bounded memory.
    async fn claimable_calls_after(
        &self,
        claimant: &Claimant,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<(CallRecord, Option<Lease>)>, StoreError>;

    /// Timers due at or before `until` that `claimant` may fire, earliest first, at most `limit`.
    async fn due_timers(
        &self,
        until: DateTime<Utc>,
        limit: u32,
        claimant: &Claimant,
    ) -> Result<Vec<TimerRecord>, StoreError>;

    /// When the earliest timer `claimant` may fire is due.
    async fn next_timer_due(&self, claimant: &Claimant) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Removes a timer that fired without changing its call, unless it was re-armed since.
    async fn delete_timer(&self, timer: &TimerRecord) -> Result<(), StoreError>;

    // ---- notifications -------------------------------------------------------------------------------------------

    /// The notifications to send now, for at most `calls` calls — receivers (URLs) taking turns, and within one, calls
    /// whose oldest has never been tried first (fresh notifications do not queue behind retries), then the call with
    /// the oldest first: for each, its oldest
    /// pending notification if its next attempt is due by `now`, followed by up to `per_call - 1` more of the call's
    /// pending notifications that are due too (a call's notifications go out in order, so nothing behind one that is
    /// not due is taken).
    async fn deliverable_notifications(
        &self,
        now: DateTime<Utc>,
        per_call: u32,
        calls: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// The same for the calls `call_ids` only (those the dispatcher was told got new notifications): in their order,
    /// calls with nothing due left out.
    async fn deliverable_notifications_of(
        &self,
        call_ids: &[String],
        now: DateTime<Utc>,
        per_call: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// As [`Store::deliverable_notifications`], for the calls whose oldest pending notification waits for a retry that
    /// is due by `now` (at most `calls` of them, the longest-waiting first): found without reading the whole outbox.
    async fn deliverable_retries(
        &self,
        now: DateTime<Utc>,
        per_call: u32,
        calls: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// When the next retry is due: the earliest among the calls (not in `excluding`, those being delivered to right
    /// now) whose oldest pending notification waits for one.
    async fn next_retry_due(&self, excluding: &[String]) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Journals an attempt that carried the notifications `seqs` and applies its outcome to the pending ones among
    /// them (a notification that is no longer pending only gets the journal row).
    async fn record_attempt(&self, seqs: &[i64], attempt: DeliveryAttempt) -> Result<(), StoreError>;

    /// The notification journal, oldest first.
    async fn notifications(&self, filter: NotificationFilter) -> Result<Vec<NotificationRecord>, StoreError>;

    async fn notification(&self, seq: i64) -> Result<Option<NotificationRecord>, StoreError>;

    /// The attempts at a notification, first first.
    async fn delivery_attempts(&self, seq: i64) -> Result<Vec<AttemptRecord>, StoreError>;

    /// Makes the selected dead letters pending again, due at `now`, with a fresh retry budget; returns how many.
    /// Dead letters that had nowhere to go stay dead unless the selection gives a URL.
    async fn replay_notifications(&self, selection: ReplaySelection, now: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn notification_counts(&self) -> Result<NotificationCounts, StoreError>;

    /// Deletes delivered and dead-lettered notifications (with their attempts) that finished before
    /// `finished_before`, and then the oldest finished ones beyond `keep_at_most`; pending ones are never deleted.
    /// Returns how many were deleted.
    async fn prune_notifications(&self, finished_before: DateTime<Utc>, keep_at_most: u64) -> Result<u64, StoreError>;

    // ---- recordings ----------------------------------------------------------------------------------------------

    async fn put_recording(&self, recording: RecordingRecord) -> Result<(), StoreError>;

    async fn recording(&self, recording_id: Uuid) -> Result<Option<RecordingRecord>, StoreError>;

    /// Deletes the recordings of calls that ended before `cutoff`; returns how many.
    async fn delete_recordings_of_calls_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// A named value kept between runs.
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError>;

    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError>;

    // ---- the simulated world -------------------------------------------------------------------------------------

    /// Creates or replaces an entity.
    async fn put_world_entity(&self, entity: WorldEntityRecord) -> Result<(), StoreError>;

    async fn world_entity(
        &self,
        tenant_id: Uuid,
        kind: &str,
        key: &str,
    ) -> Result<Option<WorldEntityRecord>, StoreError>;

    /// Entities of a tenant (or all tenants), of a kind (or all kinds), by kind and key.
    async fn world_entities(
        &self,
        tenant_id: Option<Uuid>,
        kind: Option<&str>,
    ) -> Result<Vec<WorldEntityRecord>, StoreError>;

    async fn delete_world_entity(&self, tenant_id: Uuid, kind: &str, key: &str) -> Result<bool, StoreError>;

    /// Forgets the simulation: world entities, calls, timers and the notification journal, in one transaction.
    async fn reset_simulation(&self) -> Result<(), StoreError>;

    /// Flushes and closes; the store answers nothing afterwards.
    async fn close(&self);
}
