//! Records of calls, their timers, their notifications, and the simulated world.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A call: the engine's document with the columns queries need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub call_id: String,
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    pub state: String,
    pub version: i64,
    /// The engine's JSON document, without the call's operations.
    pub document: String,
    /// Read: the call's operations, in the order they were started. In a [`CallChange`]: only those the change
    /// started or changed ([`CallChange::forgotten_operations`] names those it dropped). They are kept beside the
    /// document, one row each, so a change writes the operations it touched rather than every one the call keeps.
    pub operations: Vec<OperationRecord>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set once the call has ended; its timers and operations are dropped then.
    pub ended_at: Option<DateTime<Utc>>,
}

/// One operation of a call (`…/operations/{id}`): the engine's JSON for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRecord {
    pub operation_id: String,
    pub document: String,
}

/// A timer of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRecord {
    pub call_id: String,
    /// The serialised timer; one per key and call.
    pub key: String,
    pub due_at: DateTime<Utc>,
}

/// A notification to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// `X-Microsoft-Skype-Message-ID`: the same on every attempt and replay, so a bot can drop duplicates.
    pub message_id: Uuid,
    pub call_id: String,
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    /// `None` when there is nowhere to send it; it is dead-lettered at once.
    pub url: Option<String>,
    /// The `commsNotifications` JSON.
    pub body: String,
    /// `X-Microsoft-Skype-Chain-ID`: the call's chain id.
    pub chain_id: String,
    /// `scenario-id`: the scenario the call belongs to.
    pub scenario_id: String,
    /// When the change that raised it happened (the server's clock, virtual or not).
    pub raised_at: DateTime<Utc>,
    /// When it was committed to the outbox, on the wall clock (delivery latency is measured from here).
    pub queued_at: DateTime<Utc>,
    /// An incoming call's offer: dead-lettered if still undelivered when its call ends.
    pub offer: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Given up on: refused by the receiver, out of retries, or nowhere to send. Can be replayed.
    DeadLettered,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] =
        [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::DeadLettered];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::DeadLettered => "deadLettered",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// A notification and how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// Increases with every notification: the journal's order and paging cursor.
    pub seq: i64,
    /// 1, 2, 3 … within the call, in the order the call raised them.
    pub call_sequence: i64,
    pub notification: NewNotification,
    pub status: DeliveryStatus,
    /// Every attempt ever made.
    pub attempts: u32,
    /// Attempts since it was queued or last replayed (what the backoff counts).
    pub round_attempts: u32,
    pub replayed_at: Option<DateTime<Utc>>,
    /// Pending notifications: when to try next (wall-clock time); `None` means at once.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status on the last attempt, if it answered.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Pending but set aside: it retries on its own and no longer holds the call's later notifications back.
    pub set_aside: bool,
}

impl NotificationRecord {
    /// A notification as it is queued: pending, never tried.
    pub fn queued(seq: i64, call_sequence: i64, notification: NewNotification) -> NotificationRecord {
        NotificationRecord {
            seq,
            call_sequence,
            notification,
            status: DeliveryStatus::Pending,
            attempts: 0,
            round_attempts: 0,
            replayed_at: None,
            next_attempt_at: None,
            last_status: None,
            last_error: None,
            finished_at: None,
            set_aside: false,
        }
    }

    /// Where the retry horizon of the current round starts: the queueing, or the last replay.
    pub fn round_started_at(&self) -> DateTime<Utc> {
        self.replayed_at.unwrap_or(self.notification.queued_at)
    }
}

/// One delivery attempt, as the dispatcher reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub started_at: DateTime<Utc>,
    pub latency_ms: u32,
    /// Where it went in the end (after any redirects).
    pub url: String,
    /// The request's headers, the bearer token left out.
    pub request_headers: Vec<(String, String)>,
    /// How many notifications the POST carried.
    pub batch_size: u32,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// The start of the receiver's answer.
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    /// Retried at this time, and set aside: the call's later notifications no longer wait for it.
    SetAside(DateTime<Utc>),
    DeadLettered,
    /// A deliberate extra delivery of a notification already delivered (the duplicate knob): journaled only.
    Duplicate,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::RetryAt(_) => "retry",
            AttemptOutcome::SetAside(_) => "setAside",
            AttemptOutcome::DeadLettered => "deadLettered",
            AttemptOutcome::Duplicate => "duplicate",
        }
    }
}

/// A journaled attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub seq: i64,
    /// 1 for the first attempt at the notification.
    pub attempt: u32,
    pub delivery: DeliveryAttempt,
}

/// Which dead letters to deliver again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySelection {
    pub seq: Option<i64>,
    pub tenant_id: Option<Uuid>,
    pub app_id: Option<Uuid>,
    pub call_id: Option<String>,
    /// Deliver to this URL instead of the original one (a bot that moved); required for those that had none.
    pub url: Option<String>,
}

/// How many notifications are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationCounts {
    pub pending: u64,
    pub delivered: u64,
    pub dead_lettered: u64,
}

/// The right to change a call: held by one node, fenced by its epoch (ARCHITECTURE.md, "Ownership").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub node_id: String,
    /// Raised by every takeover; a change carrying an older one is refused.
    pub epoch: i64,
}

/// A node of a deployment, alive until `expires_at` unless its heartbeat moves that on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub node_id: String,
    /// Where other nodes reach it (empty while nothing needs to).
    pub address: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A node asking for due timers at a wall-clock time: it gets those of the calls it owns, and of calls no live node
/// owns (it takes them over to fire them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    pub node_id: String,
    pub at: DateTime<Utc>,
}

/// Everything one change of a call writes, committed in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallChange {
    pub call: CallRecord,
    /// The lease the change was made under: a new call's first (epoch 1), or the one held on the stored call. A
    /// lease that is no longer the call's is [`Fenced`].
    ///
    /// [`Fenced`]: crate::StoreError::Fenced
    pub lease: Lease,
    /// The version the change was computed from; `None` for a new call. A mismatch is a [`Conflict`].
    ///
    /// [`Conflict`]: crate::StoreError::Conflict
    pub expected_version: Option<i64>,
    /// The timer that fired and caused the change, removed unless it was re-armed since (its due time moved).
    pub fired: Option<TimerRecord>,
    /// Timers to arm or move, for this call or another.
    pub timers: Vec<TimerRecord>,
    /// Keys of this call's timers to disarm.
    pub cancelled_timers: Vec<String>,
    /// Ids of the call's operations it no longer keeps.
    pub forgotten_operations: Vec<String>,
    pub notifications: Vec<NewNotification>,
}

/// Which notifications to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    pub tenant_id: Option<Uuid>,
    pub app_id: Option<Uuid>,
    pub call_id: Option<String>,
    pub status: Option<DeliveryStatus>,
    /// Raised at or after this time (the server's clock).
    pub raised_since: Option<DateTime<Utc>>,
    /// Raised before this time.
    pub raised_before: Option<DateTime<Utc>>,
    /// Only those with a larger `seq`.
    pub after: i64,
    pub limit: u32,
}

/// Which calls to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    pub tenant_id: Option<Uuid>,
    pub app_id: Option<Uuid>,
    /// Leave out calls that have ended.
    pub active_only: bool,
    pub limit: u32,
}

/// A simulated user, phone, bot or meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldEntityRecord {
    pub tenant_id: Uuid,
    pub kind: String,
    pub key: String,
    pub document: String,
    pub updated_at: DateTime<Utc>,
}

/// A recording made by `recordResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRecord {
    pub recording_id: Uuid,
    pub call_id: String,
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    /// Lower-case hex SHA-256 of the access token.
    pub token_sha256: String,
    pub wav: Vec<u8>,
    pub created_at: DateTime<Utc>,
}
