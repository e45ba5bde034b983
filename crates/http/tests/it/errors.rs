//! Malformed requests get Graph's error body with the right status — never the framework's own text.

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Options, Reply, TestServer};

const ANSWER: &str = "/v1.0/communications/calls/call-1/answer";

async fn post_raw(server: &TestServer, path: &str, content_type: Option<&str>, body: &'static str) -> Reply {
    let mut request = server.client.post(server.url(path)).header("authorization", server.bearer()).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    Reply::from(request.send().await.unwrap()).await
}

fn assert_error(reply: &Reply, status: u16, code: &str, message_part: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    let (actual_code, message) = reply.graph_error();
    assert_eq!(actual_code, code, "{}", reply.body);
    assert!(message.contains(message_part), "'{message}' should contain '{message_part}'");
}

#[tokio::test]
async fn unreadable_bodies() {
    let server = TestServer::start().await;
    let unreadable = "Unable to read JSON request payload. Please ensure Content-Type header is set";
    assert_error(
        &post_raw(&server, ANSWER, Some("application/json"), "{\"callbackUri\": ").await,
        400,
        "BadRequest",
        unreadable,
    );
    assert_error(
        &post_raw(&server, ANSWER, Some("application/json"), "not json at all").await,
        400,
        "BadRequest",
        unreadable,
    );
    assert_error(&post_raw(&server, ANSWER, Some("text/plain"), "{}").await, 400, "BadRequest", "'text/plain'");
    assert_error(&post_raw(&server, ANSWER, None, "{}").await, 400, "BadRequest", "no Content-Type header");
    assert_error(
        &post_raw(&server, ANSWER, Some("application/json"), "").await,
        400,
        "BadRequest",
        "Empty Payload. JSON content expected.",
    );
    assert_error(
        &post_raw(&server, ANSWER, Some("application/json"), "[1, 2]").await,
        400,
        "BadRequest",
        "Invalid request body",
    );
    // Parameters on the media type are fine.
    let reply =
        post_raw(&server, "/v1.0/communications/calls/call-1/keepAlive", Some("application/json; charset=utf-8"), "{}")
            .await;
    assert!(reply.passed_checks(), "{}", reply.body);
}

#[tokio::test]
async fn bodies_that_do_not_fit_the_parameters() {
    let server = TestServer::start().await;
    let media = json!({"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"});
    let cases = [
        (
            json!({"callbackUri": 5, "mediaConfig": media, "acceptedModalities": ["audio"]}),
            "Invalid value for 'callbackUri'",
        ),
        (
            json!({"callbackUri": "https://b.example/cb", "mediaConfig": media, "acceptedModalities": ["smell"]}),
            "'smell' is not a member of the enum type 'microsoft.graph.modality'",
        ),
        (
            json!({"callbackUri": "https://b.example/cb", "mediaConfig": {"blob": "x"}, "acceptedModalities": ["audio"]}),
            "an @odata.type is required for a value of the abstract type 'microsoft.graph.mediaConfig'",
        ),
        (
            json!({"callbackUri": "https://b.example/cb", "mediaConfig": {"@odata.type": "#microsoft.graph.call"}, "acceptedModalities": ["audio"]}),
            "is not compatible with the declared type 'microsoft.graph.mediaConfig'",
        ),
        (
            json!({"callbackUri": "https://b.example/cb", "mediaConfig": media, "acceptedModalities": ["audio"], "shoeSize": 44}),
            "The property 'shoeSize' does not exist on type 'AnswerPostRequestBody'",
        ),
    ];
    for (body, expected) in cases {
        assert_error(&server.send("POST", ANSWER, Some(&body)).await, 400, "BadRequest", expected);
    }
    let nested = json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": "https://b.example/a.wav", "volume": 11}}]});
    let reply = server.send("POST", "/v1.0/communications/calls/call-1/playPrompt", Some(&nested)).await;
    assert_error(&reply, 400, "BadRequest", "The property 'volume' does not exist on type 'microsoft.graph.mediaInfo'");
    // Open types keep what they do not declare: an unknown property on the (open) identity is fine.
    let open = json!({"transferTarget": {"identity": {"user": {"id": "9a7e0000-0000-4000-8000-000000000001", "identityProvider": "AAD"}}, "languageId": "en-US"}});
    assert!(server.send("POST", "/v1.0/communications/calls/call-1/transfer", Some(&open)).await.passed_checks());
}

#[tokio::test]
async fn bodies_over_the_limit() {
    let server = TestServer::start_with(Options { max_body_bytes: 1024, ..Options::default() }).await;
    let padding = "x".repeat(2000);
    let body = json!({"clientContext": padding});
    assert_error(
        &server.send("POST", "/v1.0/communications/calls/call-1/mute", Some(&body)).await,
        413,
        "RequestEntityTooLarge",
        "1024 bytes",
    );

    // Without a Content-Length (chunked), the limit holds while reading.
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let chunk = format!("{:x}\r\n{{\"clientContext\":\"{padding}\"}}\r\n0\r\n\r\n", padding.len() + 20);
    let request = format!(
        "POST /v1.0/communications/calls/call-1/mute HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Authorization: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}",
        server.bearer()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("\"code\":\"RequestEntityTooLarge\""), "{response}");
}

#[tokio::test]
async fn urls_graph_does_not_know() {
    let server = TestServer::start().await;
    let get = |path: &'static str| {
        let server = &server;
        async move { server.send("GET", path, None).await }
    };
    assert_error(
        &get("/v1.0/communication/calls").await,
        400,
        "BadRequest",
        "Resource not found for the segment 'communication'.",
    );
    assert_error(&get("/v1.0/users").await, 400, "BadRequest", "Resource not found for the segment 'users'.");
    assert_error(
        &get("/v1.0/communications/calls/c1/participants/p1/dance").await,
        400,
        "BadRequest",
        "segment 'dance'",
    );
    assert_error(&get("/v2.0/communications/calls").await, 400, "BadRequest", "Invalid version: v2.0");
    // `/` itself is the console.
    assert_error(&get("/v3").await, 400, "BadRequest", "Invalid version");
    assert_error(&get("/v1.0/communications").await, 501, "NotImplemented", "serves the calls API only");
    assert_error(&get("/v1.0/communications/calls/%FF%FE").await, 404, "8522", "Call not found.");
    // OData key syntax and percent-encoding resolve like key segments.
    let reply = server.send("POST", "/beta/communications/calls('a%20b')/microsoft.graph.keepAlive", None).await;
    assert_error(&reply, 404, "8522", "Call 'a b' may have ended");
}

#[tokio::test]
async fn methods_a_url_does_not_support() {
    let server = TestServer::start().await;
    let reply = server.send("PUT", "/v1.0/communications/calls/c1", Some(&json!({}))).await;
    assert_error(&reply, 405, "methodNotAllowed", "The method is not supported for this URL.");
    assert_eq!(reply.headers["allow"], "GET, DELETE");
    let reply = server.send("GET", "/v1.0/communications/calls/c1/answer", None).await;
    assert_error(&reply, 405, "methodNotAllowed", "supports: POST");
    assert_eq!(reply.headers["allow"], "POST");
    let reply = server.send("DELETE", "/healthz", None).await;
    assert_error(&reply, 405, "methodNotAllowed", "The method is not supported for this URL: DELETE /healthz.");
    assert!(reply.headers["allow"].to_str().unwrap().contains("GET"), "{:?}", reply.headers["allow"]);
}

#[tokio::test]
async fn request_ids_follow_graph() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url(ANSWER))
        .header("client-request-id", "d0c5e2b4-0000-4000-8000-000000000001")
        .header("content-type", "application/json")
        .header("authorization", server.bearer())
        .body("{")
        .send()
        .await
        .unwrap();
    let reply = Reply::from(response).await;
    reply.graph_error();
    assert_eq!(reply.headers["client-request-id"], "d0c5e2b4-0000-4000-8000-000000000001", "the caller's id is echoed");
    let request_id = reply.headers["request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "request-id is a GUID: {request_id}");

    let healthy = server.send("GET", "/healthz", None).await;
    assert_eq!(healthy.status, 200);
    assert_eq!(healthy.body["status"], "ok");
    assert_eq!(
        healthy.headers["client-request-id"], healthy.headers["request-id"],
        "without one, Graph echoes its own"
    );
}

#[tokio::test]
async fn shutdown_completes_with_idle_connections_open() {
    let server = TestServer::start().await;
    // A keep-alive connection that stays open after its request.
    assert_eq!(server.send("GET", "/healthz", None).await.status, 200);
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), server.stop()).await;
    assert!(matches!(stopped, Ok(Ok(()))), "the server stops cleanly: {stopped:?}");
}
