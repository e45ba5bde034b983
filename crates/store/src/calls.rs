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
    /// The engine's JSON document.
    pub document: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set once the call has ended; its timers are dropped then.
    pub ended_at: Option<DateTime<Utc>>,
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
    pub call_id: String,
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    /// `None` when there is nowhere to send it; it is journaled as failed.
    pub url: Option<String>,
    /// The `commsNotifications` JSON.
    pub body: String,
    /// When the change that raised it happened (the server's clock, virtual or not).
    pub raised_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Given up on: refused by the receiver, out of attempts, or nowhere to send.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// A notification and how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// Increases with every notification: the journal's order and paging cursor.
    pub seq: i64,
    pub notification: NewNotification,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// Pending notifications: when to try next (wall-clock time).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status on the last attempt, if it answered.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    GaveUp,
}

/// Everything one change of a call writes, committed in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallChange {
    pub call: CallRecord,
    /// The version the change was computed from; `None` for a new call. A mismatch is a [`Conflict`].
    ///
    /// [`Conflict`]: crate::StoreError::Conflict
    pub expected_version: Option<i64>,
    /// The timer that fired and caused the change, removed unless it was re-armed since (its due time moved).
    pub fired: Option<TimerRecord>,
    /// Timers to arm or move, for this call or another.
    pub timers: Vec<TimerRecord>,
    pub notifications: Vec<NewNotification>,
}

/// Which notifications to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    pub tenant_id: Option<Uuid>,
    pub app_id: Option<Uuid>,
    pub call_id: Option<String>,
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
