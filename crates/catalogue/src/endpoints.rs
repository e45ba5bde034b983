//! The table. Sources are `shared/reference/graph-calls.md` §a and the pages it cites (`docs:X` is
//! `api-reference/v1.0/api/X.md` of microsoft-graph-docs-contrib; `PERM-2022` the old per-path permission map;
//! `beta SDK` the generated request builders of msgraph-beta-sdk-python).

use crate::{
    Availability, Documentation, Endpoint, EndpointId, EndpointId::*, Kind, Method, Permission, Permission::*,
    PermissionCheck, Response,
};

const CALL: &str = "microsoft.graph.call";
const PARTICIPANT: &str = "microsoft.graph.participant";
const AUDIO_ROUTING_GROUP: &str = "microsoft.graph.audioRoutingGroup";
const CONTENT_SHARING_SESSION: &str = "microsoft.graph.contentSharingSession";

/// Every Calls permission that lets an app take part in calls at all, for the operations Graph checks only when
/// the call was created.
const ANY_CALLS: &[Permission] = &[
    CallsInitiateAll,
    CallsInitiateGroupCallAll,
    CallsJoinGroupCallAll,
    CallsJoinGroupCallAsGuestAll,
    CallsAccessMediaAll,
];

const fn endpoint(id: EndpointId, name: &'static str, method: Method, kind: Kind, path: &'static str) -> Endpoint {
    Endpoint {
        id,
        name,
        method,
        kind,
        path,
        availability: Availability::Both,
        success: 200,
        response: Response::Empty,
        permissions: &[],
        permission_check: PermissionCheck::OnRequest,
        documentation: Documentation::Undocumented,
    }
}

const fn get(id: EndpointId, name: &'static str, kind: Kind, path: &'static str) -> Endpoint {
    endpoint(id, name, Method::Get, kind, path)
}
const fn post(id: EndpointId, name: &'static str, kind: Kind, path: &'static str) -> Endpoint {
    endpoint(id, name, Method::Post, kind, path)
}
const fn patch(id: EndpointId, name: &'static str, path: &'static str) -> Endpoint {
    endpoint(id, name, Method::Patch, Kind::Entity, path)
}
const fn delete(id: EndpointId, name: &'static str, path: &'static str) -> Endpoint {
    endpoint(id, name, Method::Delete, Kind::Entity, path).returns(204, Response::Empty)
}
const fn action(id: EndpointId, name: &'static str, path: &'static str) -> Endpoint {
    post(id, name, Kind::Action, path)
}

impl Endpoint {
    const fn returns(mut self, success: u16, response: Response) -> Self {
        self.success = success;
        self.response = response;
        self
    }
    const fn permissions(mut self, permissions: &'static [Permission]) -> Self {
        self.permissions = permissions;
        self
    }
    /// Graph checks nothing beyond the permissions the call was created with.
    const fn checked_at_call_creation(mut self, documented: &'static [Permission]) -> Self {
        self.permissions = documented;
        self.permission_check = PermissionCheck::AtCallCreation;
        self
    }
    const fn documented(mut self, source: &'static str) -> Self {
        self.documentation = Documentation::Documented { source };
        self
    }
    const fn inferred(mut self, source: &'static str) -> Self {
        self.documentation = Documentation::Inferred { source };
        self
    }
    const fn beta_only(mut self) -> Self {
        self.availability = Availability::BetaOnly;
        self
    }
}

pub static ENDPOINTS: &[Endpoint] = &[
    // ---- calls -------------------------------------------------------------------------------------------------
    get(ListCalls, "calls: list", Kind::Collection, "").returns(200, Response::Collection(CALL)),
    post(CreateCall, "calls: create", Kind::Collection, "")
        .returns(201, Response::Entity(CALL))
        .permissions(&[
            CallsJoinGroupCallsChat,
            CallsJoinGroupCallAsGuestAll,
            CallsJoinGroupCallAll,
            CallsInitiateAll,
            CallsInitiateGroupCallAll,
        ])
        .documented("docs:application-post-calls"),
    get(CountCalls, "calls: count", Kind::Count, "/$count").returns(200, Response::Count),
    get(GetCall, "call: get", Kind::Entity, "/{call-id}")
        .returns(200, Response::Entity(CALL))
        .checked_at_call_creation(&[CallsAccessMediaAll, CallsInitiateAll])
        .inferred("res:call; PERM-2022"),
    patch(UpdateCall, "call: update", "/{call-id}").returns(200, Response::Entity(CALL)),
    delete(DeleteCall, "call: delete (hang up)", "/{call-id}")
        .checked_at_call_creation(&[CallsInitiateAll, CallsAccessMediaAll])
        .documented("docs:call-delete"),
    action(LogTeleconferenceDeviceQuality, "calls: logTeleconferenceDeviceQuality", "/logTeleconferenceDeviceQuality")
        .permissions(&[CallsAccessMediaAll])
        .documented("docs:call-logteleconferencedevicequality"),
    // ---- call actions ------------------------------------------------------------------------------------------
    action(AddLargeGalleryView, "call: addLargeGalleryView", "/{call-id}/addLargeGalleryView")
        .returns(202, Response::Operation("microsoft.graph.addLargeGalleryViewOperation"))
        .permissions(&[CallsJoinGroupCallAsGuestAll, CallsJoinGroupCallAll, CallsInitiateGroupCallAll])
        .documented("docs:call-addlargegalleryview"),
    // "If a user wants to call a bot, the bot doesn't need any additional permissions in order to respond to the
    // P2P call" (concepts: cloud-communications-calls); a group-call invitation needs a join permission (PERM-2022),
    // which depends on the call, so it is checked against the call, not the request.
    action(Answer, "call: answer", "/{call-id}/answer")
        .returns(202, Response::Empty)
        .checked_at_call_creation(&[CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
        .documented("docs:call-answer; concepts: cloud-communications-calls"),
    action(CancelMediaProcessing, "call: cancelMediaProcessing", "/{call-id}/cancelMediaProcessing")
        .returns(200, Response::Operation("microsoft.graph.cancelMediaProcessingOperation"))
        .checked_at_call_creation(&[CallsInitiateAll, CallsAccessMediaAll])
        .documented("docs:call-cancelmediaprocessing"),
    action(ChangeScreenSharingRole, "call: changeScreenSharingRole", "/{call-id}/changeScreenSharingRole")
        .returns(202, Response::Empty)
        .permissions(&[CallsAccessMediaAll])
        .documented("docs:call-changescreensharingrole"),
    action(KeepAlive, "call: keepAlive", "/{call-id}/keepAlive")
        .checked_at_call_creation(&[CallsInitiateAll, CallsAccessMediaAll])
        .documented("docs:call-keepalive"),
    action(Mute, "call: mute (self)", "/{call-id}/mute")
        .returns(200, Response::Operation("microsoft.graph.muteParticipantOperation"))
        .checked_at_call_creation(&[CallsInitiateAll, CallsAccessMediaAll])
        .documented("docs:call-mute"),
    action(PlayPrompt, "call: playPrompt", "/{call-id}/playPrompt")
        .returns(200, Response::Operation("microsoft.graph.playPromptOperation"))
        .checked_at_call_creation(&[CallsInitiateAll, CallsAccessMediaAll])
        .documented("docs:call-playprompt"),
    action(Record, "call: record", "/{call-id}/record")
        .returns(200, Response::Operation("microsoft.graph.recordOperation"))
        .permissions(&[CallsAccessMediaAll])
        .inferred("CSDL-b21; beta SDK record_post_request_body.py")
        .beta_only(),
    action(RecordResponse, "call: recordResponse", "/{call-id}/recordResponse")
        .returns(200, Response::Operation("microsoft.graph.recordOperation"))
        .permissions(&[CallsAccessMediaAll])
        .documented("docs:call-record"),
    action(Redirect, "call: redirect", "/{call-id}/redirect")
        .returns(202, Response::Empty)
        .permissions(&[CallsInitiateAll])
        .documented("docs:call-redirect"),
    action(Reject, "call: reject", "/{call-id}/reject")
        .returns(202, Response::Empty)
        .checked_at_call_creation(&[])
        .documented("docs:call-reject"),
    action(SendDtmfTones, "call: sendDtmfTones", "/{call-id}/sendDtmfTones")
        .returns(200, Response::Operation("microsoft.graph.sendDtmfTonesOperation"))
        .permissions(&[CallsInitiateAll, CallsAccessMediaAll])
        .documented("docs:call-senddtmftones"),
    action(StartRecording, "call: startRecording", "/{call-id}/startRecording")
        .returns(200, Response::Operation("microsoft.graph.startRecordingOperation"))
        .checked_at_call_creation(ANY_CALLS)
        .inferred("beta SDK start_recording_post_request_body.py")
        .beta_only(),
    action(StopRecording, "call: stopRecording", "/{call-id}/stopRecording")
        .returns(200, Response::Operation("microsoft.graph.stopRecordingOperation"))
        .checked_at_call_creation(ANY_CALLS)
        .inferred("beta SDK stop_recording_request_builder.py")
        .beta_only(),
    action(StartTranscription, "call: startTranscription", "/{call-id}/startTranscription")
        .returns(200, Response::Operation("microsoft.graph.startTranscriptionOperation"))
        .checked_at_call_creation(ANY_CALLS)
        .inferred("beta SDK start_transcription_request_builder.py")
        .beta_only(),
    action(StopTranscription, "call: stopTranscription", "/{call-id}/stopTranscription")
        .returns(200, Response::Operation("microsoft.graph.stopTranscriptionOperation"))
        .checked_at_call_creation(ANY_CALLS)
        .inferred("beta SDK stop_transcription_request_builder.py")
        .beta_only(),
    action(SubscribeToTone, "call: subscribeToTone", "/{call-id}/subscribeToTone")
        .returns(200, Response::Operation("microsoft.graph.subscribeToToneOperation"))
        .permissions(&[CallsAccessMediaAll])
        .documented("docs:call-subscribetotone"),
    action(Transfer, "call: transfer", "/{call-id}/transfer")
        .returns(202, Response::Empty)
        .permissions(&[CallsInitiateAll])
        .documented("docs:call-transfer"),
    action(Unmute, "call: unmute (self)", "/{call-id}/unmute")
        .returns(200, Response::Operation("microsoft.graph.unmuteParticipantOperation"))
        .checked_at_call_creation(&[CallsAccessMediaAll, CallsInitiateAll])
        .inferred("res:call; PERM-2022"),
    action(UpdateRecordingStatus, "call: updateRecordingStatus", "/{call-id}/updateRecordingStatus")
        .returns(200, Response::Operation("microsoft.graph.updateRecordingStatusOperation"))
        .permissions(&[CallsJoinGroupCallAll, CallsAccessMediaAll])
        .documented("docs:call-updaterecordingstatus"),
    // ---- audio routing groups ----------------------------------------------------------------------------------
    get(ListAudioRoutingGroups, "audioRoutingGroups: list", Kind::Collection, "/{call-id}/audioRoutingGroups")
        .returns(200, Response::Collection(AUDIO_ROUTING_GROUP))
        .permissions(&[CallsInitiateGroupCallAll, CallsJoinGroupCallAll])
        .inferred("res:call; PERM-2022"),
    post(CreateAudioRoutingGroup, "audioRoutingGroups: create", Kind::Collection, "/{call-id}/audioRoutingGroups")
        .returns(200, Response::Entity(AUDIO_ROUTING_GROUP))
        .permissions(&[CallsJoinGroupCallAll, CallsInitiateGroupCallAll])
        .documented("docs:call-post-audioroutinggroups"),
    get(CountAudioRoutingGroups, "audioRoutingGroups: count", Kind::Count, "/{call-id}/audioRoutingGroups/$count")
        .returns(200, Response::Count),
    get(
        GetAudioRoutingGroup,
        "audioRoutingGroup: get",
        Kind::Entity,
        "/{call-id}/audioRoutingGroups/{audioRoutingGroup-id}",
    )
    .returns(200, Response::Entity(AUDIO_ROUTING_GROUP))
    .permissions(&[CallsInitiateGroupCallAll, CallsJoinGroupCallAll])
    .inferred("res:audioroutinggroup; PERM-2022"),
    patch(UpdateAudioRoutingGroup, "audioRoutingGroup: update", "/{call-id}/audioRoutingGroups/{audioRoutingGroup-id}")
        .returns(200, Response::Entity(AUDIO_ROUTING_GROUP))
        .permissions(&[CallsInitiateGroupCallAll, CallsJoinGroupCallAll])
        .inferred("res:audioroutinggroup (\"Update receivers list\"); PERM-2022"),
    delete(
        DeleteAudioRoutingGroup,
        "audioRoutingGroup: delete",
        "/{call-id}/audioRoutingGroups/{audioRoutingGroup-id}",
    )
    .permissions(&[CallsInitiateGroupCallAll, CallsJoinGroupCallAll])
    .inferred("res:audioroutinggroup; PERM-2022"),
    // ---- content sharing sessions -------------------------------------------------------------------------------
    get(
        ListContentSharingSessions,
        "contentSharingSessions: list",
        Kind::Collection,
        "/{call-id}/contentSharingSessions",
    )
    .returns(200, Response::Collection(CONTENT_SHARING_SESSION))
    .permissions(&[CallsInitiateAll, CallsInitiateGroupCallAll, CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
    .inferred("PERM-2022; Calls.Initiate.All permission page"),
    post(
        CreateContentSharingSession,
        "contentSharingSessions: create",
        Kind::Collection,
        "/{call-id}/contentSharingSessions",
    )
    .returns(201, Response::Entity(CONTENT_SHARING_SESSION)),
    get(
        CountContentSharingSessions,
        "contentSharingSessions: count",
        Kind::Count,
        "/{call-id}/contentSharingSessions/$count",
    )
    .returns(200, Response::Count),
    get(
        GetContentSharingSession,
        "contentSharingSession: get",
        Kind::Entity,
        "/{call-id}/contentSharingSessions/{contentSharingSession-id}",
    )
    .returns(200, Response::Entity(CONTENT_SHARING_SESSION))
    .permissions(&[CallsInitiateAll, CallsInitiateGroupCallAll, CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
    .inferred("PERM-2022; Calls.Initiate.All permission page"),
    patch(
        UpdateContentSharingSession,
        "contentSharingSession: update",
        "/{call-id}/contentSharingSessions/{contentSharingSession-id}",
    )
    .returns(200, Response::Entity(CONTENT_SHARING_SESSION)),
    delete(
        DeleteContentSharingSession,
        "contentSharingSession: delete",
        "/{call-id}/contentSharingSessions/{contentSharingSession-id}",
    ),
    get(
        GetPngOfCurrentSlide,
        "contentSharingSession: pngOfCurrentSlide",
        Kind::Stream,
        "/{call-id}/contentSharingSessions/{contentSharingSession-id}/pngOfCurrentSlide",
    )
    .returns(200, Response::Binary)
    .permissions(&[CallsInitiateAll, CallsInitiateGroupCallAll, CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
    .inferred("beta SDK png_of_current_slide_request_builder.py")
    .beta_only(),
    endpoint(
        UpdatePngOfCurrentSlide,
        "contentSharingSession: upload pngOfCurrentSlide",
        Method::Put,
        Kind::Stream,
        "/{call-id}/contentSharingSessions/{contentSharingSession-id}/pngOfCurrentSlide",
    )
    .returns(200, Response::Entity(CONTENT_SHARING_SESSION))
    .beta_only(),
    // ---- operations --------------------------------------------------------------------------------------------
    get(ListOperations, "operations: list", Kind::Collection, "/{call-id}/operations")
        .returns(200, Response::Collection("microsoft.graph.commsOperation")),
    post(CreateOperation, "operations: create", Kind::Collection, "/{call-id}/operations")
        .returns(201, Response::Entity("microsoft.graph.commsOperation")),
    get(CountOperations, "operations: count", Kind::Count, "/{call-id}/operations/$count")
        .returns(200, Response::Count),
    // The Location header of every operation response points here (docs:call-playprompt …), so a bot may poll it.
    get(GetOperation, "operation: get", Kind::Entity, "/{call-id}/operations/{commsOperation-id}")
        .returns(200, Response::Entity("microsoft.graph.commsOperation"))
        .checked_at_call_creation(ANY_CALLS)
        .inferred("res:commsoperation; Location headers of docs:call-playprompt and others"),
    patch(UpdateOperation, "operation: update", "/{call-id}/operations/{commsOperation-id}")
        .returns(200, Response::Entity("microsoft.graph.commsOperation")),
    delete(DeleteOperation, "operation: delete", "/{call-id}/operations/{commsOperation-id}"),
    // ---- participants ------------------------------------------------------------------------------------------
    get(ListParticipants, "participants: list", Kind::Collection, "/{call-id}/participants")
        .returns(200, Response::Collection(PARTICIPANT))
        .checked_at_call_creation(&[CallsAccessMediaAll, CallsInitiateAll])
        .inferred("res:participant; PERM-2022"),
    post(CreateParticipant, "participants: create", Kind::Collection, "/{call-id}/participants")
        .returns(201, Response::Entity(PARTICIPANT)),
    get(CountParticipants, "participants: count", Kind::Count, "/{call-id}/participants/$count")
        .returns(200, Response::Count),
    get(GetParticipant, "participant: get", Kind::Entity, "/{call-id}/participants/{participant-id}")
        .returns(200, Response::Entity(PARTICIPANT))
        .checked_at_call_creation(&[CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
        .inferred("res:participant; PERM-2022"),
    patch(UpdateParticipant, "participant: update", "/{call-id}/participants/{participant-id}")
        .returns(200, Response::Entity(PARTICIPANT)),
    delete(DeleteParticipant, "participant: delete", "/{call-id}/participants/{participant-id}")
        .permissions(&[CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
        .documented("docs:participant-delete"),
    action(InviteParticipants, "participants: invite", "/{call-id}/participants/invite")
        .returns(200, Response::Operation("microsoft.graph.inviteParticipantsOperation"))
        .permissions(&[CallsInitiateGroupCallAll])
        .documented("docs:participant-invite"),
    action(MuteAllParticipants, "participants: muteAll", "/{call-id}/participants/muteAll")
        .returns(200, Response::Operation("microsoft.graph.muteParticipantsOperation"))
        .permissions(&[CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
        .inferred("CSDL-b21; PERM-2022")
        .beta_only(),
    action(AdmitAllFromLobby, "participants: admitAllFromLobby", "/{call-id}/participants/admitAllFromLobby")
        .returns(200, Response::Operation("microsoft.graph.admitAllFromLobbyOperation"))
        .permissions(&[CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
        .inferred("beta SDK admit_all_from_lobby_post_request_body.py")
        .beta_only(),
    action(MuteParticipant, "participant: mute", "/{call-id}/participants/{participant-id}/mute")
        .returns(200, Response::Operation("microsoft.graph.muteParticipantOperation"))
        .checked_at_call_creation(&[CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
        .documented("docs:participant-mute (permissions: PERM-2022)"),
    // The seed pages (beta startHoldMusic/stopHoldMusic) list JoinGroupCallAsGuest/JoinGroupCall; older pages
    // said "None": either way nothing is checked beyond the call's own permissions.
    action(StartHoldMusic, "participant: startHoldMusic", "/{call-id}/participants/{participant-id}/startHoldMusic")
        .returns(202, Response::Operation("microsoft.graph.startHoldMusicOperation"))
        .checked_at_call_creation(&[CallsJoinGroupCallAsGuestAll, CallsJoinGroupCallAll])
        .documented("docs:participant-startholdmusic"),
    action(StopHoldMusic, "participant: stopHoldMusic", "/{call-id}/participants/{participant-id}/stopHoldMusic")
        .returns(202, Response::Operation("microsoft.graph.stopHoldMusicOperation"))
        .checked_at_call_creation(&[CallsJoinGroupCallAsGuestAll, CallsJoinGroupCallAll])
        .documented("docs:participant-stopholdmusic"),
    action(AdmitFromLobby, "participant: admitFromLobby", "/{call-id}/participants/{participant-id}/admitFromLobby")
        .returns(200, Response::Operation("microsoft.graph.admitFromLobbyOperation"))
        .permissions(&[CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
        .inferred("beta SDK admit_from_lobby_post_request_body.py")
        .beta_only(),
    action(RemoveFromLobby, "participant: removeFromLobby", "/{call-id}/participants/{participant-id}/removeFromLobby")
        .returns(200, Response::Operation("microsoft.graph.removeFromLobbyOperation"))
        .permissions(&[CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll])
        .inferred("beta SDK remove_from_lobby_request_builder.py")
        .beta_only(),
    action(
        ReportSyntheticMedia,
        "participant: reportSyntheticMedia",
        "/{call-id}/participants/{participant-id}/reportSyntheticMedia",
    )
    .returns(204, Response::Empty)
    .checked_at_call_creation(ANY_CALLS)
    .inferred("beta SDK report_synthetic_media_post_request_body.py (response not read; 204 assumed)")
    .beta_only(),
];
