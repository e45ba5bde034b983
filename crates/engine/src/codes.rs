//! The `resultInfo` values calls and operations end with. Documented ones come from the end-reason table of
//! docs:call-delete and the action pages (graph-calls.md §d); the few Graph leaves undocumented are marked inferred,
//! with the reasoning.

use crate::model::ResultInfo;

fn result(code: i32, subcode: i32, message: &str) -> ResultInfo {
    ResultInfo::new(code, subcode, message)
}

/// The bot hung up (`DELETE /calls/{id}`): the terminated notification of docs:call-delete.
pub fn bot_hung_up() -> ResultInfo {
    result(200, 5001, "The conversation has ended.")
}

/// The other party of a peer-to-peer call hung up. The docs' end-reason table (docs:call-delete) says 4521 "Call
/// ended by the other participant in peer-to-peer call."; live Graph ends such a call with 5002 (2023,
/// tests/fixtures/observed/sambetts/p2p-terminated-by-peer.json): the traffic is followed (docs/fidelity.md).
pub fn peer_hung_up() -> ResultInfo {
    result(200, 5002, "The conversation has ended.")
}

/// A PSTN caller or callee hung up (docs:call-delete table, 540000).
pub fn pstn_hung_up() -> ResultInfo {
    result(200, 540000, "Call ended by the PSTN User.")
}

/// Everyone else left a group call. The docs' table says 5002 "… as all other participants have left the call.";
/// live Graph ends a group call left to the bot with 5010, the message's two periods and all (2023,
/// tests/fixtures/observed/sambetts/group-terminated-last-participant.json; docs/fidelity.md).
pub fn all_others_left() -> ResultInfo {
    result(200, 5010, "This conversation has ended as only one participant was remaining in the conversation..")
}

/// Nobody the bot invited to its group call joined (docs:call-delete table).
pub fn no_one_joined() -> ResultInfo {
    result(200, 5013, "The conversation has ended as no one else has joined the group call.")
}

/// The meeting ended for everyone. Graph documents no code specific to this; 5001 "The conversation has ended." is
/// its general end of a conversation (docs:call-delete table), used here.
pub fn meeting_ended() -> ResultInfo {
    result(200, 5001, "The conversation has ended.")
}

/// Transfer completed (docs:call-transfer, transfer-completed notification).
pub fn transfer_completed() -> ResultInfo {
    result(0, 7015, "GracefulTransferCompleted")
}

/// The `terminationReason` of a call a consultative transfer ended (docs:call-transfer example 2).
pub const APP_TRANSFERRED: &str = "AppTransferred";

/// A blind transfer failed; the call is back to established (docs:call-transfer: code 500, subcode 7000; the docs
/// show the message only as a placeholder).
pub fn transfer_failed(reason: &str) -> ResultInfo {
    result(500, 7000, &format!("Transfer failed: {reason}"))
}

/// A consultative transfer failed (docs:call-transfer example 2: code 500, subcode 7700).
pub fn consultative_transfer_failed(reason: &str) -> ResultInfo {
    result(500, 7700, &format!("Consultative transfer failed: {reason}"))
}

/// No `keepAlive` for 45 minutes (docs:call-keepalive; code from docs:call-delete table).
pub fn keep_alive_timeout() -> ResultInfo {
    result(408, 8537, "Keep Alive timeout, cleaned up inactive call.")
}

/// An incoming call was not answered, rejected or redirected within 15 seconds (docs:call-answer). Graph does not say
/// which code it ends such a call with; 408/1106 is the end reason of the docs:call-delete table that describes it.
pub fn acceptance_timeout() -> ResultInfo {
    result(408, 1106, "An acknowledgement was not received for the call acceptance in the allotted time.")
}

/// Nobody answered before the ringing timeout (docs:call-delete table).
pub fn no_answer() -> ResultInfo {
    result(408, 10057, "Call timed out due to no signaling from callee endpoints.")
}

/// The callee is unknown (strict mode) (docs:call-delete table).
pub fn no_callee_endpoints() -> ResultInfo {
    result(480, 10037, "No callee endpoints were found.")
}

/// The callee cannot be reached (docs:call-delete table).
pub fn unreachable() -> ResultInfo {
    result(480, 10076, "Callee could not be reached.")
}

/// The call cannot be routed: a PSTN number called without an application instance (docs:call-delete table).
pub fn cannot_route() -> ResultInfo {
    result(480, 10134, "Call rejected due to inability to route the call.")
}

/// The callee refused the call. Graph documents no result for this; its `resultInfo` codes follow SIP (408, 480,
/// 410 in docs:call-delete), so these use SIP's 486 Busy Here and 603 Decline, with no subcode.
pub fn refused(declined: bool) -> ResultInfo {
    if declined { result(603, 0, "Call declined by the callee.") } else { result(486, 0, "Callee is busy.") }
}

/// Someone waited in a meeting's lobby until the lobby timed out (docs:call-delete table).
pub fn lobby_timeout() -> ResultInfo {
    result(200, 5855, "Participant waiting in lobby was removed from the conversation after lobby inactivity timeout.")
}

/// A second participant put on hold while one is (docs:participant-startholdmusic says only one can be; it does not
/// say with what code the second fails: 409, a conflict with the participant on hold, is Switchboard's choice).
pub fn hold_busy(on_hold: &str) -> ResultInfo {
    result(409, 0, &format!("Only one participant can be placed on hold at any given time; {on_hold} is on hold."))
}

/// An open invitation cancelled by removing the invitee (docs:participant-delete). Graph documents no result; SIP's
/// 487 Request Terminated says what happened.
pub fn invitation_cancelled() -> ResultInfo {
    result(487, 0, "The invitation was cancelled.")
}

/// An invitation that failed, in the words Graph uses (`addParticipants failed for participant 8:orgid:…. Underlying
/// reason: …. DiagCode: 410#301004.@`, comms-samples issues #700 and #410): live Graph fails the operation with
/// 412/9999 and keeps why it failed in the DiagCode (#410, 2021; docs/fidelity.md).
pub fn invitation_failed(participant: &str, why: &ResultInfo) -> ResultInfo {
    let reason = why.message.trim_end_matches('.');
    let message = format!(
        "addParticipants failed for participant {participant}. Underlying reason: {reason}. DiagCode: {}#{}.@",
        why.code, why.subcode
    );
    result(412, 9999, &message)
}

/// An action that completed at once (docs:call-playprompt's operation result).
pub fn action_completed() -> ResultInfo {
    result(200, 0, "Action completed successfully.")
}

/// A `playPrompt` or `recordResponse` cancelled by `cancelMediaProcessing` or a barging recording
/// (docs:call-cancelmediaprocessing).
pub fn media_operation_cancelled() -> ResultInfo {
    result(400, 8508, "Action failed, the operation was cancelled.")
}

/// A recording that ran for its `maxRecordDurationInSeconds` (docs:call-record).
pub fn max_record_duration_reached() -> ResultInfo {
    result(200, 8515, "Action completed, max record duration reached.")
}

/// A prompt that could not be fetched or decoded. Graph documents no code for it; 400 with the reason is
/// Switchboard's choice (the media is the bot's to fix).
pub fn prompt_failed(reason: &str) -> ResultInfo {
    result(400, 0, &format!("Action failed, the prompt could not be played: {reason}"))
}

/// A recording that heard nobody within `initialSilenceTimeoutInSeconds`, which "fail[s] the operation"
/// (docs:call-record); Graph documents no code for it.
pub fn no_speech_detected() -> ResultInfo {
    result(400, 0, "Action failed, no speech was detected within the initial silence timeout.")
}
