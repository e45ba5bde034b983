use switchboard_catalogue::Permission;
use switchboard_engine::Rejection;
use switchboard_store::StoreError;

use crate::{clock::ClockError, world::WorldError};

/// Why a call operation failed. The HTTP layer maps each to Graph's status and error body.
#[derive(Debug, thiserror::Error)]
pub enum CallsError {
    /// No such call for this app: unknown, another app's or tenant's, or ended (docs:call-keepalive: 404 after the
    /// end). Live Graph's message begins the same (code 8522, comms-samples #173, 2021).
    #[error("Call not found. Call '{call_id}' may have ended, or belong to another application.")]
    CallNotFound { call_id: String },
    #[error("Operation '{operation_id}' was not found in call '{call_id}'.")]
    OperationNotFound { call_id: String, operation_id: String },
    /// The engine refused the command in the call's current state.
    #[error("{0}")]
    Rejected(Rejection),
    /// The request cannot be carried out as sent.
    #[error("{0}")]
    Invalid(String),
    /// The app lacks the permission this kind of call needs.
    #[error("{what} needs one of these application permissions: {}", list(needed))]
    Forbidden { what: &'static str, needed: &'static [Permission] },
    /// A fault injected through `/_sim/faults`.
    #[error("{message}")]
    InjectedFault { status: u16, code: String, message: String },
    #[error(transparent)]
    World(#[from] WorldError),
    #[error(transparent)]
    Clock(#[from] ClockError),
    /// A stored call document this build cannot read.
    #[error("the stored call '{call_id}' cannot be read: {error}")]
    Corrupt { call_id: String, error: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another live node owns the call (ARCHITECTURE.md, "Ownership"); nothing was changed.
    #[error("call '{call_id}' is owned by another node at the moment; nothing was changed, try again shortly")]
    OwnedElsewhere { call_id: String },
    /// No such recording, or the access token does not open it.
    #[error(
        "Recording '{recording_id}' was not found, or the access token is not its own. Recordings are deleted some time after their call ends."
    )]
    RecordingNotFound { recording_id: uuid::Uuid },
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    /// A media file of the simulated people that does not exist.
    #[error("{0}")]
    MediaFileNotFound(String),
}

fn list(permissions: &[Permission]) -> String {
    permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
}

impl From<Rejection> for CallsError {
    fn from(rejection: Rejection) -> CallsError {
        CallsError::Rejected(rejection)
    }
}
