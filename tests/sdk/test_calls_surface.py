"""Every request builder of the calls area in the official SDKs reaches Switchboard and gets an answer the SDK
understands: errors parse as ODataError with Graph's code, message and innerError. On a call that does not exist,
every operation answers Graph's 404 (the other SDK tests drive them through real calls)."""

import uuid

import pytest
from conftest import beta_client, run, v1_client
from msgraph.generated.communications.calls.item.add_large_gallery_view.add_large_gallery_view_post_request_body import (
    AddLargeGalleryViewPostRequestBody,
)
from msgraph.generated.communications.calls.item.answer.answer_post_request_body import AnswerPostRequestBody
from msgraph.generated.communications.calls.item.cancel_media_processing.cancel_media_processing_post_request_body import (
    CancelMediaProcessingPostRequestBody,
)
from msgraph.generated.communications.calls.item.change_screen_sharing_role.change_screen_sharing_role_post_request_body import (
    ChangeScreenSharingRolePostRequestBody,
)
from msgraph.generated.communications.calls.item.mute.mute_post_request_body import MutePostRequestBody
from msgraph.generated.communications.calls.item.participants.invite.invite_post_request_body import InvitePostRequestBody
from msgraph.generated.communications.calls.item.participants.item.start_hold_music.start_hold_music_post_request_body import (
    StartHoldMusicPostRequestBody,
)
from msgraph.generated.communications.calls.item.participants.item.stop_hold_music.stop_hold_music_post_request_body import (
    StopHoldMusicPostRequestBody,
)
from msgraph.generated.communications.calls.item.play_prompt.play_prompt_post_request_body import PlayPromptPostRequestBody
from msgraph.generated.communications.calls.item.record_response.record_response_post_request_body import (
    RecordResponsePostRequestBody,
)
from msgraph.generated.communications.calls.item.redirect.redirect_post_request_body import RedirectPostRequestBody
from msgraph.generated.communications.calls.item.reject.reject_post_request_body import RejectPostRequestBody
from msgraph.generated.communications.calls.item.send_dtmf_tones.send_dtmf_tones_post_request_body import (
    SendDtmfTonesPostRequestBody,
)
from msgraph.generated.communications.calls.item.subscribe_to_tone.subscribe_to_tone_post_request_body import (
    SubscribeToTonePostRequestBody,
)
from msgraph.generated.communications.calls.item.transfer.transfer_post_request_body import TransferPostRequestBody
from msgraph.generated.communications.calls.item.unmute.unmute_post_request_body import UnmutePostRequestBody
from msgraph.generated.communications.calls.item.update_recording_status.update_recording_status_post_request_body import (
    UpdateRecordingStatusPostRequestBody,
)
from msgraph.generated.communications.calls.log_teleconference_device_quality.log_teleconference_device_quality_post_request_body import (
    LogTeleconferenceDeviceQualityPostRequestBody,
)
from msgraph.generated.models.audio_routing_group import AudioRoutingGroup
from msgraph.generated.models.call import Call
from msgraph.generated.models.call_state import CallState
from msgraph.generated.models.identity import Identity
from msgraph.generated.models.identity_set import IdentitySet
from msgraph.generated.models.invitation_participant_info import InvitationParticipantInfo
from msgraph.generated.models.media_info import MediaInfo
from msgraph.generated.models.media_prompt import MediaPrompt
from msgraph.generated.models.modality import Modality
from msgraph.generated.models.participant import Participant
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.recording_status import RecordingStatus
from msgraph.generated.models.reject_reason import RejectReason
from msgraph.generated.models.routing_mode import RoutingMode
from msgraph.generated.models.screen_sharing_role import ScreenSharingRole
from msgraph.generated.models.service_hosted_media_config import ServiceHostedMediaConfig
from msgraph.generated.models.teleconference_device_quality import TeleconferenceDeviceQuality
from msgraph.generated.models.tone import Tone

CALLBACK = "https://bot.example.com/callback"

def target():
    return InvitationParticipantInfo(identity=IdentitySet(user=Identity(id=str(uuid.uuid4()), display_name="Alex")))


def prompt():
    return MediaPrompt(media_info=MediaInfo(uri="https://bot.example.com/hello.wav", resource_id=str(uuid.uuid4())))


def v1_operations(graph):
    """(name, coroutine) for every v1.0 operation of the calls area the SDK offers."""
    call = graph.communications.calls.by_call_id("call-1")
    participant = call.participants.by_participant_id("participant-1")
    media = ServiceHostedMediaConfig()
    return [
        ("calls: create", graph.communications.calls.post(
            Call(callback_uri=CALLBACK, media_config=media, targets=[target()], requested_modalities=[Modality.Audio]))),
        ("call: get", call.get()),
        ("call: delete (hang up)", call.delete()),
        ("call: answer", call.answer.post(
            AnswerPostRequestBody(callback_uri=CALLBACK, media_config=media, accepted_modalities=[Modality.Audio]))),
        ("call: reject", call.reject.post(RejectPostRequestBody(reason=RejectReason.Busy))),
        ("call: redirect", call.redirect.post(RedirectPostRequestBody(targets=[target()], timeout=30))),
        ("call: transfer", call.transfer.post(TransferPostRequestBody(transfer_target=target()))),
        ("call: keepAlive", call.keep_alive.post()),
        ("call: mute (self)", call.mute.post(MutePostRequestBody(client_context="c"))),
        ("call: unmute (self)", call.unmute.post(UnmutePostRequestBody(client_context="c"))),
        ("call: playPrompt", call.play_prompt.post(PlayPromptPostRequestBody(prompts=[prompt()], client_context="c"))),
        ("call: recordResponse", call.record_response.post(
            RecordResponsePostRequestBody(prompts=[prompt()], max_record_duration_in_seconds=10, stop_tones=["#"]))),
        ("call: cancelMediaProcessing", call.cancel_media_processing.post(CancelMediaProcessingPostRequestBody(client_context="c"))),
        ("call: subscribeToTone", call.subscribe_to_tone.post(SubscribeToTonePostRequestBody(client_context="c"))),
        ("call: sendDtmfTones", call.send_dtmf_tones.post(SendDtmfTonesPostRequestBody(tones=[Tone.Tone1, Tone.Pound]))),
        ("call: changeScreenSharingRole", call.change_screen_sharing_role.post(
            ChangeScreenSharingRolePostRequestBody(role=ScreenSharingRole.Viewer))),
        ("call: updateRecordingStatus", call.update_recording_status.post(
            UpdateRecordingStatusPostRequestBody(status=RecordingStatus.Recording))),
        ("call: addLargeGalleryView", call.add_large_gallery_view.post(AddLargeGalleryViewPostRequestBody(client_context="c"))),
        ("participants: list", call.participants.get()),
        ("participants: invite", call.participants.invite.post(InvitePostRequestBody(participants=[target()], client_context="c"))),
        ("participant: get", participant.get()),
        ("participant: delete", participant.delete()),
        ("participant: mute", participant.mute.post(MutePostRequestBody(client_context="c"))),
        ("participant: startHoldMusic", participant.start_hold_music.post(StartHoldMusicPostRequestBody(custom_prompt=prompt()))),
        ("participant: stopHoldMusic", participant.stop_hold_music.post(StopHoldMusicPostRequestBody(client_context="c"))),
        ("operation: get", call.operations.by_comms_operation_id("operation-1").get()),
        ("audioRoutingGroups: list", call.audio_routing_groups.get()),
        ("audioRoutingGroups: create", call.audio_routing_groups.post(
            AudioRoutingGroup(routing_mode=RoutingMode.OneToOne, sources=["p1"], receivers=["p2"]))),
        ("audioRoutingGroup: get", call.audio_routing_groups.by_audio_routing_group_id("g1").get()),
        ("audioRoutingGroup: update", call.audio_routing_groups.by_audio_routing_group_id("g1").patch(AudioRoutingGroup(receivers=["p3"]))),
        ("audioRoutingGroup: delete", call.audio_routing_groups.by_audio_routing_group_id("g1").delete()),
        ("contentSharingSessions: list", call.content_sharing_sessions.get()),
        ("contentSharingSession: get", call.content_sharing_sessions.by_content_sharing_session_id("s1").get()),
    ]


async def expect_odata_error(coroutine):
    with pytest.raises(ODataError) as raised:
        await coroutine
    return raised.value


def assert_graph_error(error, status, code):
    assert error.response_status_code == status, (error.response_status_code, error.error.message)
    assert error.error.code == code, error.error.message
    inner = error.error.inner_error
    assert inner is not None and inner.request_id, "innerError carries the request-id"
    assert inner.date is not None, "innerError.date parses as a date"


def assert_unknown_call(name, error):
    assert_graph_error(error, 404, "8522")
    assert error.error.message.startswith("Call not found. Call 'call-1'"), (name, error.error.message)


def test_every_v1_operation_answers_the_sdk(server):
    async def scenario(server):
        graph = v1_client(server)
        for name, coroutine in v1_operations(graph):
            if name == "calls: create":
                created = await coroutine
                assert created.state == CallState.Establishing and created.id, "a new call"
                continue
            assert_unknown_call(name, await expect_odata_error(coroutine))

    run(scenario(server))


def test_beta_only_operations_through_the_beta_sdk(server):
    """The beta SDK's own request builders (1.66 no longer has the lobby actions; the HTTP tests cover them)."""
    from msgraph_beta.generated.communications.calls.item.participants.item.report_synthetic_media.report_synthetic_media_post_request_body import (
        ReportSyntheticMediaPostRequestBody,
    )
    from msgraph_beta.generated.communications.calls.item.participants.mute_all.mute_all_post_request_body import (
        MuteAllPostRequestBody,
    )
    from msgraph_beta.generated.communications.calls.item.record.record_post_request_body import RecordPostRequestBody
    from msgraph_beta.generated.communications.calls.item.start_recording.start_recording_post_request_body import (
        StartRecordingPostRequestBody,
    )
    from msgraph_beta.generated.communications.calls.item.start_transcription.start_transcription_post_request_body import (
        StartTranscriptionPostRequestBody,
    )
    from msgraph_beta.generated.communications.calls.item.stop_recording.stop_recording_post_request_body import (
        StopRecordingPostRequestBody,
    )
    from msgraph_beta.generated.communications.calls.item.stop_transcription.stop_transcription_post_request_body import (
        StopTranscriptionPostRequestBody,
    )
    from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError as BetaODataError

    async def scenario(server):
        graph = beta_client(server)
        call = graph.communications.calls.by_call_id("call-1")
        participant = call.participants.by_participant_id("participant-1")
        operations = [
            ("call: record", call.record.post(RecordPostRequestBody(max_record_duration_in_seconds=5))),
            ("call: startRecording", call.start_recording.post(StartRecordingPostRequestBody(client_context="c"))),
            ("call: stopRecording", call.stop_recording.post(StopRecordingPostRequestBody(client_context="c"))),
            ("call: startTranscription", call.start_transcription.post(StartTranscriptionPostRequestBody(language="en-US"))),
            ("call: stopTranscription", call.stop_transcription.post(StopTranscriptionPostRequestBody(language="en-US"))),
            ("participants: muteAll", call.participants.mute_all.post(MuteAllPostRequestBody(participants=["p1"]))),
            ("participant: reportSyntheticMedia", participant.report_synthetic_media.post(
                ReportSyntheticMediaPostRequestBody(is_malicious=False))),
        ]
        for name, coroutine in operations:
            with pytest.raises(BetaODataError) as raised:
                await coroutine
            assert_unknown_call(name, raised.value)

    run(scenario(server))


def test_operations_graph_does_not_have_are_refused_with_405(server):
    async def scenario(server):
        graph = v1_client(server)
        call = graph.communications.calls.by_call_id("call-1")
        refused = [
            graph.communications.calls.get(),
            graph.communications.calls.count.get(),
            call.patch(Call(subject="renamed")),
            call.operations.get(),
            call.participants.by_participant_id("p1").patch(Participant(is_muted=True)),
        ]
        for coroutine in refused:
            error = await expect_odata_error(coroutine)
            assert_graph_error(error, 405, "methodNotAllowed")

    run(scenario(server))


def test_invalid_bodies_are_graph_bad_requests(server):
    async def scenario(server):
        graph = v1_client(server)
        call = graph.communications.calls.by_call_id("call-1")
        error = await expect_odata_error(call.play_prompt.post(PlayPromptPostRequestBody(prompts=[prompt()] * 21)))
        assert_graph_error(error, 400, "BadRequest")
        assert "'prompts' has 21 entries" in error.error.message
        error = await expect_odata_error(call.mute.post(MutePostRequestBody(client_context="x" * 300)))
        assert_graph_error(error, 400, "BadRequest")
        assert "at most 256" in error.error.message
        error = await expect_odata_error(call.answer.post(
            AnswerPostRequestBody(callback_uri="http://bot.example.com/cb", media_config=ServiceHostedMediaConfig(),
                                  accepted_modalities=[Modality.Audio])))
        assert_graph_error(error, 400, "BadRequest")
        assert "must be https" in error.error.message

    run(scenario(server))


def test_log_teleconference_device_quality_succeeds(server):
    async def scenario(server):
        graph = v1_client(server)
        quality = TeleconferenceDeviceQuality(call_chain_id=uuid.uuid4(), device_name="Room 4", participant_id=uuid.uuid4())
        result = await graph.communications.calls.log_teleconference_device_quality.post(
            LogTeleconferenceDeviceQualityPostRequestBody(quality=quality))
        assert result is None, "200 with no body"

    run(scenario(server))
