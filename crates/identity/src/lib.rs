//! Switchboard's identity service: the Microsoft identity platform's part of a Graph bot's life.
//!
//! * [`Directory`]: tenants and app registrations (permissions, hashed secrets, certificates, calling webhook) —
//!   the one code path behind the config file, `switchboard app …` and `/_admin`;
//! * [`Identity::issue_token`]: the OAuth2 client-credentials flow (client secret or certificate assertion), with the
//!   platform's errors;
//! * [`Identity::authenticate`]: verification of the bearer token on a Graph request, yielding an
//!   [`AuthenticatedApp`] only it can construct;
//! * [`Identity::notification_token`]: the token on every notification Switchboard sends a bot;
//! * the OpenID configurations and the JWKS for both; RS256 keys persisted in the store and rotated with overlap.
//!
//! Time is always passed in (`now`), so tests can move it.

mod credentials;
mod directory;
mod keys;
pub mod oauth;
mod throttle;
mod tokens;

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation, jwk::JwkSet};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_catalogue::Permission;
use switchboard_store::{ApplicationRecord, Store, StoreError};
use url::Url;
use uuid::Uuid;

pub use credentials::NewSecret;
pub use directory::{
    AdminError, App, AppConfig, CertificateInfo, DEV_APP_ID, DEV_SECRET, DEV_TENANT_ID, Directory, DirectoryConfig,
    NewApp, SecretInfo, Tenant, TenantConfig,
};
use keys::{KeySet, SigningKey};
use oauth::{OAuthError, TokenRequest, TokenResponse};
use tokens::{AccessClaims, CLOCK_SKEW_SECONDS, GRAPH_AUDIENCES, NotificationClaims, seconds};
pub use tokens::{AuthenticatedApp, TokenRejection};

/// The issuer Bot Framework uses on calling notifications; bots built from the Graph samples accept it.
pub const BOT_FRAMEWORK_ISSUER: &str = "https://api.botframework.com";

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Where clients reach Switchboard (`http://127.0.0.1:8640`); issuers and endpoint URLs are built from it.
    pub public_url: Url,
    /// How long access and notification tokens live (Entra ID's default is about an hour).
    pub token_lifetime: Duration,
    /// The `iss` of notification tokens: Switchboard's own URL, or [`BOT_FRAMEWORK_ISSUER`].
    pub notification_issuer: String,
    /// Whether the well-known dev app ([`DEV_APP_ID`], whose secret is published) authenticates: in dev mode only.
    /// A data directory first served in dev mode keeps it; outside dev mode it gets no token, and a token it got
    /// earlier is refused.
    pub dev_app_enabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("could not generate an RSA signing key")]
    KeyGeneration,
    #[error("the stored signing key '{0}' is unusable: {1}")]
    InvalidStoredKey(String, String),
    #[error("the store holds no active signing key")]
    NoActiveKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token request that did not produce a token.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Refused(#[from] OAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A Graph request whose caller could not be established.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticationError {
    #[error(transparent)]
    Rejected(#[from] TokenRejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Identity {
    store: Arc<dyn Store>,
    config: IdentityConfig,
    keys: RwLock<KeySet>,
    /// Apps as every Graph request's authentication last read them (see [`Identity::application`]).
    apps: Mutex<HashMap<Uuid, CachedApp>>,
    apps_changed: AtomicU64,
    /// Access tokens whose signature was checked, with their claims: a bot sends the same token with every request
    /// for an hour, and an RSA verification costs more than the rest of a request's authentication.
    /// (By token: the key id that signed it and its claims.)
    verified: Mutex<HashMap<String, (String, Arc<AccessClaims>)>>,
    /// Argon2 checks of secrets chosen by hand run this many at a time (each takes ~19 MiB and tens of milliseconds;
    /// token requests cannot make the server spend more).
    slow_checks: tokio::sync::Semaphore,
    /// Failed token requests, per client and source.
    throttle: throttle::Throttle,
    /// The `jti` of every client assertion accepted, with its expiry (Unix seconds): an assertion is good once.
    assertions: Mutex<HashMap<String, i64>>,
    /// When the keys were last read from the store on demand (see [`Identity::refresh_keys`]).
    keys_read: Mutex<Option<std::time::Instant>>,
}

/// How many argon2 checks of secrets run at once.
const SLOW_CHECKS: usize = 2;
/// The longest a client assertion may be valid for from when it is presented; also how long its `jti` is kept.
const MAX_ASSERTION_SECONDS: i64 = 3600;
/// At most this many assertion ids are remembered; past it, new assertions are refused until old ones expire
/// (each one was signed by a registered certificate's key, so only an app's own keys can fill it).
const REMEMBERED_ASSERTIONS: usize = 100_000;
/// Keys are read from the store on demand at most this often: a token naming an unknown key, and the JWKS
/// endpoints, cost one read per interval, not one per request.
const KEY_READ_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// At most this many verified tokens are remembered (then the memory starts afresh).
const VERIFIED_TOKENS: usize = 4096;

/// How long an app read for authentication is trusted when this process did not change it: changes made by another
/// process on the same data directory (`switchboard app …`) take effect within this.
const APP_CACHE: std::time::Duration = std::time::Duration::from_secs(1);

struct CachedApp {
    generation: u64,
    read: std::time::Instant,
    app: ApplicationRecord,
}

/// The claims of a client assertion. Times are NumericDates, which may be fractional (RFC 7519 §2; MSAL Python
/// writes `time.time()` as is).
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: f64,
    #[serde(default)]
    nbf: Option<f64>,
    /// Required by the identity platform ("certificate credentials": a GUID), and what makes an assertion single-use.
    #[serde(default)]
    jti: Option<String>,
}

impl Identity {
    /// Loads the signing keys, generating the first one on a new store and dropping keys no token can need.
    pub async fn start(
        store: Arc<dyn Store>,
        config: IdentityConfig,
        now: DateTime<Utc>,
    ) -> Result<Identity, IdentityError> {
        store.delete_signing_keys_retired_before(now - config.token_lifetime).await?;
        let mut records = store.signing_keys().await?;
        if !records.iter().any(|k| k.retired_at.is_none()) {
            let first = SigningKey::generate(now)?;
            store.rotate_signing_key(first).await?;
            records = store.signing_keys().await?;
            tracing::info!("generated the first token signing key");
        }
        let keys = RwLock::new(KeySet::from_records(&records)?);
        Ok(Identity {
            store,
            config,
            keys,
            apps: Mutex::new(HashMap::new()),
            apps_changed: AtomicU64::new(0),
            verified: Mutex::new(HashMap::new()),
            slow_checks: tokio::sync::Semaphore::new(SLOW_CHECKS),
            throttle: throttle::Throttle::default(),
            assertions: Mutex::new(HashMap::new()),
            keys_read: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    pub fn directory(&self) -> Directory<'_> {
        Directory::new(&*self.store, &self.apps_changed)
    }

    fn base(&self) -> &str {
        self.config.public_url.as_str().trim_end_matches('/')
    }

    /// `{public_url}/{tenant}/v2.0`: the issuer of a tenant's access tokens.
    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.base())
    }

    pub fn token_endpoint(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.base())
    }

    /// Where bots find the notification signing keys (the counterpart of
    /// `https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration`, which the Graph samples hard-code).
    pub fn notification_openid_configuration_url(&self) -> String {
        format!("{}/v1/.well-known/OpenIdConfiguration", self.base())
    }

    fn keys(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        self.keys.read().expect("the key set lock is never poisoned: no code panics while holding it")
    }

    /// Re-reads the keys from the store if they were not read in the last [`KEY_READ_INTERVAL`], so a rotation done
    /// by another process (`switchboard keys rotate`) takes effect here within it. The JWKS endpoints and tokens
    /// naming an unknown key call it: neither can make the server read the store more often than that.
    pub async fn refresh_keys(&self) -> Result<(), IdentityError> {
        {
            let mut read = self.keys_read.lock().expect("invariant: nothing panics holding the key-read time");
            if read.is_some_and(|at| at.elapsed() < KEY_READ_INTERVAL) {
                return Ok(());
            }
            *read = Some(std::time::Instant::now());
        }
        self.reload_keys().await
    }

    /// Re-reads the keys from the store.
    async fn reload_keys(&self) -> Result<(), IdentityError> {
        metrics::counter!("switchboard_signing_key_reads_total").increment(1);
        let records = self.store.signing_keys().await?;
        let keys = KeySet::from_records(&records)?;
        *self.keys.write().expect("the key set lock is never poisoned: no code panics while holding it") = keys;
        Ok(())
    }

    /// Makes a new key active; the old one stays published until its tokens have expired. Returns the new key id.
    pub async fn rotate_keys(&self, now: DateTime<Utc>) -> Result<String, IdentityError> {
        let key = SigningKey::generate(now)?;
        let kid = key.kid.clone();
        self.store.rotate_signing_key(key).await?;
        self.store.delete_signing_keys_retired_before(now - self.config.token_lifetime).await?;
        self.reload_keys().await?;
        tracing::info!(kid, "rotated the token signing key");
        Ok(kid)
    }

    /// The public signing keys a verifier needs now.
    pub fn jwks(&self, now: DateTime<Utc>) -> JwkSet {
        self.keys().published(now, self.config.token_lifetime)
    }

    /// The tenant's OpenID configuration, as `{tenant}/v2.0/.well-known/openid-configuration` serves it.
    pub fn openid_configuration(&self, tenant: &str) -> Value {
        let base = self.base();
        json!({
            "token_endpoint": self.token_endpoint(tenant),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": self.issuer(tenant),
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": format!("{base}/oidc/userinfo"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "appid", "azp", "roles", "oid", "ver"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": self.config.public_url.host_str().unwrap_or("localhost"),
            "msgraph_host": self.config.public_url.authority(),
        })
    }

    /// The OpenID configuration for notification tokens.
    pub fn notification_openid_configuration(&self) -> Value {
        json!({
            "issuer": self.config.notification_issuer,
            "jwks_uri": format!("{}/v1/.well-known/keys", self.base()),
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        })
    }

    /// Signs `claims` with the active key.
    fn sign(&self, claims: &impl serde::Serialize) -> String {
        let keys = self.keys();
        let key = keys.active();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding).expect("RS256 signing with a loaded key cannot fail")
    }

    /// The client-credentials flow: checks the tenant, the app, the scope and the credential, then issues an
    /// access token carrying the app's granted permissions as `roles`. A client (or a `source` address) whose
    /// requests failed too often lately is refused at once (429, see `throttle.rs`).
    pub async fn issue_token(
        &self,
        tenant: &str,
        request: &TokenRequest,
        source: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, IssueError> {
        let client = request.client_id.as_deref().unwrap_or_default();
        if let Some(wait) = self.throttle.wait(client, source, now) {
            return Err(OAuthError::throttled(wait).into());
        }
        let issued = self.issue_checked(tenant, request, now).await;
        if let Err(IssueError::Refused(error)) = &issued
            && error.is_failed_credential()
        {
            self.throttle.failed(client, source, now);
        }
        issued
    }

    async fn issue_checked(
        &self,
        tenant: &str,
        request: &TokenRequest,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, IssueError> {
        let tenant_id: Uuid = tenant.parse().map_err(|_| OAuthError::tenant_not_found(tenant))?;
        if !self.store.tenants().await?.iter().any(|t| t.tenant_id == tenant_id) {
            return Err(OAuthError::tenant_not_found(tenant).into());
        }
        let grant_type = request.grant_type.as_deref().ok_or_else(|| OAuthError::missing("grant_type"))?;
        if grant_type != "client_credentials" {
            return Err(OAuthError::unsupported_grant_type(grant_type).into());
        }
        let client_id = request.client_id.as_deref().ok_or_else(|| OAuthError::missing("client_id"))?;
        let application = match client_id.parse::<Uuid>() {
            Ok(app_id) => self.store.application(app_id).await?.filter(|a| a.tenant_id == tenant_id),
            Err(_) => None,
        };
        let application = application.ok_or_else(|| OAuthError::application_not_found(client_id, tenant))?;
        if application.app_id == DEV_APP_ID && !self.config.dev_app_enabled {
            return Err(OAuthError::dev_app_disabled(client_id).into());
        }
        check_scope(request.scope.as_deref(), tenant)?;
        let authentication_method = match (&request.client_secret, &request.client_assertion) {
            (Some(secret), _) => {
                self.check_secret(&application, secret, now).await?;
                "1"
            }
            (None, Some(assertion)) => {
                if request.client_assertion_type.as_deref() != Some(JWT_BEARER) {
                    return Err(OAuthError::invalid_assertion_type().into());
                }
                self.check_assertion(&application, tenant, assertion, now).await?;
                "2"
            }
            (None, None) => return Err(OAuthError::missing_credentials().into()),
        };
        let lifetime = self.config.token_lifetime;
        let app_id = application.app_id.to_string();
        let claims = AccessClaims {
            aud: GRAPH_AUDIENCES[0].to_owned(),
            iss: self.issuer(&tenant_id.to_string()),
            iat: seconds(now),
            nbf: seconds(now),
            exp: seconds(now + lifetime),
            appid: app_id.clone(),
            azp: app_id.clone(),
            appidacr: authentication_method.to_owned(),
            azpacr: authentication_method.to_owned(),
            idtyp: "app".to_owned(),
            oid: app_id.clone(),
            roles: application.permissions.clone(),
            sub: app_id,
            tid: tenant_id.to_string(),
            jti: Uuid::new_v4().to_string(),
            ver: "2.0".to_owned(),
        };
        Ok(TokenResponse {
            token_type: "Bearer",
            expires_in: lifetime.num_seconds(),
            ext_expires_in: lifetime.num_seconds(),
            access_token: self.sign(&claims),
        })
    }

    async fn check_secret(
        &self,
        application: &ApplicationRecord,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<(), IssueError> {
        let app_id = application.app_id.to_string();
        let secrets = self.store.secrets(application.app_id).await?;
        let _slow = match secrets.iter().any(credentials::is_slow) {
            true => Some(self.slow_checks.acquire().await.expect("invariant: the semaphore is never closed")),
            false => None,
        };
        match credentials::find_secret(secrets, secret).await {
            Some(record) if record.expires_at.is_some_and(|expiry| expiry <= now) => {
                Err(OAuthError::expired_secret(&app_id).into())
            }
            Some(_) => Ok(()),
            None => Err(OAuthError::invalid_secret(&app_id).into()),
        }
    }

    /// A client assertion (RFC 7523): a JWT the app signed with a registered certificate's key, naming itself as
    /// issuer and subject and this token endpoint as audience.
    async fn check_assertion(
        &self,
        application: &ApplicationRecord,
        tenant: &str,
        assertion: &str,
        now: DateTime<Utc>,
    ) -> Result<(), IssueError> {
        let app_id = application.app_id.to_string();
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| OAuthError::malformed_assertion())?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::PS256) {
            return Err(OAuthError::assertion_signature(&app_id).into());
        }
        let certificates = self.store.certificates(application.app_id).await?;
        let named = |record: &&switchboard_store::CertificateRecord| match (&header.x5t_s256, &header.x5t, &header.kid)
        {
            (Some(thumbprint), _, _) => credentials::x5t_s256_matches(record, thumbprint),
            (None, Some(thumbprint), _) => credentials::x5t_matches(record, thumbprint),
            (None, None, Some(kid)) => kid.eq_ignore_ascii_case(&record.sha1) || credentials::x5t_matches(record, kid),
            (None, None, None) => true,
        };
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let verified = certificates
            .iter()
            .filter(named)
            .filter(|record| record.expires_at.is_none_or(|expiry| expiry > now))
            .filter_map(|record| {
                let spki = pem::parse(&record.public_key_pem).ok()?;
                let key = DecodingKey::from_rsa_der(&credentials::rsa_public_key(spki.contents()).ok()?);
                jsonwebtoken::decode::<Value>(assertion, &key, &validation).ok()
            })
            .next();
        let claims = verified.ok_or_else(|| OAuthError::assertion_signature(&app_id))?.claims;
        let claims: AssertionClaims = serde_json::from_value(claims).map_err(|_| OAuthError::malformed_assertion())?;
        if !(claims.iss.eq_ignore_ascii_case(&app_id) && claims.sub.eq_ignore_ascii_case(&app_id)) {
            return Err(OAuthError::assertion_subject().into());
        }
        let expected = self.token_endpoint(tenant);
        if !claims.aud.trim_end_matches('/').eq_ignore_ascii_case(&expected) {
            return Err(OAuthError::assertion_audience(&expected).into());
        }
        let (now, skew) = (seconds(now), CLOCK_SKEW_SECONDS);
        if claims.exp + (skew as f64) < now as f64 || claims.nbf.is_some_and(|nbf| nbf - (skew as f64) > now as f64) {
            return Err(OAuthError::assertion_lifetime().into());
        }
        if claims.exp > (now + MAX_ASSERTION_SECONDS + skew) as f64 {
            return Err(OAuthError::assertion_too_long(MAX_ASSERTION_SECONDS).into());
        }
        let jti = claims.jti.filter(|jti| !jti.is_empty()).ok_or_else(OAuthError::assertion_without_jti)?;
        self.first_use(jti, claims.exp as i64 + skew, now)
    }

    /// Remembers an assertion's `jti` until it expires; refuses one seen before.
    fn first_use(&self, jti: String, expires: i64, now: i64) -> Result<(), IssueError> {
        let mut seen = self.assertions.lock().expect("invariant: nothing panics holding the assertion ids");
        if seen.len() >= REMEMBERED_ASSERTIONS {
            seen.retain(|_, expiry| *expiry >= now);
        }
        match seen.get(&jti) {
            Some(expiry) if *expiry >= now => return Err(OAuthError::assertion_replayed().into()),
            _ if seen.len() >= REMEMBERED_ASSERTIONS => return Err(OAuthError::throttled(60).into()),
            _ => {}
        }
        seen.insert(jti, expires);
        Ok(())
    }

    /// Verifies the `Authorization` header of a Graph request.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AuthenticatedApp, AuthenticationError> {
        let token = bearer_token(authorization)?;
        let claims = match self.remembered(token) {
            Some(claims) => claims,
            None => {
                let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
                let kid = header.kid.ok_or(TokenRejection::InvalidSignature)?;
                if self.keys().find(&kid).is_none() {
                    self.refresh_keys().await.map_err(|error| match error {
                        IdentityError::Store(store) => AuthenticationError::Store(store),
                        _ => AuthenticationError::Rejected(TokenRejection::InvalidSignature),
                    })?;
                }
                self.verify_signature(token, kid)?
            }
        };
        self.check_claims(&claims, now)?;
        let tenant_id: Uuid = claims.tid.parse().map_err(|_| TokenRejection::Malformed)?;
        let app_id: Uuid = claims.appid.parse().map_err(|_| TokenRejection::Malformed)?;
        if app_id == DEV_APP_ID && !self.config.dev_app_enabled {
            return Err(TokenRejection::DevAppDisabled.into());
        }
        let application = self.application(app_id).await?.ok_or(TokenRejection::UnknownApplication)?;
        if application.tenant_id != tenant_id {
            return Err(TokenRejection::TenantMismatch.into());
        }
        let roles = claims.roles.iter().filter_map(|name| Permission::parse(name)).collect();
        Ok(AuthenticatedApp::new(tenant_id, app_id, roles))
    }

    /// An app, as authentication needs it on every request: read from the store at most once a second, and again at
    /// once after this process changed any app.
    async fn application(&self, app_id: Uuid) -> Result<Option<ApplicationRecord>, StoreError> {
        let generation = self.apps_changed.load(Ordering::SeqCst);
        {
            let apps = self.apps.lock().expect("invariant: nothing panics holding the app cache");
            if let Some(cached) =
                apps.get(&app_id).filter(|c| c.generation == generation && c.read.elapsed() < APP_CACHE)
            {
                return Ok(Some(cached.app.clone()));
            }
        }
        let app = self.store.application(app_id).await?;
        let mut apps = self.apps.lock().expect("invariant: nothing panics holding the app cache");
        match &app {
            Some(app) => {
                let read = std::time::Instant::now();
                apps.insert(app_id, CachedApp { generation, read, app: app.clone() });
            }
            None => {
                apps.remove(&app_id);
            }
        }
        Ok(app)
    }

    /// The claims of a token whose signature was verified before, if the key that signed it is still published.
    fn remembered(&self, token: &str) -> Option<Arc<AccessClaims>> {
        let (kid, claims) =
            self.verified.lock().expect("invariant: nothing panics holding the token memory").get(token).cloned()?;
        self.keys().find(&kid).is_some().then_some(claims)
    }

    /// The claims against `now`, with Graph's messages (the signature was checked already).
    fn check_claims(&self, claims: &AccessClaims, now: DateTime<Utc>) -> Result<(), TokenRejection> {
        if claims.iss != self.issuer(&claims.tid) {
            return Err(TokenRejection::InvalidIssuer);
        }
        if !GRAPH_AUDIENCES.contains(&claims.aud.as_str()) {
            return Err(TokenRejection::InvalidAudience);
        }
        let now = seconds(now);
        if claims.exp + CLOCK_SKEW_SECONDS <= now {
            return Err(TokenRejection::Expired);
        }
        if claims.nbf - CLOCK_SKEW_SECONDS > now {
            return Err(TokenRejection::NotYetValid);
        }
        Ok(())
    }

    /// The claims of `token` if the published key `kid` signed it, remembered for the token's next requests. Only
    /// the signature here; [`Identity::check_claims`] checks the claims against the time, with Graph's messages.
    fn verify_signature(&self, token: &str, kid: String) -> Result<Arc<AccessClaims>, TokenRejection> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let decoded = {
            let keys = self.keys();
            let key = keys.find(&kid).ok_or(TokenRejection::InvalidSignature)?;
            jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
        };
        let claims = Arc::new(
            decoded
                .map_err(|error| match error.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidSignature
                    | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => TokenRejection::InvalidSignature,
                    _ => TokenRejection::Malformed,
                })?
                .claims,
        );
        let mut verified = self.verified.lock().expect("invariant: nothing panics holding the token memory");
        if verified.len() >= VERIFIED_TOKENS {
            verified.clear();
        }
        verified.insert(token.to_owned(), (kid, claims.clone()));
        Ok(claims)
    }

    /// The bearer token for a notification to `app_id` about a call in `tenant_id`.
    pub fn notification_token(&self, tenant_id: Uuid, app_id: Uuid, now: DateTime<Utc>) -> String {
        let claims = NotificationClaims {
            aud: app_id.to_string(),
            iss: self.config.notification_issuer.clone(),
            iat: seconds(now),
            nbf: seconds(now),
            exp: seconds(now + self.config.token_lifetime),
            tid: tenant_id.to_string(),
            jti: Uuid::new_v4().to_string(),
        };
        self.sign(&claims)
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer_token(authorization: Option<&str>) -> Result<&str, TokenRejection> {
    let value = authorization.map(str::trim).filter(|v| !v.is_empty()).ok_or(TokenRejection::Missing)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenRejection::Malformed);
    }
    match token.trim() {
        "" => Err(TokenRejection::Missing),
        token => Ok(token),
    }
}

/// Client credentials take exactly one scope, `{resource}/.default`, and Switchboard's only resource is Graph.
fn check_scope(scope: Option<&str>, tenant: &str) -> Result<(), OAuthError> {
    let scope = scope.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| OAuthError::missing("scope"))?;
    let mut scopes = scope.split_whitespace();
    let (Some(only), None) = (scopes.next(), scopes.next()) else {
        return Err(OAuthError::invalid_scope(scope));
    };
    let resource = only.strip_suffix("/.default").ok_or_else(|| OAuthError::invalid_scope(scope))?;
    if GRAPH_AUDIENCES
        .iter()
        .any(|audience| audience.trim_end_matches('/').eq_ignore_ascii_case(resource.trim_end_matches('/')))
    {
        Ok(())
    } else {
        Err(OAuthError::invalid_resource(resource, tenant))
    }
}

/// Decodes an `Authorization: Basic` header into a client id and secret (`client_secret_basic`).
pub fn basic_credentials(authorization: Option<&str>) -> Option<(String, String)> {
    let (scheme, encoded) = authorization?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}
