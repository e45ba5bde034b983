//! Each documented limit (`shared/reference/graph-calls.md` §e) refuses a body that breaks it with a 400 that says
//! which rule, and accepts the body at the edge of the rule (which then reaches the operation: a 404 for the test's
//! made-up call ids, or the 501 of an operation not implemented yet).

use serde_json::{Value, json};

use crate::support::{Options, TestServer};

fn identity_target() -> Value {
    json!({"identity": {"user": {"id": "9a7e0000-0000-4000-8000-000000000001"}}})
}

fn prompt() -> Value {
    json!({"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": "https://bot.example/p.wav"}})
}

fn call(callback: &str) -> Value {
    json!({
        "callbackUri": callback,
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "targets": [identity_target()],
        "requestedModalities": ["audio"]
    })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn repeat(value: Value, count: usize) -> Value {
    Value::Array(vec![value; count])
}

struct Case {
    path: &'static str,
    body: Value,
    /// `None`: the body is valid.
    refused_with: Option<&'static str>,
}

fn refused(path: &'static str, body: Value, message: &'static str) -> Case {
    Case { path, body, refused_with: Some(message) }
}

fn accepted(path: &'static str, body: Value) -> Case {
    Case { path, body, refused_with: None }
}

const CALLS: &str = "/v1.0/communications/calls";
const PLAY: &str = "/v1.0/communications/calls/c1/playPrompt";
const RECORD: &str = "/v1.0/communications/calls/c1/recordResponse";
const BETA_RECORD: &str = "/beta/communications/calls/c1/record";
const REDIRECT: &str = "/v1.0/communications/calls/c1/redirect";
const INVITE: &str = "/v1.0/communications/calls/c1/participants/invite";
const MUTE: &str = "/v1.0/communications/calls/c1/mute";

fn cases() -> Vec<Case> {
    let context_256 = "c".repeat(256);
    let context_257 = "é".repeat(257);
    let record = |key: &str, seconds: i64| json!({"prompts": [prompt()], key: seconds});
    vec![
        // clientContext ≤ 256 characters (characters, not bytes), on every action that takes one.
        accepted(MUTE, json!({"clientContext": context_256})),
        refused(
            MUTE,
            json!({"clientContext": context_257.clone()}),
            "'clientContext' is 257 characters long; Graph allows at most 256",
        ),
        refused(PLAY, json!({"prompts": [prompt()], "clientContext": context_257.clone()}), "at most 256"),
        refused(
            "/v1.0/communications/calls/c1/participants/p1/startHoldMusic",
            json!({"clientContext": context_257}),
            "at most 256",
        ),
        // callbackUri: https, absolute.
        accepted(CALLS, call("https://bot.example/callback")),
        refused(
            CALLS,
            call("http://bot.example/callback"),
            "must be https; in dev mode plain http is accepted only for loopback hosts",
        ),
        refused(CALLS, call("ftp://bot.example/callback"), "must be an https URL"),
        refused(CALLS, call("/callback"), "is not an absolute URL"),
        accepted(CALLS, call("http://127.0.0.1:9000/callback")),
        accepted(CALLS, call("http://[::1]:9000/callback")),
        accepted(CALLS, call("http://localhost:9000/callback")),
        refused(CALLS, with(call("https://b.example/c"), "callbackUri", Value::Null), "'callbackUri' is required"),
        refused(
            "/v1.0/communications/calls/c1/reject",
            json!({"callbackUri": "http://bot.example/x"}),
            "must be https",
        ),
        // Create call: media config, targets or a meeting, ≤ 5 targets, beta ringing timeout ≤ 115 s.
        refused(CALLS, with(call("https://b.example/c"), "mediaConfig", Value::Null), "'mediaConfig' is required"),
        refused(CALLS, with(call("https://b.example/c"), "targets", json!([])), "needs 'targets'"),
        accepted(CALLS, with(call("https://b.example/c"), "targets", repeat(identity_target(), 5))),
        refused(
            CALLS,
            with(call("https://b.example/c"), "targets", repeat(identity_target(), 6)),
            "'targets' has 6 entries",
        ),
        refused(
            CALLS,
            with(call("https://b.example/c"), "targets", json!([{"participantId": "x"}])),
            "'targets[0].identity' is required",
        ),
        accepted(CALLS, with(call("https://b.example/c"), "ringingTimeoutInSeconds", json!(115))),
        refused(CALLS, with(call("https://b.example/c"), "ringingTimeoutInSeconds", json!(116)), "maximum is 115"),
        // playPrompt: 1–20 prompts, each a media prompt with a URI.
        accepted(PLAY, json!({"prompts": repeat(prompt(), 20)})),
        refused(
            PLAY,
            json!({"prompts": repeat(prompt(), 21)}),
            "'prompts' has 21 entries; docs:call-playprompt allows 1 to 20",
        ),
        refused(PLAY, json!({"prompts": []}), "allows 1 to 20"),
        refused(
            PLAY,
            json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {}}]}),
            "'prompts[0].mediaInfo.uri' is required",
        ),
        refused(
            PLAY,
            json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": "file:///etc/passwd"}}]}),
            "must be an http or https URL",
        ),
        // recordResponse and beta record: ≤ 1 prompt, timeouts 1–120 s, stop tones are DTMF keys.
        accepted(RECORD, record("maxRecordDurationInSeconds", 120)),
        refused(
            RECORD,
            json!({"prompts": [prompt(), prompt()]}),
            "'prompts' has 2 entries; docs:call-record allows 0 to 1",
        ),
        refused(
            RECORD,
            record("initialSilenceTimeoutInSeconds", 0),
            "'initialSilenceTimeoutInSeconds' is 0; docs:call-record allows 1 to 120",
        ),
        refused(RECORD, record("maxSilenceTimeoutInSeconds", 121), "'maxSilenceTimeoutInSeconds' is 121"),
        refused(RECORD, record("maxRecordDurationInSeconds", 121), "'maxRecordDurationInSeconds' is 121"),
        refused(BETA_RECORD, record("maxRecordDurationInSeconds", 0), "'maxRecordDurationInSeconds' is 0"),
        accepted(RECORD, json!({"stopTones": ["#", "1", "*", "tone5"]})),
        refused(RECORD, json!({"stopTones": ["!"]}), "'stopTones' contains '!'"),
        // redirect: 1–25 targets, timeout 15–90 s.
        accepted(REDIRECT, json!({"targets": repeat(identity_target(), 25), "timeout": 15})),
        refused(
            REDIRECT,
            json!({"targets": repeat(identity_target(), 26)}),
            "'targets' has 26 entries; docs:call-redirect allows 1 to 25",
        ),
        refused(REDIRECT, json!({"targets": [], "timeout": 30}), "allows 1 to 25"),
        refused(
            REDIRECT,
            json!({"targets": [identity_target()], "timeout": 14}),
            "'timeout' is 14; docs:call-redirect allows 15 to 90 seconds",
        ),
        refused(REDIRECT, json!({"targets": [identity_target()], "timeout": 91}), "'timeout' is 91"),
        accepted(REDIRECT, json!({"targets": [identity_target()], "timeout": 90})),
        // invite: 1–5 participants.
        accepted(INVITE, json!({"participants": repeat(identity_target(), 5)})),
        refused(
            INVITE,
            json!({"participants": repeat(identity_target(), 6)}),
            "'participants' has 6 entries; docs:participant-invite allows 1 to 5",
        ),
        refused(INVITE, json!({}), "'participants' is required"),
        // answer, transfer, sendDtmfTones, changeScreenSharingRole, updateRecordingStatus: required parameters.
        refused(
            "/v1.0/communications/calls/c1/answer",
            json!({"callbackUri": "https://b.example/c", "mediaConfig": {"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": "x"}}),
            "'acceptedModalities' is required",
        ),
        refused("/v1.0/communications/calls/c1/transfer", json!({}), "'transferTarget' is required"),
        refused("/v1.0/communications/calls/c1/sendDtmfTones", json!({"tones": []}), "'tones' has 0 entries"),
        refused(
            "/v1.0/communications/calls/c1/sendDtmfTones",
            json!({"tones": ["tone1"], "delayBetweenTonesMs": -1}),
            "allows 0 to 10000",
        ),
        refused(
            "/v1.0/communications/calls/c1/sendDtmfTones",
            json!({"tones": vec!["tone1"; 101]}),
            "'tones' has 101 entries",
        ),
        refused("/v1.0/communications/calls/c1/changeScreenSharingRole", json!({}), "'role' is required"),
        refused("/v1.0/communications/calls/c1/updateRecordingStatus", json!({}), "'status' is required"),
        refused("/v1.0/communications/calls/logTeleconferenceDeviceQuality", json!({}), "'quality' is required"),
        // Audio routing groups: one source; oneToOne one receiver, multicast one or more.
        accepted(
            "/v1.0/communications/calls/c1/audioRoutingGroups",
            json!({"routingMode": "multicast", "sources": ["p1"], "receivers": ["p2", "p3"]}),
        ),
        refused(
            "/v1.0/communications/calls/c1/audioRoutingGroups",
            json!({"routingMode": "oneToOne", "sources": ["p1"], "receivers": ["p2", "p3"]}),
            "'receivers' has 2 entries; res:audioroutinggroup (oneToOne) allows 1 to 1",
        ),
        refused(
            "/v1.0/communications/calls/c1/audioRoutingGroups",
            json!({"routingMode": "multicast", "sources": ["p1", "p2"], "receivers": ["p3"]}),
            "'sources' has 2 entries",
        ),
    ]
}

#[tokio::test]
async fn each_documented_limit_is_enforced() {
    let server = TestServer::start().await;
    for case in cases() {
        let reply = server.send("POST", case.path, Some(&case.body)).await;
        match case.refused_with {
            Some(expected) => {
                assert_eq!(reply.status, 400, "POST {} {}: {}", case.path, case.body, reply.body);
                let (code, message) = reply.graph_error();
                assert_eq!(code, "BadRequest");
                assert!(message.contains(expected), "POST {}: '{message}' should contain '{expected}'", case.path);
            }
            None => {
                assert!(
                    reply.passed_checks(),
                    "POST {} {} should pass validation: {}",
                    case.path,
                    case.body,
                    reply.body
                )
            }
        }
    }
}

#[tokio::test]
async fn device_quality_needs_a_user_agent() {
    let server = TestServer::start().await;
    let body = json!({"quality": {"deviceName": "Room 1"}});
    let reply = server.send("POST", "/v1.0/communications/calls/logTeleconferenceDeviceQuality", Some(&body)).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.graph_error().1.contains("'User-Agent' request header is required"));
}

#[tokio::test]
async fn production_mode_refuses_plain_http_callbacks_even_on_loopback() {
    let server = TestServer::start_with(Options { dev_mode: false, ..Options::default() }).await;
    let (_, token) = server.app_with(&["Calls.Initiate.All"]).await;
    let bearer = format!("Bearer {token}");
    let reply = server.send_with("POST", CALLS, Some(&call("http://127.0.0.1:9000/callback")), Some(&bearer)).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.graph_error().1.contains("must be an https URL"));
    let reply = server.send_with("POST", CALLS, Some(&call("https://bot.example/callback")), Some(&bearer)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}
