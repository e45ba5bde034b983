//! A call belongs to the app and tenant that made (or were offered) it: any other app, in the same tenant or
//! another, gets the same 404 as for a call that never existed.

use serde_json::json;

use crate::support::{DEV_TENANT, Harness, answers_after, user_identity};

async fn other_app(h: &Harness, tenant: &str) -> String {
    h.another_app(tenant, "Another bot", &["Calls.Initiate.All", "Calls.AccessMedia.All", "Calls.JoinGroupCall.All"])
        .await
}

#[tokio::test]
async fn another_apps_calls_are_not_found() {
    let h = Harness::start().await;
    let other_tenant = "0ddba11a-0000-4000-8000-000000000001";
    h.send("POST", "/_admin/tenants", Some(&json!({"tenantId": other_tenant, "displayName": "Other"})), None)
        .await
        .expect(201);
    let neighbour = other_app(&h, DEV_TENANT).await;
    let foreigner = other_app(&h, other_tenant).await;

    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    let operation =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/subscribeToTone"), Some(&json!({}))).await;
    let operation_id = operation.expect(200).body["id"].as_str().unwrap().to_owned();
    let answer = json!({"callbackUri": h.callback(), "acceptedModalities": ["audio"], "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}});
    let requests = [
        ("GET", format!("/v1.0/communications/calls/{id}"), None),
        ("GET", format!("/beta/app/calls/{id}"), None),
        ("GET", format!("/v1.0/communications/calls/{id}/operations/{operation_id}"), None),
        ("POST", format!("/v1.0/communications/calls/{id}/keepAlive"), None),
        ("POST", format!("/v1.0/communications/calls/{id}/answer"), Some(answer)),
        ("POST", format!("/v1.0/communications/calls/{id}/mute"), Some(json!({}))),
        ("DELETE", format!("/v1.0/communications/calls/{id}"), None),
    ];
    let unknown =
        h.graph("GET", "/v1.0/communications/calls/00000000-0000-4000-8000-000000000000", None).await.expect(404);
    for token in [&neighbour, &foreigner] {
        for (method, path, body) in &requests {
            let reply = h.send(method, path, body.as_ref(), Some(token)).await;
            assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
            assert_eq!(reply.error_code(), unknown.error_code(), "indistinguishable from a call that never existed");
        }
    }
    let mine = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200);
    assert_eq!(mine.body["state"], "established", "nothing the others sent reached the call");
}

#[tokio::test]
async fn each_tenant_has_its_own_world() {
    let h = Harness::start().await;
    let other_tenant = "0ddba11a-0000-4000-8000-000000000002";
    h.send("POST", "/_admin/tenants", Some(&json!({"tenantId": other_tenant, "displayName": "Other"})), None)
        .await
        .expect(201);
    let alice = h.user("Alice", answers_after(0)).await;
    h.sim("GET", &format!("/users/{alice}?tenantId={other_tenant}"), None).await.expect(404);
    let several = h.sim("GET", "/users", None).await;
    assert_eq!(several.expect(200).body["value"].as_array().unwrap().len(), 1, "without tenantId: the dev tenant");
    let listed = h.sim("GET", &format!("/users?tenantId={other_tenant}"), None).await.expect(200);
    assert_eq!(listed.body["value"], json!([]));
    let nobody = h.sim("GET", "/users?tenantId=0ddba11a-0000-4000-8000-00000000ffff", None).await.expect(400);
    assert!(nobody.error_message().contains("there is no tenant"));
}
