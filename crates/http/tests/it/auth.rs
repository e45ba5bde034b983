//! Every Graph operation refuses a request without a valid token (401, `WWW-Authenticate`, Graph's error) and,
//! where Graph checks permissions on the request, a token without one of the documented roles (403, 7504).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use switchboard_catalogue::{ApiVersion, Documentation, ENDPOINTS, Endpoint, EndpointId, Permission, PermissionCheck};
use switchboard_store::Store;
use uuid::Uuid;

use crate::{
    support::{Reply, TestServer},
    surface::{paths, valid_body},
};

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Signs `claims` with the server's active key (`kid` kept), or with a stranger's key under the server's `kid`.
async fn forge(server: &TestServer, claims: &Value, foreign_key: bool) -> String {
    let keys = server.store.signing_keys().await.unwrap();
    let active = keys.iter().find(|k| k.retired_at.is_none()).unwrap();
    let pem = if foreign_key {
        rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap().serialize_pem()
    } else {
        active.private_key_pem.clone()
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(active.kid.clone());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()).unwrap()
}

/// One request per operation and version, with a valid body where the operation takes one.
async fn call(server: &TestServer, endpoint: &Endpoint, version: ApiVersion, authorization: Option<&str>) -> Reply {
    let path = format!("/{}{}", version.as_str(), paths(endpoint)[0]);
    let mut request = server
        .client
        .request(endpoint.method.as_str().parse().unwrap(), server.url(&path))
        .header("user-agent", "SwitchboardTests/1.0");
    if let Some(body) = valid_body(endpoint) {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    Reply::from(request.send().await.unwrap()).await
}

fn operations() -> impl Iterator<Item = (&'static Endpoint, ApiVersion)> {
    ENDPOINTS
        .iter()
        .flat_map(|e| ApiVersion::ALL.into_iter().filter(move |v| e.availability.includes(*v)).map(move |v| (e, v)))
}

#[tokio::test]
async fn every_operation_refuses_every_kind_of_bad_token() {
    let server = TestServer::start().await;
    let good = claims(&server.token);
    let with = |key: &str, value: Value| {
        let mut claims = good.clone();
        claims[key] = value;
        claims
    };
    let now = good["iat"].as_i64().unwrap();
    let bearer = |token: String| Some(format!("Bearer {token}"));
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("missing", None, "Access token is empty. A Graph SDK sends no token to a host it does not know"),
        ("empty", Some("Bearer ".into()), "Access token is empty."),
        ("malformed", bearer("definitely.not.ajwt".into()), "CompactToken parsing failed"),
        ("wrong signature", bearer(forge(&server, &good, true).await), "Invalid signature."),
        ("expired", bearer(forge(&server, &with("exp", json!(now - 3600)), false).await), "the token is expired."),
        (
            "not yet valid",
            bearer(forge(&server, &with("nbf", json!(now + 3600)), false).await),
            "the token is not yet valid.",
        ),
        (
            "wrong audience",
            bearer(forge(&server, &with("aud", json!("https://vault.azure.net")), false).await),
            "Invalid audience.",
        ),
        (
            "wrong issuer",
            bearer(forge(&server, &with("iss", json!("https://login.microsoftonline.com/x/v2.0")), false).await),
            "Invalid issuer.",
        ),
    ];
    let mut checked = 0;
    for (endpoint, version) in operations() {
        for (case, authorization, message) in &cases {
            let reply = call(&server, endpoint, version, authorization.as_deref()).await;
            let context =
                format!("{case}: {} {} {}", version.as_str(), endpoint.method.as_str(), endpoint.display_path());
            assert_eq!(reply.status, 401, "{context}: {}", reply.body);
            let (code, actual) = reply.graph_error();
            assert_eq!(code, "InvalidAuthenticationToken", "{context}");
            assert!(actual.contains(message), "{context}: '{actual}' should contain '{message}'");
            let challenge = reply.headers["www-authenticate"].to_str().unwrap();
            assert!(
                challenge.starts_with("Bearer realm=\"\", authorization_uri=\"")
                    && challenge.contains("client_id=\"00000003-0000-0000-c000-000000000000\""),
                "{context}: {challenge}"
            );
            checked += 1;
        }
    }
    assert!(checked > 700, "{checked} requests");
}

#[tokio::test]
async fn permissions_are_checked_as_the_catalogue_documents() {
    let server = TestServer::start().await;
    let (_, nothing) = server.app_with(&[]).await;
    let mut holders = Vec::new();
    for permission in Permission::ALL {
        holders.push((permission, server.app_with(&[permission.as_str()]).await.1));
    }
    for (endpoint, version) in operations() {
        let context = format!("{} {} {}", version.as_str(), endpoint.method.as_str(), endpoint.display_path());
        let checked_now = endpoint.permission_check == PermissionCheck::OnRequest
            && !endpoint.permissions.is_empty()
            && endpoint.documentation != Documentation::Undocumented;
        let reply = call(&server, endpoint, version, Some(&format!("Bearer {nothing}"))).await;
        if checked_now {
            assert_eq!(reply.status, 403, "{context} without a role: {}", reply.body);
            let (code, message) = reply.graph_error();
            assert_eq!(code, "7504", "{context}");
            assert!(
                message.starts_with("Insufficient enterprise tenant permissions, cannot access this API."),
                "{message}"
            );
            for needed in endpoint.permissions {
                assert!(
                    message.contains(needed.as_str()),
                    "{context}: the message names {}: {message}",
                    needed.as_str()
                );
            }
        } else {
            assert_ne!(reply.status, 403, "{context}: checked when the call is created, not now: {}", reply.body);
        }
        for (permission, token) in &holders {
            let reply = call(&server, endpoint, version, Some(&format!("Bearer {token}"))).await;
            let allowed = match endpoint.id {
                // The sample is a peer-to-peer call, which needs Calls.Initiate.All in particular
                // (docs:application-post-calls); the call scenarios cover the other kinds of call.
                EndpointId::CreateCall => *permission == Permission::CallsInitiateAll,
                _ => !checked_now || endpoint.permissions.contains(permission),
            };
            assert_eq!(reply.status == 403, !allowed, "{context} with only {}: {}", permission.as_str(), reply.body);
        }
    }
}

#[tokio::test]
async fn tokens_of_removed_apps_and_foreign_tenants_are_forbidden() {
    let server = TestServer::start().await;
    let (app, token) = server.app_with(&["Calls.Initiate.All"]).await;
    let path = "/v1.0/communications/calls/c1/transfer";
    let body = json!({"transferTarget": {"identity": {"user": {"id": "9a7e0000-0000-4000-8000-000000000001"}}}});
    assert!(server.send_with("POST", path, Some(&body), Some(&format!("Bearer {token}"))).await.passed_checks());

    // A token naming the app but another tenant (signed properly, with that tenant's issuer).
    let other_tenant = Uuid::new_v4();
    let mut foreign = claims(&token);
    foreign["tid"] = json!(other_tenant.to_string());
    foreign["iss"] = json!(format!("{}/{other_tenant}/v2.0", server.base));
    let reply = server
        .send_with("POST", path, Some(&body), Some(&format!("Bearer {}", forge(&server, &foreign, false).await)))
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.graph_error(), ("7505".into(), "Request authorization tenant mismatch.".into()));

    // Removed through the server (/_admin, as the console does), it is refused at once; another process removing it
    // (the CLI) takes effect within a second.
    assert_eq!(server.send_with("DELETE", &format!("/_admin/apps/{app}"), None, None).await.status, 204);
    let reply = server.send_with("POST", path, Some(&body), Some(&format!("Bearer {token}"))).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let (code, message) = reply.graph_error();
    assert_eq!(code, "UnknownError");
    let inner: Value = serde_json::from_str(&message).expect("Graph puts JSON text in the message");
    assert_eq!(inner["errorCode"], "7503");
    assert_eq!(inner["message"], "Application is not registered in our store.");
}
