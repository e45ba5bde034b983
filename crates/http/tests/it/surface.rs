//! Every operation of the catalogue answers with a Graph-shaped response, under both versions, both roots and,
//! for actions, the namespace-qualified name: implemented ones with their documented status (or, for the made-up
//! call id of these requests, Graph's 404), pending ones with a 501 naming the operation (after their valid body
//! passed every check), converter artefacts with a 405.

use serde_json::{Value, json};
use switchboard_catalogue::{ApiVersion, Documentation, ENDPOINTS, Endpoint, EndpointId::*, Kind};

use crate::support::{Reply, TestServer};

/// A minimal body that passes the documented limits, for each operation that takes one.
pub(crate) fn valid_body(endpoint: &Endpoint) -> Option<Value> {
    let identity = json!({"@odata.type": "#microsoft.graph.identitySet", "user": {"@odata.type": "#microsoft.graph.identity", "id": "9a7e0000-0000-4000-8000-000000000001"}});
    let target = json!({"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": identity});
    let media = json!({"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"});
    let prompt =
        json!({"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": "https://bot.example/hello.wav"}});
    let callback = "https://bot.example/callback";
    Some(match endpoint.id {
        CreateCall => {
            json!({"callbackUri": callback, "mediaConfig": media, "targets": [target], "requestedModalities": ["audio"]})
        }
        Answer => json!({"callbackUri": callback, "mediaConfig": media, "acceptedModalities": ["audio"]}),
        Reject => json!({"reason": "busy"}),
        Redirect => json!({"targets": [target], "timeout": 30}),
        Transfer => json!({"transferTarget": target}),
        PlayPrompt => json!({"prompts": [prompt], "clientContext": "c"}),
        RecordResponse | Record => json!({"prompts": [prompt], "maxRecordDurationInSeconds": 10, "stopTones": ["#"]}),
        SendDtmfTones => json!({"tones": ["tone1", "pound"], "delayBetweenTonesMs": 100}),
        ChangeScreenSharingRole => json!({"role": "viewer"}),
        UpdateRecordingStatus => json!({"status": "recording", "clientContext": "c"}),
        CreateAudioRoutingGroup => json!({"routingMode": "oneToOne", "sources": ["p1"], "receivers": ["p2"]}),
        UpdateAudioRoutingGroup => json!({"receivers": ["p2", "p3"]}),
        InviteParticipants => json!({"participants": [target], "clientContext": "c"}),
        MuteAllParticipants => json!({"participants": ["p1"], "clientContext": "c"}),
        LogTeleconferenceDeviceQuality => {
            json!({"quality": {"callChainId": "0622673d-9f69-49b3-9d4f-5ec64f2ecbbb", "deviceName": "Room 1"}})
        }
        StartHoldMusic => json!({"customPrompt": prompt, "clientContext": "c"}),
        ReportSyntheticMedia => json!({"isMalicious": false}),
        AddLargeGalleryView
        | CancelMediaProcessing
        | Mute
        | MuteParticipant
        | Unmute
        | SubscribeToTone
        | StartRecording
        | StopRecording
        | StartTranscription
        | StopTranscription
        | AdmitAllFromLobby
        | StopHoldMusic
        | AdmitFromLobby
        | RemoveFromLobby => json!({"clientContext": "c"}),
        _ => return None,
    })
}

/// Concrete paths for an operation: both roots, and for actions also the namespace-qualified form.
pub(crate) fn paths(endpoint: &Endpoint) -> Vec<String> {
    let concrete = endpoint
        .path
        .replace("{call-id}", "call-1")
        .replace("{participant-id}", "participant-1")
        .replace("{commsOperation-id}", "operation-1")
        .replace("{audioRoutingGroup-id}", "group-1")
        .replace("{contentSharingSession-id}", "session-1");
    let mut forms = vec![concrete.clone()];
    if endpoint.kind == Kind::Action {
        let (head, action) = concrete.rsplit_once('/').unwrap();
        forms.push(format!("{head}/microsoft.graph.{action}"));
    }
    ["/communications/calls", "/app/calls"]
        .iter()
        .flat_map(|root| forms.iter().map(move |form| format!("{root}{form}")))
        .collect()
}

async fn send(server: &TestServer, endpoint: &Endpoint, url_path: &str) -> Reply {
    let mut request = server
        .client
        .request(endpoint.method.as_str().parse().unwrap(), server.url(url_path))
        .header("user-agent", "SwitchboardTests/1.0")
        .header("authorization", server.bearer());
    if let Some(body) = valid_body(endpoint) {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    Reply::from(request.send().await.unwrap()).await
}

#[tokio::test]
async fn every_operation_answers_graph_shaped_under_every_path_form() {
    let server = TestServer::start().await;
    let mut checked = 0;
    for endpoint in ENDPOINTS {
        for version in ApiVersion::ALL.into_iter().filter(|v| endpoint.availability.includes(*v)) {
            for path in paths(endpoint) {
                let url_path = format!("/{}{path}", version.as_str());
                let reply = send(&server, endpoint, &url_path).await;
                let context = format!("{} {url_path} → {} {}", endpoint.method.as_str(), reply.status, reply.body);
                match endpoint.documentation {
                    Documentation::Undocumented => {
                        assert_eq!(reply.status, 405, "{context}");
                        assert_eq!(reply.graph_error().0, "methodNotAllowed", "{context}");
                        assert!(reply.headers.contains_key("allow"), "{context}");
                    }
                    _ if endpoint.path.contains("{call-id}") => {
                        assert_eq!(reply.status, 404, "{context}");
                        let (code, message) = reply.graph_error();
                        assert_eq!(
                            (code.as_str(), message.starts_with("Call not found. Call 'call-1'")),
                            ("8522", true),
                            "{context}"
                        );
                    }
                    _ => assert_eq!(reply.status, endpoint.success, "{context}"),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "checked {checked} requests");
}

#[tokio::test]
async fn beta_only_operations_are_unknown_under_v1() {
    let server = TestServer::start().await;
    for endpoint in ENDPOINTS.iter().filter(|e| !e.availability.includes(ApiVersion::V1)) {
        let path = format!("/v1.0{}", paths(endpoint)[0]);
        let reply = send(&server, endpoint, &path).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        let (code, message) = reply.graph_error();
        assert_eq!(code, "BadRequest");
        assert!(message.starts_with("Resource not found for the segment '"), "{message}");
        assert!(message.contains("only in the beta version"), "{message}");
    }
}

#[tokio::test]
async fn device_quality_reports_are_stored() {
    let server = TestServer::start().await;
    let quality = json!({"quality": {
        "@odata.type": "#microsoft.graph.teleconferenceDeviceQuality",
        "callChainId": "0622673d-9f69-49b3-9d4f-5ec64f2ecbbb",
        "participantId": "ea078e8c-3b7a-4d93-9bfc-7b1e4cdc8d36",
        "mediaLegId": "bd9ee398-4b9d-42c7-8b8d-4e8efad9435f",
        "deviceName": "Cisco SX80",
        "mediaQualityList": [{
            "@odata.type": "#microsoft.graph.teleconferenceDeviceAudioQuality",
            "channelIndex": 1,
            "averageInboundPacketLossRateInPercentage": 0.01,
            "averageInboundJitter": "PT0.03S"
        }]
    }});
    let reply = server
        .client
        .post(server.url("/beta/communications/calls/logTeleconferenceDeviceQuality"))
        .header("content-type", "application/json")
        .header("user-agent", "Cisco SX80/9.15")
        .header("authorization", server.bearer())
        .body(quality.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert!(reply.text().await.unwrap().is_empty(), "Graph answers 200 with no body");

    let reports = switchboard_store::Store::device_quality_reports(&*server.store, 0, 10).await.unwrap();
    assert_eq!(reports.len(), 1);
    let report = &reports[0].report;
    assert_eq!((report.api_version.as_str(), report.user_agent.as_str()), ("beta", "Cisco SX80/9.15"));
    assert_eq!(
        (report.tenant_id, report.app_id),
        (switchboard_identity::DEV_TENANT_ID, switchboard_identity::DEV_APP_ID),
        "the sender"
    );
    assert_eq!(report.call_chain_id.as_deref(), Some("0622673d-9f69-49b3-9d4f-5ec64f2ecbbb"));
    assert_eq!(report.media_leg_id.as_deref(), Some("bd9ee398-4b9d-42c7-8b8d-4e8efad9435f"));
    let stored: Value = serde_json::from_str(&report.quality_json).unwrap();
    assert_eq!(stored["mediaQualityList"][0]["averageInboundJitter"], "PT0.03S", "the whole report is kept: {stored}");
    server.stop().await.unwrap();
}
