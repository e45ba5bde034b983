//! Access tokens (what bots send to Graph) and notification tokens (what Switchboard sends to bots).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_catalogue::Permission;
use uuid::Uuid;

/// The audiences a Microsoft Graph access token may name: the resource URI and Graph's app id.
pub(crate) const GRAPH_AUDIENCES: [&str; 3] =
    ["https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"];

/// Clock skew tolerated on `nbf` and `exp`, as the Microsoft identity libraries allow.
pub(crate) const CLOCK_SKEW_SECONDS: i64 = 300;

/// The claims of an app-only v2.0 access token for Microsoft Graph.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub(crate) aud: String,
    pub(crate) iss: String,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) exp: i64,
    /// The app's client id (v1 name) and the authorised party (v2 name): both, as real Graph tokens carry them.
    pub(crate) appid: String,
    pub(crate) azp: String,
    /// How the app authenticated: "1" client secret, "2" certificate.
    pub(crate) appidacr: String,
    pub(crate) azpacr: String,
    pub(crate) idtyp: String,
    pub(crate) oid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) roles: Vec<String>,
    pub(crate) sub: String,
    pub(crate) tid: String,
    pub(crate) jti: String,
    pub(crate) ver: String,
}

/// The claims of the token on every notification: what the Graph calling samples validate
/// (`aud` = the bot's app id, `iss`, `tid`, lifetime).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NotificationClaims {
    pub(crate) aud: String,
    pub(crate) iss: String,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) exp: i64,
    pub(crate) tid: String,
    pub(crate) jti: String,
}

/// An app whose access token Switchboard verified. Only the verifier constructs one, so a handler holding it knows
/// the request is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedApp {
    tenant_id: Uuid,
    app_id: Uuid,
    roles: BTreeSet<Permission>,
}

impl AuthenticatedApp {
    pub(crate) fn new(tenant_id: Uuid, app_id: Uuid, roles: BTreeSet<Permission>) -> AuthenticatedApp {
        AuthenticatedApp { tenant_id, app_id, roles }
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    pub fn app_id(&self) -> Uuid {
        self.app_id
    }

    /// The application permissions the token carries.
    pub fn roles(&self) -> &BTreeSet<Permission> {
        &self.roles
    }

    /// Whether the token carries any of `permissions`.
    pub fn has_any(&self, permissions: &[Permission]) -> bool {
        permissions.iter().any(|p| self.roles.contains(p))
    }
}

/// Why a request's token was refused. The messages are Graph's where Graph's are known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Graph's words, then the usual cause: Graph clients send their token only to hosts they trust (README,
    /// "Authenticating like production").
    #[error(
        "Access token is empty. A Graph SDK sends no token to a host it does not know: allow this server's host \
         (Kiota SDKs: allowedHosts / AllowedHostsValidator; @microsoft/microsoft-graph-client: customHosts)."
    )]
    Missing,
    /// Graph's wording for a token it cannot parse.
    #[error("CompactToken parsing failed with error code: 80049217")]
    Malformed,
    #[error("Access token validation failure. Invalid signature.")]
    InvalidSignature,
    #[error("Access token validation failure. Invalid audience.")]
    InvalidAudience,
    #[error("Access token validation failure. Invalid issuer.")]
    InvalidIssuer,
    #[error("Lifetime validation failed, the token is expired.")]
    Expired,
    #[error("Lifetime validation failed, the token is not yet valid.")]
    NotYetValid,
    /// The token is sound but names an app that is no longer registered (comms-samples #432: Graph answers 403
    /// with error 7503).
    #[error("Application is not registered in our store.")]
    UnknownApplication,
    /// A token of Switchboard's well-known dev app, outside dev mode.
    #[error("The application is Switchboard's well-known dev app, which is refused outside dev mode.")]
    DevAppDisabled,
    /// The token's tenant is not the app's (docs-contrib #5874: error 7505).
    #[error("Request authorization tenant mismatch.")]
    TenantMismatch,
}

pub(crate) fn seconds(time: DateTime<Utc>) -> i64 {
    time.timestamp()
}
