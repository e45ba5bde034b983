//! The conversation token live Graph hands a bot inside a call's updates (`tokenMeetingInfo`): the runtime says
//! what it names, the identity layer signs it with the server's notification key.

use std::{fmt, sync::Arc};

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What one conversation token says.
#[derive(Debug, Clone, Copy)]
pub struct ConversationToken<'a> {
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    /// The call's chain id, which live Graph's token names `activityId`.
    pub activity_id: &'a str,
    pub call_id: &'a str,
    pub issued_at: DateTime<Utc>,
}

/// Signs conversation tokens (the server wires it to its identity service).
#[derive(Clone)]
pub struct ConversationTokens(Arc<dyn Fn(&ConversationToken<'_>) -> String + Send + Sync>);

impl ConversationTokens {
    pub fn new(sign: impl Fn(&ConversationToken<'_>) -> String + Send + Sync + 'static) -> ConversationTokens {
        ConversationTokens(Arc::new(sign))
    }

    pub fn sign(&self, token: &ConversationToken<'_>) -> String {
        (self.0)(token)
    }
}

impl fmt::Debug for ConversationTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConversationTokens")
    }
}
