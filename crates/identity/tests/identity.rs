//! The identity service against a real (in-memory SQLite) store, with time passed in.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, TimeZone, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use switchboard_catalogue::Permission;
use switchboard_identity::{
    AuthenticationError, DEV_APP_ID, DEV_SECRET, DEV_TENANT_ID, DirectoryConfig, Identity, IdentityConfig, IssueError,
    NewApp, TokenRejection, oauth::TokenRequest,
};
use switchboard_store::{SqliteStore, Store};
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn config() -> IdentityConfig {
    IdentityConfig {
        public_url: "http://127.0.0.1:8640".parse().unwrap(),
        token_lifetime: Duration::seconds(3599),
        notification_issuer: "http://127.0.0.1:8640".into(),
        dev_app_enabled: true,
    }
}

struct Setup {
    store: Arc<SqliteStore>,
    identity: Identity,
}

async fn setup() -> Setup {
    let store = Arc::new(SqliteStore::in_memory(t0()).await.unwrap());
    let identity = Identity::start(store.clone(), config(), t0()).await.unwrap();
    assert!(identity.directory().provision_dev_defaults(t0()).await.unwrap());
    Setup { store, identity }
}

fn secret_request(client_id: &str, secret: &str) -> TokenRequest {
    TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some(client_id.into()),
        client_secret: Some(secret.into()),
        scope: Some("https://graph.microsoft.com/.default".into()),
        ..TokenRequest::default()
    }
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn dev_token(setup: &Setup, now: DateTime<Utc>) -> String {
    let tenant = DEV_TENANT_ID.to_string();
    let request = secret_request(&DEV_APP_ID.to_string(), DEV_SECRET);
    setup.identity.issue_token(&tenant, &request, None, now).await.unwrap().access_token
}

fn refused(result: Result<impl std::fmt::Debug, IssueError>) -> (u16, &'static str, u32) {
    match result {
        Err(IssueError::Refused(error)) => (error.status(), error.error, error.code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn rejected(result: Result<impl std::fmt::Debug, AuthenticationError>) -> TokenRejection {
    match result {
        Err(AuthenticationError::Rejected(rejection)) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn client_secret_tokens_carry_the_claims_graph_tokens_carry() {
    let setup = setup().await;
    let response = setup
        .identity
        .issue_token(&DEV_TENANT_ID.to_string(), &secret_request(&DEV_APP_ID.to_string(), DEV_SECRET), None, t0())
        .await
        .unwrap();
    assert_eq!((response.token_type, response.expires_in), ("Bearer", 3599));
    let claims = claims(&response.access_token);
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["iss"], format!("http://127.0.0.1:8640/{DEV_TENANT_ID}/v2.0"));
    assert_eq!(claims["tid"], DEV_TENANT_ID.to_string());
    assert_eq!(claims["appid"], DEV_APP_ID.to_string());
    assert_eq!(claims["azp"], DEV_APP_ID.to_string());
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3599);
    assert!(claims["jti"].as_str().is_some_and(|j| Uuid::parse_str(j).is_ok()));
    let roles: Vec<&str> = claims["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(roles.len(), Permission::ALL.len(), "the dev app holds every calls permission: {roles:?}");

    let app = setup.identity.authenticate(Some(&format!("Bearer {}", response.access_token)), t0()).await.unwrap();
    assert_eq!((app.tenant_id(), app.app_id()), (DEV_TENANT_ID, DEV_APP_ID));
    assert!(app.has_any(&[Permission::CallsInitiateAll]));
}

#[tokio::test]
async fn token_requests_are_refused_with_the_platform_errors() {
    let setup = setup().await;
    let tenant = DEV_TENANT_ID.to_string();
    let app = DEV_APP_ID.to_string();
    let identity = &setup.identity;
    let issue = |tenant: String, request: TokenRequest| async move {
        identity.issue_token(&tenant, &request, None, t0()).await
    };

    assert_eq!(
        refused(issue("contoso.example".into(), secret_request(&app, DEV_SECRET)).await),
        (400, "invalid_request", 90002)
    );
    assert_eq!(
        refused(issue(Uuid::new_v4().to_string(), secret_request(&app, DEV_SECRET)).await),
        (400, "invalid_request", 90002)
    );
    let no_grant = TokenRequest { grant_type: None, ..secret_request(&app, DEV_SECRET) };
    assert_eq!(refused(issue(tenant.clone(), no_grant).await), (400, "invalid_request", 900144));
    let password = TokenRequest { grant_type: Some("password".into()), ..secret_request(&app, DEV_SECRET) };
    assert_eq!(refused(issue(tenant.clone(), password).await), (400, "unsupported_grant_type", 70003));
    assert_eq!(
        refused(issue(tenant.clone(), secret_request(&Uuid::new_v4().to_string(), DEV_SECRET)).await),
        (400, "unauthorized_client", 700016)
    );
    assert_eq!(
        refused(issue(tenant.clone(), secret_request("not-a-guid", DEV_SECRET)).await),
        (400, "unauthorized_client", 700016)
    );
    let no_scope = TokenRequest { scope: None, ..secret_request(&app, DEV_SECRET) };
    assert_eq!(refused(issue(tenant.clone(), no_scope).await), (400, "invalid_request", 900144));
    let delegated_scope = TokenRequest { scope: Some("Calls.Initiate.All".into()), ..secret_request(&app, DEV_SECRET) };
    assert_eq!(refused(issue(tenant.clone(), delegated_scope).await), (400, "invalid_scope", 1002012));
    let other_resource =
        TokenRequest { scope: Some("https://vault.azure.net/.default".into()), ..secret_request(&app, DEV_SECRET) };
    assert_eq!(refused(issue(tenant.clone(), other_resource).await), (400, "invalid_resource", 500011));
    let no_credential = TokenRequest { client_secret: None, ..secret_request(&app, DEV_SECRET) };
    assert_eq!(refused(issue(tenant.clone(), no_credential).await), (401, "invalid_client", 7000218));
    assert_eq!(refused(issue(tenant.clone(), secret_request(&app, "wrong")).await), (401, "invalid_client", 7000215));
    let graph_app_id_scope = TokenRequest {
        scope: Some("00000003-0000-0000-c000-000000000000/.default".into()),
        ..secret_request(&app, DEV_SECRET)
    };
    assert!(issue(tenant.clone(), graph_app_id_scope).await.is_ok(), "Graph's app id is a valid resource");

    // An app of another tenant is not found in this one.
    let directory = setup.identity.directory();
    let other = directory.put_tenant(None, "Fabrikam", t0()).await.unwrap();
    let new = NewApp {
        tenant_id: other.tenant_id,
        app_id: None,
        display_name: "Theirs".into(),
        permissions: vec![],
        calling_webhook: None,
    };
    let (theirs, secret) = directory.add_app(new, true, t0()).await.unwrap();
    let secret = secret.unwrap();
    assert_eq!(
        refused(issue(tenant.clone(), secret_request(&theirs.app_id.to_string(), &secret.value)).await),
        (400, "unauthorized_client", 700016)
    );
    let token =
        issue(other.tenant_id.to_string(), secret_request(&theirs.app_id.to_string(), &secret.value)).await.unwrap();
    assert!(claims(&token.access_token).get("roles").is_none(), "no permissions, no roles claim");

    // An expired secret.
    let expiring = directory.add_secret(theirs.app_id, Some(t0() - Duration::days(1)), t0()).await.unwrap();
    let expired = issue(other.tenant_id.to_string(), secret_request(&theirs.app_id.to_string(), &expiring.value)).await;
    assert_eq!(refused(expired), (401, "invalid_client", 7000222));
}

#[tokio::test]
async fn oauth_errors_render_in_the_platform_json_shape() {
    let setup = setup().await;
    let result = setup
        .identity
        .issue_token(&DEV_TENANT_ID.to_string(), &secret_request(&DEV_APP_ID.to_string(), "nope"), None, t0())
        .await;
    let Err(IssueError::Refused(error)) = result else { panic!("refused") };
    let body = serde_json::to_value(error.body("trace-1", "correlation-1", t0())).unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    assert_eq!(body["timestamp"], "2026-11-22 12:00:00Z");
    assert_eq!(body["trace_id"], "trace-1");
    assert_eq!(body["correlation_id"], "correlation-1");
    assert_eq!(body["error_uri"], "https://login.microsoftonline.com/error?code=7000215");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with("AADSTS7000215: Invalid client secret provided."), "{description}");
    assert!(
        description
            .contains("\r\nTrace ID: trace-1\r\nCorrelation ID: correlation-1\r\nTimestamp: 2026-11-22 12:00:00Z")
    );
}

/// An RSA certificate and its private key, as a bot would hold them.
fn certificate() -> (String, EncodingKey, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["bot.example".into()]).unwrap().self_signed(&key).unwrap();
    let sha1 = aws_lc_rs_sha1(certificate.der());
    (
        certificate.pem(),
        EncodingKey::from_rsa_pem(key.serialize_pem().as_bytes()).unwrap(),
        URL_SAFE_NO_PAD.encode(sha1),
    )
}

/// The certificate's SHA-1, as a client computes its `x5t`.
fn aws_lc_rs_sha1(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data).as_ref().to_vec()
}

/// A signed assertion of `claims`; a `jti` of "fresh" becomes a new one, as every client library makes them.
fn assertion(key: &EncodingKey, x5t: Option<&str>, mut claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.x5t = x5t.map(str::to_owned);
    if claims["jti"] == "fresh" {
        claims["jti"] = json!(Uuid::new_v4().to_string());
    }
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

#[tokio::test]
async fn client_assertions_signed_with_a_registered_certificate_get_tokens() {
    let setup = setup().await;
    let (pem, key, x5t) = certificate();
    let info = setup.identity.directory().add_certificate(DEV_APP_ID, &pem, t0()).await.unwrap();
    assert_eq!(URL_SAFE_NO_PAD.encode(hex_decode(&info.thumbprint)), x5t, "the thumbprint is the certificate's SHA-1");
    let tenant = DEV_TENANT_ID.to_string();
    let app = DEV_APP_ID.to_string();
    let endpoint = setup.identity.token_endpoint(&tenant);
    // Fractional NumericDates, as MSAL Python writes them.
    let exp = (t0() + Duration::minutes(10)).timestamp() as f64 + 0.87;
    let good = json!({"iss": app, "sub": app, "aud": endpoint, "exp": exp, "iat": t0().timestamp() as f64 + 0.87, "nbf": t0().timestamp(), "jti": "fresh"});
    let request = |assertion: String| TokenRequest {
        client_secret: None,
        client_assertion_type: Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into()),
        client_assertion: Some(assertion),
        ..secret_request(&app, "")
    };
    let issue = |assertion: String| {
        let identity = &setup.identity;
        let tenant = tenant.clone();
        let request = request(assertion);
        async move { identity.issue_token(&tenant, &request, None, t0()).await }
    };
    let token = issue(assertion(&key, Some(&x5t), good.clone())).await.unwrap();
    assert_eq!(claims(&token.access_token)["appidacr"], "2", "certificate authentication");
    assert!(issue(assertion(&key, None, good.clone())).await.is_ok(), "without x5t every certificate is tried");

    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("https://login.microsoftonline.com/x/oauth2/v2.0/token");
    assert_eq!(refused(issue(assertion(&key, Some(&x5t), wrong_audience)).await), (401, "invalid_client", 700023));
    let mut wrong_subject = good.clone();
    wrong_subject["sub"] = json!(Uuid::new_v4().to_string());
    assert_eq!(refused(issue(assertion(&key, Some(&x5t), wrong_subject)).await), (401, "invalid_client", 700021));
    let mut stale = good.clone();
    stale["exp"] = json!((t0() - Duration::hours(1)).timestamp());
    assert_eq!(refused(issue(assertion(&key, Some(&x5t), stale)).await), (401, "invalid_client", 700024));
    let (_, stranger, stranger_x5t) = certificate();
    assert_eq!(
        refused(issue(assertion(&stranger, Some(&stranger_x5t), good.clone())).await),
        (401, "invalid_client", 700027)
    );
    assert_eq!(refused(issue(assertion(&stranger, Some(&x5t), good.clone())).await), (401, "invalid_client", 700027));
    assert_eq!(refused(issue("not.a.jwt".into()).await), (401, "invalid_client", 50027));
    let mut no_subject = good.clone();
    no_subject.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        refused(issue(assertion(&key, Some(&x5t), no_subject)).await),
        (401, "invalid_client", 50027),
        "signed but unusable"
    );
    let mut wrong_type = request(assertion(&key, Some(&x5t), good.clone()));
    wrong_type.client_assertion_type = Some("urn:other".into());
    assert_eq!(
        refused(setup.identity.issue_token(&tenant, &wrong_type, None, t0()).await),
        (400, "invalid_request", 90014)
    );

    // An assertion is good once, for a bounded time.
    let once = assertion(&key, Some(&x5t), good.clone());
    assert!(issue(once.clone()).await.is_ok());
    assert_eq!(refused(issue(once).await), (401, "invalid_client", 50027), "a replayed jti");
    let mut for_ten_years = good.clone();
    for_ten_years["exp"] = json!((t0() + Duration::days(3650)).timestamp());
    assert_eq!(refused(issue(assertion(&key, Some(&x5t), for_ten_years)).await), (401, "invalid_client", 700024));
    let mut for_an_hour = good.clone();
    for_an_hour["exp"] = json!((t0() + Duration::minutes(60)).timestamp());
    assert!(issue(assertion(&key, Some(&x5t), for_an_hour)).await.is_ok(), "an hour is fine");
    let mut without_jti = good;
    without_jti.as_object_mut().unwrap().remove("jti");
    assert_eq!(refused(issue(assertion(&key, Some(&x5t), without_jti)).await), (401, "invalid_client", 50027));
}

#[tokio::test]
async fn failed_token_requests_are_throttled_per_client_and_source() {
    let setup = setup().await;
    let (app, tenant) = (DEV_APP_ID.to_string(), DEV_TENANT_ID.to_string());
    let attacker = Some("203.0.113.9".parse().unwrap());
    let bot = Some("198.51.100.20".parse().unwrap());
    let issue = |secret: &'static str, source, at| {
        let identity = &setup.identity;
        let (tenant, request) = (tenant.clone(), secret_request(&app, secret));
        async move { identity.issue_token(&tenant, &request, source, at).await }
    };
    let mut answers = Vec::new();
    for _ in 0..25 {
        answers.push(refused(issue("wrong", attacker, t0()).await).0);
    }
    assert_eq!(answers.iter().filter(|s| **s == 401).count(), 10, "ten failures are answered: {answers:?}");
    assert!(answers[10..].iter().all(|s| *s == 429), "then the client is held back: {answers:?}");
    match issue(DEV_SECRET, attacker, t0()).await {
        Err(IssueError::Refused(error)) => {
            assert_eq!((error.status(), error.retry_after), (429, Some(60)), "its secret is not even checked");
        }
        other => panic!("{other:?}"),
    }
    assert!(issue(DEV_SECRET, bot, t0()).await.is_ok(), "the app is not locked out where it runs");
    assert!(issue(DEV_SECRET, attacker, t0() + Duration::seconds(61)).await.is_ok(), "and the window ends");
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// Signs arbitrary claims with the server's active key, read from the store: how a test forges the tokens a
/// careless or hostile client could send.
async fn forge(setup: &Setup, claims: Value) -> String {
    let keys = setup.store.signing_keys().await.unwrap();
    let key = keys.iter().find(|k| k.retired_at.is_none()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(key.private_key_pem.as_bytes()).unwrap()).unwrap()
}

#[tokio::test]
async fn access_tokens_are_refused_for_every_flaw() {
    let setup = setup().await;
    let identity = &setup.identity;
    let check =
        |header: Option<String>, now: DateTime<Utc>| async move { identity.authenticate(header.as_deref(), now).await };
    let good = dev_token(&setup, t0()).await;
    let bearer = |token: &str| Some(format!("Bearer {token}"));

    assert_eq!(rejected(check(None, t0()).await), TokenRejection::Missing);
    assert_eq!(rejected(check(Some("Bearer ".into()), t0()).await), TokenRejection::Missing);
    assert_eq!(rejected(check(Some("Basic abc".into()), t0()).await), TokenRejection::Malformed);
    assert_eq!(rejected(check(bearer("garbage"), t0()).await), TokenRejection::Malformed);
    assert!(check(Some(format!("bearer {good}")), t0()).await.is_ok(), "the scheme is case-insensitive");

    let expired_at = t0() + Duration::seconds(3599 + 300);
    assert_eq!(rejected(check(bearer(&good), expired_at).await), TokenRejection::Expired);
    assert!(check(bearer(&good), expired_at - Duration::seconds(1)).await.is_ok(), "five minutes of clock skew");
    let early = dev_token(&setup, t0() + Duration::hours(1)).await;
    assert_eq!(rejected(check(bearer(&early), t0()).await), TokenRejection::NotYetValid);

    let mut tampered: Vec<&str> = good.split('.').collect();
    let other = dev_token(&setup, t0() + Duration::seconds(1)).await;
    let other_payload = other.split('.').nth(1).unwrap();
    tampered[1] = other_payload;
    assert_eq!(rejected(check(bearer(&tampered.join(".")), t0()).await), TokenRejection::InvalidSignature);

    let foreign_store = Arc::new(SqliteStore::in_memory(t0()).await.unwrap());
    let foreign_identity = Identity::start(foreign_store, config(), t0()).await.unwrap();
    foreign_identity.directory().provision_dev_defaults(t0()).await.unwrap();
    let foreign = foreign_identity
        .issue_token(&DEV_TENANT_ID.to_string(), &secret_request(&DEV_APP_ID.to_string(), DEV_SECRET), None, t0())
        .await
        .unwrap();
    assert_eq!(
        rejected(check(bearer(&foreign.access_token), t0()).await),
        TokenRejection::InvalidSignature,
        "signed by another server's key"
    );

    let base = claims(&good);
    let with = |key: &str, value: Value| {
        let mut claims = base.clone();
        claims[key] = value;
        claims
    };
    let wrong_audience = forge(&setup, with("aud", json!("https://vault.azure.net"))).await;
    assert_eq!(rejected(check(bearer(&wrong_audience), t0()).await), TokenRejection::InvalidAudience);
    let wrong_issuer =
        forge(&setup, with("iss", json!(format!("https://login.microsoftonline.com/{DEV_TENANT_ID}/v2.0")))).await;
    assert_eq!(rejected(check(bearer(&wrong_issuer), t0()).await), TokenRejection::InvalidIssuer);
    assert!(
        check(bearer(&forge(&setup, base.clone()).await), t0()).await.is_ok(),
        "the forged baseline itself is fine"
    );

    setup.identity.directory().remove_app(DEV_APP_ID).await.unwrap();
    assert_eq!(rejected(check(bearer(&good), t0()).await), TokenRejection::UnknownApplication);
}

#[tokio::test]
async fn rotation_keeps_issued_tokens_valid_until_they_expire() {
    let setup = setup().await;
    let before = dev_token(&setup, t0()).await;
    let old_kid = jsonwebtoken::decode_header(&before).unwrap().kid.unwrap();
    let rotated_at = t0() + Duration::minutes(10);
    let new_kid = setup.identity.rotate_keys(rotated_at).await.unwrap();
    assert_ne!(new_kid, old_kid);
    let after = dev_token(&setup, rotated_at).await;
    assert_eq!(jsonwebtoken::decode_header(&after).unwrap().kid.unwrap(), new_kid, "new tokens use the new key");

    let published: Vec<String> =
        setup.identity.jwks(rotated_at).keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
    assert!(published.contains(&old_kid) && published.contains(&new_kid), "both keys are published: {published:?}");
    let bearer = format!("Bearer {before}");
    assert!(
        setup.identity.authenticate(Some(&bearer), rotated_at + Duration::minutes(30)).await.is_ok(),
        "the old token still works"
    );

    let later = rotated_at + Duration::seconds(3600);
    let published: Vec<String> =
        setup.identity.jwks(later).keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
    assert_eq!(published, vec![new_kid], "the old key is withdrawn once its tokens have expired");
    let restarted = Identity::start(setup.store.clone(), config(), later).await.unwrap();
    assert_eq!(restarted.jwks(later).keys.len(), 1);
    assert_eq!(setup.store.signing_keys().await.unwrap().len(), 1, "and deleted from the store at the next start");
}

#[tokio::test]
async fn notification_tokens_validate_against_the_published_keys() {
    let setup = setup().await;
    let app = Uuid::new_v4();
    let tenant = Uuid::new_v4();
    let token = setup.identity.notification_token(tenant, app, Utc::now());
    let jwks = setup.identity.jwks(Utc::now());
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[app.to_string()]);
    validation.set_issuer(&["http://127.0.0.1:8640"]);
    let data = jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("a standard library validates it");
    assert_eq!(data.claims["tid"], tenant.to_string());
    let configuration = setup.identity.notification_openid_configuration();
    assert_eq!(configuration["issuer"], "http://127.0.0.1:8640");
    assert_eq!(configuration["jwks_uri"], "http://127.0.0.1:8640/v1/.well-known/keys");
}

#[tokio::test]
async fn the_directory_manages_apps_through_one_path() {
    let setup = setup().await;
    let directory = setup.identity.directory();
    assert!(!directory.provision_dev_defaults(t0()).await.unwrap(), "dev defaults are provisioned once");
    let tenant = directory.put_tenant(None, "Contoso", t0()).await.unwrap();
    let new = |permissions: Vec<String>| NewApp {
        tenant_id: tenant.tenant_id,
        app_id: None,
        display_name: "IVR".into(),
        permissions,
        calling_webhook: Some("https://ivr.example/calls".into()),
    };
    let error = directory.add_app(new(vec!["Calls.Teleport.All".into()]), true, t0()).await.unwrap_err().to_string();
    assert!(
        error.contains("'Calls.Teleport.All' is not a calls permission") && error.contains("Calls.Initiate.All"),
        "{error}"
    );
    let (app, secret) = directory.add_app(new(vec!["calls.initiate.all".into()]), true, t0()).await.unwrap();
    let secret = secret.unwrap();
    assert_eq!(app.permissions, vec!["Calls.Initiate.All"], "names are normalised");
    assert_eq!(app.secrets.len(), 1);
    assert_eq!(app.secrets[0].hint, secret.value[..3]);
    let shown = serde_json::to_string(&directory.app(app.app_id).await.unwrap()).unwrap();
    assert!(!shown.contains(&secret.value), "a listed app never shows a secret's value");

    let granted = directory.grant(app.app_id, &["all".into()]).await.unwrap();
    assert_eq!(granted.permissions.len(), Permission::ALL.len());
    let revoked = directory.revoke(app.app_id, &["Calls.AccessMedia.All".into()]).await.unwrap();
    assert!(!revoked.permissions.contains(&"Calls.AccessMedia.All".to_owned()));
    directory.remove_secret(app.app_id, secret.secret_id).await.unwrap();
    assert!(directory.remove_secret(app.app_id, secret.secret_id).await.is_err());
    assert!(
        directory.add_app(NewApp { tenant_id: Uuid::new_v4(), ..new(vec![]) }, false, t0()).await.is_err(),
        "unknown tenant"
    );

    let config: DirectoryConfig = serde_json::from_value(json!({
        "tenants": [{"id": tenant.tenant_id, "display_name": "Contoso Ltd"}],
        "apps": [{"tenant": tenant.tenant_id, "app_id": "11111111-2222-4333-8444-555555555555", "display_name": "Recorder",
                  "permissions": ["Calls.JoinGroupCall.All"], "secrets": ["recorder-secret-value-1234567890"]}]
    }))
    .unwrap();
    directory.apply(&config, t0()).await.unwrap();
    directory.apply(&config, t0()).await.unwrap();
    let recorder = directory.app("11111111-2222-4333-8444-555555555555".parse().unwrap()).await.unwrap();
    assert_eq!(recorder.secrets.len(), 1, "applying twice imports the secret once");
    assert_eq!(
        directory.tenants().await.unwrap().iter().find(|t| t.tenant_id == tenant.tenant_id).unwrap().display_name,
        "Contoso Ltd"
    );
    let token = setup
        .identity
        .issue_token(
            &tenant.tenant_id.to_string(),
            &secret_request(&recorder.app_id.to_string(), "recorder-secret-value-1234567890"),
            None,
            t0(),
        )
        .await;
    assert!(token.is_ok(), "a configured secret works: {token:?}");
}
