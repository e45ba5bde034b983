//! The identity platform's endpoints and `/_admin`, over HTTP.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde_json::{Value, json};
use switchboard_identity::{DEV_APP_ID, DEV_SECRET, DEV_TENANT_ID};
use uuid::Uuid;

use crate::support::{Options, Reply, TestServer};

async fn token_request(server: &TestServer, tenant: &str, form: &[(&str, &str)]) -> Reply {
    Reply::from(
        server.client.post(server.url(&format!("/{tenant}/oauth2/v2.0/token"))).form(form).send().await.unwrap(),
    )
    .await
}

fn dev_form(secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", DEV_APP_ID.to_string()),
        ("client_secret", secret.into()),
        ("scope", "https://graph.microsoft.com/.default".into()),
    ]
}

fn borrowed<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn the_token_endpoint_speaks_the_identity_platform() {
    let server = TestServer::start().await;
    let tenant = DEV_TENANT_ID.to_string();
    let reply = token_request(&server, &tenant, &borrowed(&dev_form(DEV_SECRET))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 3599);
    assert_eq!(reply.body["ext_expires_in"], 3599);
    assert_eq!(reply.headers["pragma"], "no-cache");

    let response = server
        .client
        .post(server.url(&format!("/{tenant}/oauth2/v2.0/token")))
        .header("client-request-id", "0f0e0d0c-0000-4000-8000-000000000001")
        .form(&borrowed(&dev_form("not the secret")))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let request_id = response.headers()["request-id"].to_str().unwrap().to_owned();
    let text = response.text().await.unwrap();
    let members = ["error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"];
    let positions: Vec<usize> = members.iter().map(|m| text.find(&format!("\"{m}\":")).expect(m)).collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "the platform's members, in its order: {text}");
    let refused: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 401);
    assert_eq!(refused["error"], "invalid_client");
    assert_eq!(refused["error_codes"], json!([7000215]));
    assert_eq!(refused["correlation_id"], "0f0e0d0c-0000-4000-8000-000000000001", "the caller's client-request-id");
    assert_eq!(refused["trace_id"], request_id);

    let unknown_tenant = token_request(&server, &Uuid::new_v4().to_string(), &borrowed(&dev_form(DEV_SECRET))).await;
    assert_eq!((unknown_tenant.status, unknown_tenant.body["error_codes"].clone()), (400, json!([90002])));
    let unreadable_tenant = token_request(&server, "%FF%FE", &borrowed(&dev_form(DEV_SECRET))).await;
    assert_eq!(
        (unreadable_tenant.status, unreadable_tenant.body["error_codes"].clone()),
        (400, json!([90002])),
        "not axum's text"
    );

    // client_secret_basic: the credentials in an Authorization: Basic header.
    use base64::{Engine, engine::general_purpose::STANDARD};
    let basic = STANDARD.encode(format!("{DEV_APP_ID}:{DEV_SECRET}"));
    let form = [("grant_type", "client_credentials"), ("scope", "https://graph.microsoft.com/.default")];
    let reply = server
        .client
        .post(server.url(&format!("/{tenant}/oauth2/v2.0/token")))
        .header("authorization", format!("Basic {basic}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
}

#[tokio::test]
async fn tokens_validate_with_a_standard_library_against_the_served_keys() {
    let server = TestServer::start().await;
    let tenant = DEV_TENANT_ID.to_string();
    let configuration: Value = server
        .client
        .get(server.url(&format!("/{tenant}/v2.0/.well-known/openid-configuration")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(configuration["issuer"], format!("{}/{tenant}/v2.0", server.base));
    assert_eq!(configuration["token_endpoint"], format!("{}/{tenant}/oauth2/v2.0/token", server.base));
    let jwks: JwkSet =
        server.client.get(configuration["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    let kid = jsonwebtoken::decode_header(&server.token).unwrap().kid.unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://graph.microsoft.com"]);
    validation.set_issuer(&[configuration["issuer"].as_str().unwrap()]);
    let key = DecodingKey::from_jwk(jwks.find(&kid).expect("the token's key is published")).unwrap();
    let token = jsonwebtoken::decode::<Value>(&server.token, &key, &validation).expect("valid");
    assert_eq!(token.claims["tid"], tenant);

    let unknown = server
        .client
        .get(server.url(&format!("/{}/v2.0/.well-known/openid-configuration", Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn notification_tokens_validate_against_the_notification_keys() {
    let server = TestServer::start().await;
    let configuration: Value = server
        .client
        .get(server.url("/v1/.well-known/OpenIdConfiguration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(configuration["issuer"], server.base);
    let jwks: JwkSet =
        server.client.get(configuration["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    let app = Uuid::new_v4();
    let token = server.identity.notification_token(DEV_TENANT_ID, app, chrono::Utc::now());
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[app.to_string()]);
    validation.set_issuer(&[server.base.as_str()]);
    let claims =
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap(), &validation)
            .expect("valid");
    assert_eq!(claims.claims["tid"], DEV_TENANT_ID.to_string(), "the tenant claim the Graph samples require");
}

#[tokio::test]
async fn rotating_keys_over_admin_keeps_issued_tokens_working() {
    let server = TestServer::start().await;
    let before = server.token.clone();
    let old_kid = jsonwebtoken::decode_header(&before).unwrap().kid.unwrap();
    let rotated = server.send("POST", "/_admin/keys/rotate", Some(&json!({}))).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_kid = rotated.body["kid"].as_str().unwrap().to_owned();
    let jwks: JwkSet =
        server.client.get(server.url("/common/discovery/v2.0/keys")).send().await.unwrap().json().await.unwrap();
    let kids: Vec<String> = jwks.keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid), "{kids:?}");
    let reply = server.send_with("GET", "/v1.0/communications/calls/c1", None, Some(&format!("Bearer {before}"))).await;
    assert!(reply.passed_checks(), "a token from before the rotation still works: {}", reply.body);
    let after = server.token_for(DEV_TENANT_ID, DEV_APP_ID, DEV_SECRET).await;
    assert_eq!(jsonwebtoken::decode_header(&after).unwrap().kid.unwrap(), new_kid);
}

#[tokio::test]
async fn the_admin_api_manages_apps_and_shows_secrets_once() {
    let server = TestServer::start().await;
    let tenant = server.send("POST", "/_admin/tenants", Some(&json!({"displayName": "Contoso"}))).await;
    assert_eq!(tenant.status, 201, "{}", tenant.body);
    let tenant_id = tenant.body["tenantId"].as_str().unwrap().to_owned();
    let created = server
        .send("POST", "/_admin/apps", Some(&json!({"tenantId": tenant_id, "displayName": "IVR", "permissions": ["Calls.Initiate.All"], "callingWebhook": "https://ivr.example/calls"})))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let app_id = created.body["app"]["appId"].as_str().unwrap().to_owned();
    let secret = created.body["secret"]["value"].as_str().unwrap().to_owned();
    let shown = server.send("GET", &format!("/_admin/apps/{app_id}"), None).await;
    assert_eq!(shown.body["permissions"], json!(["Calls.Initiate.All"]));
    assert!(!shown.body.to_string().contains(&secret), "never shown again");
    let listed = server.send("GET", &format!("/_admin/apps?tenantId={tenant_id}"), None).await;
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 1);

    let app_uuid: Uuid = app_id.parse().unwrap();
    let tenant_uuid: Uuid = tenant_id.parse().unwrap();
    let token = server.token_for(tenant_uuid, app_uuid, &secret).await;
    assert!(!token.is_empty());

    let granted =
        server.send("POST", &format!("/_admin/apps/{app_id}/grant"), Some(&json!({"permissions": ["all"]}))).await;
    assert_eq!(granted.body["permissions"].as_array().unwrap().len(), 7);
    let bad = server
        .send("POST", &format!("/_admin/apps/{app_id}/grant"), Some(&json!({"permissions": ["Mail.Send"]})))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.graph_error().1.contains("'Mail.Send' is not a calls permission"));
    let patched = server.send("PATCH", &format!("/_admin/apps/{app_id}"), Some(&json!({"callingWebhook": null}))).await;
    assert_eq!(patched.body["callingWebhook"], Value::Null);

    let another = server.send("POST", &format!("/_admin/apps/{app_id}/secrets"), Some(&json!({}))).await;
    assert_eq!(another.status, 201);
    let secret_id = another.body["secretId"].as_str().unwrap();
    assert_eq!(server.send("DELETE", &format!("/_admin/apps/{app_id}/secrets/{secret_id}"), None).await.status, 204);
    assert_eq!(server.send("DELETE", &format!("/_admin/apps/{app_id}/secrets/{secret_id}"), None).await.status, 404);

    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["ivr.example".into()]).unwrap().self_signed(&key).unwrap();
    let added = server
        .send("POST", &format!("/_admin/apps/{app_id}/certificates"), Some(&json!({"pem": certificate.pem()})))
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let thumbprint = added.body["thumbprint"].as_str().unwrap();
    assert_eq!(thumbprint.len(), 40);
    let private = server
        .send("POST", &format!("/_admin/apps/{app_id}/certificates"), Some(&json!({"pem": key.serialize_pem()})))
        .await;
    assert_eq!(private.status, 400, "a private key is refused: {}", private.body);
    assert_eq!(
        server.send("DELETE", &format!("/_admin/apps/{app_id}/certificates/{thumbprint}"), None).await.status,
        204
    );

    let duplicate = server
        .send("POST", "/_admin/apps", Some(&json!({"tenantId": tenant_id, "appId": app_id, "displayName": "Again"})))
        .await;
    assert_eq!(duplicate.status, 409);
    assert_eq!(server.send("GET", &format!("/_admin/apps/{}", Uuid::new_v4()), None).await.status, 404);
    assert_eq!(server.send("GET", "/_admin/nothing-here", None).await.status, 404);
    let malformed = server.send("GET", "/_admin/apps/not-a-guid", None).await;
    assert_eq!(malformed.status, 404, "{}", malformed.body);
    malformed.graph_error();
    let bad_filter = server.send("GET", "/_admin/apps?tenantId=zzz", None).await;
    assert_eq!(bad_filter.status, 400, "{}", bad_filter.body);
    bad_filter.graph_error();
    let bad_change =
        server.send("POST", &format!("/_admin/apps/{app_id}/promote"), Some(&json!({"permissions": []}))).await;
    assert_eq!(bad_change.status, 404, "{}", bad_change.body);
    bad_change.graph_error();
    assert_eq!(server.send("DELETE", &format!("/_admin/tenants/{tenant_id}"), None).await.status, 204);
    assert_eq!(
        server.send("GET", &format!("/_admin/apps/{app_id}"), None).await.status,
        404,
        "the tenant took its apps"
    );
}

#[tokio::test]
async fn outside_dev_mode_the_control_apis_need_the_admin_key() {
    let closed = TestServer::start_with(Options { dev_mode: false, ..Options::default() }).await;
    for path in ["/_admin/apps", "/_sim/clock"] {
        let reply = closed.send_with("GET", path, None, None).await;
        assert_eq!(reply.status, 401, "{path}");
        assert!(reply.graph_error().1.contains("closed outside dev mode"));
    }

    let keyed = TestServer::start_with(Options {
        dev_mode: false,
        admin_key: Some("s3cret-admin".into()),
        ..Options::default()
    })
    .await;
    assert_eq!(keyed.send_with("GET", "/_admin/apps", None, None).await.status, 401);
    assert_eq!(keyed.send_with("GET", "/_admin/apps", None, Some("Bearer wrong")).await.status, 401);
    let reply = keyed.send_with("GET", "/_admin/apps", None, Some("Bearer s3cret-admin")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["value"], json!([]), "no dev app outside dev mode");
    assert_eq!(keyed.send_with("POST", "/_sim/reset", None, None).await.status, 401);
    let reply = keyed.send_with("GET", "/_sim/clock", None, Some("Bearer s3cret-admin")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}
