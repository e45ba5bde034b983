//! The token endpoint's requests, responses and errors, in the Microsoft identity platform's shapes.
//!
//! Errors carry the platform's AADSTS codes and wording (observed, e.g. `AADSTS7000215: Invalid client secret
//! provided…`), and render as `{"error","error_description","error_codes","timestamp","trace_id","correlation_id",
//! "error_uri"}` with 400, or 401 for `invalid_client`.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The form fields of a token request. Unknown fields (MSAL sends `client_info`, …) are ignored.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    pub scope: Option<String>,
}

impl TokenRequest {
    /// From the form body; `basic` is the client id and secret of an `Authorization: Basic` header, if any
    /// (`client_secret_basic`).
    pub fn from_form(
        fields: impl IntoIterator<Item = (String, String)>,
        basic: Option<(String, String)>,
    ) -> TokenRequest {
        let mut request = TokenRequest::default();
        for (name, value) in fields {
            let slot = match name.as_str() {
                "grant_type" => &mut request.grant_type,
                "client_id" => &mut request.client_id,
                "client_secret" => &mut request.client_secret,
                "client_assertion_type" => &mut request.client_assertion_type,
                "client_assertion" => &mut request.client_assertion,
                "scope" => &mut request.scope,
                _ => continue,
            };
            *slot = Some(value).filter(|v| !v.is_empty());
        }
        if let Some((id, secret)) = basic {
            request.client_id.get_or_insert(id);
            request.client_secret.get_or_insert(secret);
        }
        request
    }
}

/// A successful token response.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub token_type: &'static str,
    pub expires_in: i64,
    pub ext_expires_in: i64,
    pub access_token: String,
}

/// The JSON of a refused token request.
#[derive(Debug, Clone, Serialize)]
pub struct OAuthErrorBody {
    pub error: &'static str,
    pub error_description: String,
    pub error_codes: [u32; 1],
    pub timestamp: String,
    pub trace_id: String,
    pub correlation_id: String,
    pub error_uri: String,
}

/// A refused token request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AADSTS{code}: {description}")]
pub struct OAuthError {
    /// `invalid_client`, `invalid_request`, `unauthorized_client`, `invalid_scope` …
    pub error: &'static str,
    /// The AADSTS number.
    pub code: u32,
    pub description: String,
    /// For a throttled request: the seconds until the client may try again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    fn new(error: &'static str, code: u32, description: impl Into<String>) -> OAuthError {
        OAuthError { error, code, description: description.into(), retry_after: None }
    }

    /// The platform answers 429 when it throttles, 401 for `invalid_client` and 400 for everything else.
    pub fn status(&self) -> u16 {
        match (self.retry_after, self.error) {
            (Some(_), _) => 429,
            (None, "invalid_client") => 401,
            (None, _) => 400,
        }
    }

    /// Whether the request failed to prove who it is from (what throttling counts).
    pub(crate) fn is_failed_credential(&self) -> bool {
        matches!(self.error, "invalid_client" | "unauthorized_client")
    }

    /// Too many failed requests of this client (or from this source) lately.
    pub(crate) fn throttled(retry_after: u64) -> OAuthError {
        OAuthError {
            retry_after: Some(retry_after),
            ..OAuthError::new(
                "temporarily_unavailable",
                50196,
                format!(
                    "The server terminated an operation because it encountered a client request loop: too many \
                     failed token requests from this client or address. Try again in {retry_after} seconds."
                ),
            )
        }
    }

    /// The body, with the request's trace and correlation ids, members in the platform's order.
    pub fn body(&self, trace_id: &str, correlation_id: &str, now: DateTime<Utc>) -> OAuthErrorBody {
        let timestamp = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
        OAuthErrorBody {
            error: self.error,
            error_description: format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.code, self.description
            ),
            error_codes: [self.code],
            timestamp,
            trace_id: trace_id.to_owned(),
            correlation_id: correlation_id.to_owned(),
            error_uri: format!("https://login.microsoftonline.com/error?code={}", self.code),
        }
    }

    pub fn tenant_not_found(tenant: &str) -> OAuthError {
        OAuthError::new(
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into \
                 the correct cloud."
            ),
        )
    }

    pub fn missing(parameter: &str) -> OAuthError {
        OAuthError::new(
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }

    pub(crate) fn unsupported_grant_type(grant_type: &str) -> OAuthError {
        OAuthError::new(
            "unsupported_grant_type",
            70003,
            format!(
                "The app requested an unsupported grant type '{grant_type}'. Switchboard issues app-only tokens: use grant_type=client_credentials."
            ),
        )
    }

    pub(crate) fn application_not_found(client_id: &str, tenant: &str) -> OAuthError {
        OAuthError::new(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen \
                 if the application has not been installed by the administrator of the tenant or consented to by any \
                 user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// The identity platform's answer for a disabled app; Switchboard's dev app is disabled outside dev mode.
    pub(crate) fn dev_app_disabled(client_id: &str) -> OAuthError {
        OAuthError::new(
            "unauthorized_client",
            7000112,
            format!(
                "Application '{client_id}' is disabled. It is Switchboard's well-known dev app, whose secret is \
                 published: it authenticates in dev mode only. Register an app of your own (/_admin, switchboard app)."
            ),
        )
    }

    pub(crate) fn invalid_scope(scope: &str) -> OAuthError {
        OAuthError::new(
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value \
                 with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )
    }

    pub(crate) fn invalid_resource(resource: &str, tenant: &str) -> OAuthError {
        OAuthError::new(
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. Switchboard issues \
                 tokens for Microsoft Graph only: use scope=https://graph.microsoft.com/.default."
            ),
        )
    }

    pub(crate) fn missing_credentials() -> OAuthError {
        OAuthError::new(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    }

    pub(crate) fn invalid_secret(app_id: &str) -> OAuthError {
        OAuthError::new(
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret \
                 value, not the client secret ID, for a secret added to app '{app_id}'."
            ),
        )
    }

    pub(crate) fn expired_secret(app_id: &str) -> OAuthError {
        OAuthError::new(
            "invalid_client",
            7000222,
            format!("The provided client secret keys for app '{app_id}' are expired. Create new keys for your app."),
        )
    }

    pub(crate) fn invalid_assertion_type() -> OAuthError {
        OAuthError::new(
            "invalid_request",
            90014,
            "The required field 'client_assertion_type' is missing or is not \
             'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
        )
    }

    pub(crate) fn malformed_assertion() -> OAuthError {
        OAuthError::new("invalid_client", 50027, "JWT token is invalid or malformed.")
    }

    pub(crate) fn assertion_signature(app_id: &str) -> OAuthError {
        OAuthError::new(
            "invalid_client",
            700027,
            format!(
                "Client assertion failed signature validation. No certificate registered for app '{app_id}' verifies \
                 it (its x5t names none of them, or the signature is wrong)."
            ),
        )
    }

    pub(crate) fn assertion_lifetime() -> OAuthError {
        OAuthError::new("invalid_client", 700024, "Client assertion is not within its valid time range.")
    }

    pub(crate) fn assertion_too_long(max_seconds: i64) -> OAuthError {
        OAuthError::new(
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range: it expires more than {max_seconds} seconds from \
                 now. Sign a short-lived assertion for each request (MSAL's are valid for 10 minutes)."
            ),
        )
    }

    pub(crate) fn assertion_without_jti() -> OAuthError {
        OAuthError::new(
            "invalid_client",
            50027,
            "JWT token is invalid or malformed: the client assertion has no 'jti'.",
        )
    }

    pub(crate) fn assertion_replayed() -> OAuthError {
        OAuthError::new(
            "invalid_client",
            50027,
            "JWT token is invalid or malformed: this client assertion's 'jti' was used before. Sign a new assertion for \
             each token request (RFC 7523, section 3).",
        )
    }

    pub(crate) fn assertion_subject() -> OAuthError {
        OAuthError::new(
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        )
    }

    pub(crate) fn assertion_audience(expected: &str) -> OAuthError {
        OAuthError::new(
            "invalid_client",
            700023,
            format!("Client assertion audience claim does not match the token endpoint; expected '{expected}'."),
        )
    }
}
