//! The conversation token live Graph hands a bot inside a call's updates (`tokenMeetingInfo`). Graph's are RS256
//! by Bot Framework, which no bot can check; these have the same claims and are HS256 under a key made at start,
//! since an RSA signature per call (~0.8 ms here) cost more than the rest of a call's set-up (BENCHMARKS.md,
//! "Signing"; docs/fidelity.md).

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
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

/// The claims, named as live Graph's are (tests/fixtures/observed/sambetts/p2p-established-meetinginfo-token.json).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Claims<'a> {
    app_id: String,
    conversation_controller: String,
    activity_id: &'a str,
    #[serde(rename = "http://schemas.microsoft.com/identity/claims/tenantid")]
    tenant_id: String,
    nbf: i64,
    exp: i64,
    iss: &'a str,
    aud: &'a str,
}

/// Signs conversation tokens.
#[derive(Clone)]
pub struct ConversationTokens {
    key: EncodingKey,
    /// `iss` and `aud`, as both are Bot Framework's in Graph's: the server's notification issuer.
    issuer: String,
    /// Where the calls are controlled: `{public_url}/v1.0/communications/calls`.
    calls_url: String,
}

impl ConversationTokens {
    pub fn new(issuer: String, public_url: &str) -> ConversationTokens {
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret).expect("invariant: the system random source works");
        let calls_url = format!("{}/v1.0/communications/calls", public_url.trim_end_matches('/'));
        ConversationTokens { key: EncodingKey::from_secret(&secret), issuer, calls_url }
    }

    /// The token, valid for a day as Graph's are.
    pub fn sign(&self, token: &ConversationToken<'_>) -> String {
        let claims = Claims {
            app_id: token.app_id.to_string(),
            conversation_controller: format!("{}/{}", self.calls_url, token.call_id),
            activity_id: token.activity_id,
            tenant_id: token.tenant_id.to_string(),
            nbf: token.issued_at.timestamp(),
            exp: (token.issued_at + Duration::days(1)).timestamp(),
            iss: &self.issuer,
            aud: &self.issuer,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("invariant: HS256 signing of plain claims cannot fail")
    }
}

impl fmt::Debug for ConversationTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConversationTokens").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}
