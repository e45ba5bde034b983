//! The media operations as the call document sees them: the IVR queue (playPrompt, recordResponse), cancelling it,
//! DTMF the bot sends, keys people press, and what the media engine reports.

mod harness;

use harness::{Harness, established_call};
use serde_json::json;
use switchboard_engine::{
    ActionKind, ActionRequest, Command, JobResult, MediaReport, NotificationKind, RecordCompletion, Rejection,
    model::{MediaHosting, MediaJobKind, OperationStatus, Prompt, RecordJob},
};

fn act(id: &str, kind: ActionKind) -> Command {
    Command::Action(ActionRequest { operation_id: id.into(), kind, client_context: Some(format!("ctx-{id}")) })
}

fn play(uri: &str) -> ActionKind {
    ActionKind::PlayPrompt { prompts: vec![Prompt { uri: uri.into(), resource_id: None }], looped: false }
}

fn record(barge_in: bool) -> ActionKind {
    let job = RecordJob {
        prompt: None,
        play_beep: true,
        initial_silence_timeout_s: 5,
        max_silence_timeout_s: 5,
        max_record_duration_s: 5,
        stop_tones: vec!['#'],
    };
    ActionKind::Record { job, barge_in }
}

fn finished(h: &mut Harness) -> Vec<(String, OperationStatus, i32, i32)> {
    h.notifications
        .drain(..)
        .filter_map(|(kind, call)| match kind {
            NotificationKind::OperationFinished { operation_id } => {
                let operation = call.operation(&operation_id).unwrap().clone();
                let result = operation.result_info.map_or((0, 0), |r| (r.code, r.subcode));
                Some((operation_id, operation.status, result.0, result.1))
            }
            _ => None,
        })
        .collect()
}

fn report(operation_id: &str, result: JobResult) -> Command {
    Command::Media(MediaReport::JobFinished { operation_id: operation_id.into(), result })
}

#[test]
fn prompts_queue_up_and_finish_when_the_media_engine_says() {
    let mut h = established_call();
    h.send(act("p1", play("https://cdn.example/one.wav"))).unwrap();
    h.send(act("p2", play("https://cdn.example/two.wav"))).unwrap();
    h.advance(harness::secs(60));
    assert!(finished(&mut h).is_empty(), "running until the media engine reports");
    let queue: Vec<&str> = h.call.media_jobs.iter().map(|j| j.operation_id.as_str()).collect();
    assert_eq!(queue, ["p1", "p2"]);
    h.send(report("p1", JobResult::Played)).unwrap();
    assert_eq!(finished(&mut h), [("p1".to_owned(), OperationStatus::Completed, 200, 0)]);
    h.send(report("p2", JobResult::PromptFailed { reason: "404 from the CDN".into() })).unwrap();
    assert_eq!(finished(&mut h), [("p2".to_owned(), OperationStatus::Failed, 400, 0)]);
    let failed = h.call.operation("p2").unwrap();
    assert!(failed.result_info.as_ref().unwrap().message.contains("404 from the CDN"));
    assert!(h.call.media_jobs.is_empty());
}

#[test]
fn cancel_media_processing_fails_the_whole_queue_but_not_tone_subscriptions() {
    let mut h = established_call();
    h.send(act("tones", ActionKind::SubscribeToTone)).unwrap();
    h.send(act("p", play("https://cdn.example/one.wav"))).unwrap();
    h.send(act("r", record(false))).unwrap();
    h.send(act("c", ActionKind::CancelMediaProcessing)).unwrap();
    assert_eq!(h.call.operation("c").unwrap().status, OperationStatus::Completed, "completed at once");
    let cancelled = finished(&mut h);
    assert_eq!(
        cancelled,
        [("p".to_owned(), OperationStatus::Failed, 400, 8508), ("r".to_owned(), OperationStatus::Failed, 400, 8508)]
    );
    let recording = h.call.operation("r").unwrap();
    assert_eq!(recording.properties["completionReason"], "operationCanceled");
    assert_eq!(recording.properties["recordingLocation"], "");
    // A late report about a cancelled job changes nothing.
    h.send(report("p", JobResult::Played)).unwrap();
    assert!(finished(&mut h).is_empty());
    h.send(Command::Media(MediaReport::KeyPressed { participant_id: "a".into(), key: '5' })).unwrap();
    assert!(
        matches!(&h.notifications[0].0, NotificationKind::ToneReceived { tone: "tone5", sequence_id: 1 }),
        "still subscribed"
    );
}

#[test]
fn a_barging_recording_cancels_the_queue_and_reports_its_recording() {
    let mut h = established_call();
    h.send(act("p", play("https://cdn.example/long.wav"))).unwrap();
    h.send(act("r", record(true))).unwrap();
    assert_eq!(finished(&mut h), [("p".to_owned(), OperationStatus::Failed, 400, 8508)]);
    assert!(matches!(h.call.media_jobs[0].kind, MediaJobKind::Record(_)));
    assert_eq!(h.call.operation("r").unwrap().properties["recordingLocation"], json!(null), "the 200's body");
    let result = JobResult::Recorded {
        location: "https://switchboard.example/recordings/x".into(),
        access_token: "token".into(),
        completion: RecordCompletion::MaxRecordDurationReached,
    };
    h.send(report("r", result)).unwrap();
    assert_eq!(finished(&mut h), [("r".to_owned(), OperationStatus::Completed, 200, 8515)]);
    let recording = h.call.operation("r").unwrap();
    assert_eq!(recording.properties["recordingLocation"], "https://switchboard.example/recordings/x");
    assert_eq!(recording.properties["completionReason"], "maxRecordDurationReached");
}

#[test]
fn dtmf_the_bot_sends_completes_with_a_reason_and_keys_pressed_notify_only_when_subscribed() {
    let mut h = established_call();
    h.send(act("d", ActionKind::SendDtmfTones { keys: vec!['1', '#'], delay_between_tones_ms: 100 })).unwrap();
    h.send(Command::Media(MediaReport::KeyPressed { participant_id: "a".into(), key: '1' })).unwrap();
    assert!(h.notifications.is_empty(), "not subscribed: Graph says nothing");
    h.send(Command::Media(MediaReport::DtmfSent { operation_id: "d".into() })).unwrap();
    let sent = h.call.operation("d").unwrap().clone();
    assert_eq!((sent.status, sent.result_info), (OperationStatus::Completed, None));
    assert_eq!(sent.properties["completionReason"], "completedSuccessfully");
    assert_eq!(finished(&mut h).len(), 1);
}

#[test]
fn media_operations_need_service_hosted_media_and_an_established_call() {
    let mut h = established_call();
    h.call.media_hosting = MediaHosting::App;
    let refused = h.send(act("p", play("https://cdn.example/one.wav")));
    assert!(matches!(refused, Err(Rejection::NotApplicable(m)) if m.contains("service-hosted")));
    let mut ended = established_call();
    ended.send(act("p", play("https://cdn.example/one.wav"))).unwrap();
    ended.send(Command::HangUp).unwrap();
    assert!(ended.call.media_jobs.is_empty(), "media ends with the call");
}
