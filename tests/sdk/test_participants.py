"""The people in a call through the official SDKs: the roster, invitations, removal, mute, hold music, a meeting's
lobby, audio routing groups and content sharing, including the requests of the documentation pages in shared/reference/seeds (call
mute, participant startHoldMusic, stopHoldMusic and delete)."""

import uuid

import pytest
from conftest import beta_client, run, v1_client
from msgraph.generated.communications.calls.item.mute.mute_post_request_body import MutePostRequestBody
from msgraph.generated.communications.calls.item.participants.invite.invite_post_request_body import InvitePostRequestBody
from msgraph.generated.communications.calls.item.participants.item.start_hold_music.start_hold_music_post_request_body import (
    StartHoldMusicPostRequestBody,
)
from msgraph.generated.communications.calls.item.participants.item.stop_hold_music.stop_hold_music_post_request_body import (
    StopHoldMusicPostRequestBody,
)
from msgraph.generated.models.audio_routing_group import AudioRoutingGroup
from msgraph.generated.models.call import Call
from msgraph.generated.models.identity import Identity
from msgraph.generated.models.identity_set import IdentitySet
from msgraph.generated.models.invitation_participant_info import InvitationParticipantInfo
from msgraph.generated.models.invite_participants_operation import InviteParticipantsOperation
from msgraph.generated.models.media_info import MediaInfo
from msgraph.generated.models.media_prompt import MediaPrompt
from msgraph.generated.models.modality import Modality
from msgraph.generated.models.mute_participant_operation import MuteParticipantOperation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.operation_status import OperationStatus
from msgraph.generated.models.outgoing_call_options import OutgoingCallOptions
from msgraph.generated.models.participant import Participant
from msgraph.generated.models.routing_mode import RoutingMode
from msgraph.generated.models.service_hosted_media_config import ServiceHostedMediaConfig
from msgraph.generated.models.start_hold_music_operation import StartHoldMusicOperation
from test_calls_lifecycle import answers, parse, sim_server, to, world  # noqa: F401 (fixtures)

CONTEXT = "d45324c1-fcb5-430a-902c-f20af696537c"


async def group_call(world, graph, *names, call_options=None):
    """An established group call with these simulated users; returns the call id and {name: participant id}."""
    users = {name: world.user(name, answers(0)) for name in names}
    call = Call(
        callback_uri=world.callback,
        targets=[to(user) for user in users.values()],
        requested_modalities=[Modality.Audio],
        media_config=ServiceHostedMediaConfig(),
        call_options=call_options,
    )
    created = await graph.communications.calls.post(call)
    world.advance(0)
    for _ in range(3 + 1 + len(names)):
        world.receiver.next()
    roster = await graph.communications.calls.by_call_id(created.id).participants.get()
    ids = {}
    for participant in roster.value:
        user = participant.info.identity.user
        if user is not None:
            ids[next(name for name, uid in users.items() if uid == user.id)] = participant.id
    return created.id, ids


def next_roster(world):
    _, notification = world.receiver.next()
    assert notification["resourceUrl"].endswith("/participants"), notification
    return [parse(p, Participant) for p in notification["resourceData"]]


def test_the_roster_and_an_invitation_through_the_sdk(world):
    async def scenario():
        graph = v1_client(world.server)
        call_id, ids = await group_call(world, graph, "A", "B")
        call = graph.communications.calls.by_call_id(call_id)
        roster = await call.participants.get()
        assert len(roster.value) == 3 and all(isinstance(p, Participant) for p in roster.value)
        a = await call.participants.by_participant_id(ids["A"]).get()
        assert a.info.identity.user.display_name == "A" and a.is_muted is False and a.is_in_lobby is False
        assert a.media_streams[0].server_muted is False

        c = world.user("C", answers(1000))
        invitation = InvitePostRequestBody(participants=[to(c)], client_context=CONTEXT)
        operation = await call.participants.invite.post(invitation)
        assert isinstance(operation, InviteParticipantsOperation)
        assert operation.status == OperationStatus.Running and operation.client_context == CONTEXT
        world.advance(1)
        _, completed = world.receiver.next()
        done = parse(completed["resourceData"], InviteParticipantsOperation)
        assert done.status == OperationStatus.Completed and done.client_context == CONTEXT
        assert any(p.info.identity.user and p.info.identity.user.id == c for p in next_roster(world))

        with pytest.raises(ODataError) as raised:
            await call.participants.invite.post(invitation)
        assert raised.value.response_status_code == 400, "the same identity cannot be invited twice"

    run(scenario())


def test_the_documented_mute_request(world):
    """shared/reference/seeds: call mute (self), `{"clientContext": "clientContext-value"}`."""

    async def scenario():
        graph = v1_client(world.server)
        call_id, _ = await group_call(world, graph, "A", "B")
        operation = await graph.communications.calls.by_call_id(call_id).mute.post(
            MutePostRequestBody(client_context="clientContext-value")
        )
        assert isinstance(operation, MuteParticipantOperation)
        assert operation.status == OperationStatus.Completed and operation.client_context == "clientContext-value"
        bot = next_roster(world)[0]
        assert bot.info.identity.application is not None and bot.is_muted is True

    run(scenario())


def test_the_documented_hold_music_requests(world):
    """shared/reference/seeds: participant startHoldMusic (v1.0) and stopHoldMusic (beta), as the pages send them."""
    from msgraph_beta.generated.communications.calls.item.participants.item.stop_hold_music.stop_hold_music_post_request_body import (
        StopHoldMusicPostRequestBody as BetaStopHoldMusicPostRequestBody,
    )
    from msgraph_beta.generated.models.stop_hold_music_operation import StopHoldMusicOperation as BetaStopHoldMusicOperation

    async def scenario():
        graph = v1_client(world.server)
        call_id, ids = await group_call(world, graph, "A", "B")
        participant = graph.communications.calls.by_call_id(call_id).participants.by_participant_id(ids["A"])
        prompt = MediaPrompt(media_info=MediaInfo(uri="https://bot.contoso.com/onHold.wav"))
        operation = await participant.start_hold_music.post(
            StartHoldMusicPostRequestBody(custom_prompt=prompt, client_context=CONTEXT)
        )
        assert isinstance(operation, StartHoldMusicOperation) and operation.status == OperationStatus.Running
        _, finished = world.receiver.next()
        assert finished["changeType"] == "deleted"
        done = parse(finished["resourceData"], StartHoldMusicOperation)
        assert done.status == OperationStatus.Completed and done.client_context == CONTEXT

        beta = beta_client(world.server)
        beta_participant = beta.communications.calls.by_call_id(call_id).participants.by_participant_id(ids["A"])
        stopped = await beta_participant.stop_hold_music.post(BetaStopHoldMusicPostRequestBody(client_context=CONTEXT))
        assert isinstance(stopped, BetaStopHoldMusicOperation)
        _, finished = world.receiver.next()
        assert finished["resourceData"]["@odata.type"] == "#microsoft.graph.stopHoldMusicOperation"
        assert finished["resourceData"]["status"] == "completed"

        other = graph.communications.calls.by_call_id(call_id).participants.by_participant_id(ids["B"])
        await other.stop_hold_music.post(StopHoldMusicPostRequestBody(client_context=CONTEXT))
        world.receiver.next()

    run(scenario())


def test_the_documented_participant_delete_requests(world):
    """shared/reference/seeds: participant delete (beta), an active participant and a cancelled invitation."""
    from msgraph_beta.generated.communications.calls.item.participants.invite.invite_post_request_body import (
        InvitePostRequestBody as BetaInvite,
    )
    from msgraph_beta.generated.models.identity import Identity as BetaIdentity
    from msgraph_beta.generated.models.identity_set import IdentitySet as BetaIdentitySet
    from msgraph_beta.generated.models.invitation_participant_info import InvitationParticipantInfo as BetaTarget

    async def scenario():
        graph = v1_client(world.server)
        call_id, ids = await group_call(world, graph, "A", "B")
        beta = beta_client(world.server)
        participants = beta.communications.calls.by_call_id(call_id).participants
        assert await participants.by_participant_id(ids["A"]).delete() is None
        remaining = next_roster(world)
        assert ids["A"] not in [p.id for p in remaining]

        ringer = world.user("Ringer", {"response": {"kind": "ring"}})
        invitation = BetaTarget(
            identity=BetaIdentitySet(user=BetaIdentity(id=ringer, additional_data={"identityProvider": "AAD"})),
            participant_id="a7ebfb2d-871e-419c-87af-27290b22e8db",
        )
        await participants.invite.post(BetaInvite(participants=[invitation], client_context="f2fa86af-3c51-4bc2-8fc0-475452d9764f"))
        await participants.by_participant_id("a7ebfb2d-871e-419c-87af-27290b22e8db").delete()
        _, cancelled = world.receiver.next()
        assert cancelled["resourceData"]["status"] == "failed", "the outstanding invitation is cancelled"

    run(scenario())


def test_audio_routing_groups_and_content_sharing_through_the_sdk(world):
    async def scenario():
        graph = v1_client(world.server)
        options = OutgoingCallOptions(is_content_sharing_notification_enabled=True)
        call_id, ids = await group_call(world, graph, "A", "B", call_options=options)
        groups = graph.communications.calls.by_call_id(call_id).audio_routing_groups
        created = await groups.post(
            AudioRoutingGroup(id="oneToOne", routing_mode=RoutingMode.OneToOne, sources=[ids["A"]], receivers=[ids["B"]])
        )
        assert created.id == "oneToOne" and created.routing_mode == RoutingMode.OneToOne
        assert [g.id for g in (await groups.get()).value] == ["oneToOne"]
        updated = await groups.by_audio_routing_group_id("oneToOne").patch(AudioRoutingGroup(receivers=[ids["A"]]))
        assert updated.receivers == [ids["A"]]
        await groups.by_audio_routing_group_id("oneToOne").delete()
        with pytest.raises(ODataError) as raised:
            await groups.by_audio_routing_group_id("oneToOne").get()
        assert raised.value.response_status_code == 404

        world.request("POST", f"/_sim/calls/{call_id}/participants/{ids['B']}/startSharing")
        _, created = world.receiver.next()
        assert created["changeType"] == "created" and created["resourceUrl"].endswith("/contentsharingsessions")
        sessions = await graph.communications.calls.by_call_id(call_id).content_sharing_sessions.get()
        assert [s.id for s in sessions.value] == [created["resourceData"][0]["id"]]

    run(scenario())


def test_beta_mute_all(world):
    from msgraph_beta.generated.communications.calls.item.participants.mute_all.mute_all_post_request_body import (
        MuteAllPostRequestBody,
    )
    from msgraph_beta.generated.models.operation_status import OperationStatus as BetaOperationStatus

    async def scenario():
        graph = v1_client(world.server)
        call_id, ids = await group_call(world, graph, "A", "B")
        beta = beta_client(world.server)
        operation = await beta.communications.calls.by_call_id(call_id).participants.mute_all.post(
            MuteAllPostRequestBody(client_context=str(uuid.uuid4()))
        )
        assert operation.status == BetaOperationStatus.Completed
        assert sorted(operation.participants) == sorted(ids.values())
        muted = next_roster(world)
        assert [p.is_muted for p in muted] == [False, True, True]

    run(scenario())


async def beta_action(client, path, body):
    """POSTs a beta action the published beta SDK has no request builder for (admitFromLobby, removeFromLobby,
    admitAllFromLobby are in the beta metadata but not in msgraph-beta-sdk yet), through the SDK's own adapter:
    the SDK's authentication, headers and error handling, its CommsOperation model for the answer."""
    import json

    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation
    from msgraph_beta.generated.models.comms_operation import CommsOperation
    from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError as BetaODataError

    adapter = client.request_adapter
    request = RequestInformation(Method.POST)
    request.url = f"{adapter.base_url}/communications/calls/{path}"
    request.headers.try_add("Accept", "application/json")
    request.set_stream_content(json.dumps(body).encode(), "application/json")
    errors = {"XXX": BetaODataError}
    return await adapter.send_async(request, CommsOperation, errors)


def test_a_meeting_lobby_through_the_beta_sdk(world):
    from msgraph_beta.generated.models.call import Call as BetaCall
    from msgraph_beta.generated.models.join_meeting_id_meeting_info import JoinMeetingIdMeetingInfo
    from msgraph_beta.generated.models.modality import Modality as BetaModality
    from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError as BetaODataError
    from msgraph_beta.generated.models.service_hosted_media_config import (
        ServiceHostedMediaConfig as BetaServiceHostedMediaConfig,
    )

    async def scenario():
        organizer = world.user("Organizer", answers(0))
        meeting = world.request(
            "POST",
            "/_sim/meetings",
            {"organizerId": organizer, "attendees": [{"userId": organizer}], "lobbyBypass": "organization"},
        )
        beta = beta_client(world.server)
        joined = await beta.communications.calls.post(
            BetaCall(
                callback_uri=world.callback,
                requested_modalities=[BetaModality.Audio],
                media_config=BetaServiceHostedMediaConfig(),
                meeting_info=JoinMeetingIdMeetingInfo(join_meeting_id=meeting["joinMeetingId"]),
            )
        )
        for _ in range(4):
            world.receiver.next()

        def guest_joins(name):
            guest = world.request("POST", "/_sim/users", {"displayName": name, "guest": True})["id"]
            world.request("POST", f"/_sim/meetings/{meeting['id']}/join", {"userId": guest})
            roster = next_roster(world)
            entry = next(p for p in roster if p.info.identity.user and p.info.identity.user.id == guest)
            assert entry.is_in_lobby is True, "a guest waits in an organization-only lobby"
            return entry.id

        waiting = guest_joins("Guest")
        admitted = await beta_action(beta, f"{joined.id}/participants/{waiting}/admitFromLobby", {"clientContext": CONTEXT})
        assert admitted.odata_type == "#microsoft.graph.admitFromLobbyOperation" and admitted.client_context == CONTEXT
        assert next(p for p in next_roster(world) if p.id == waiting).is_in_lobby is False

        turned_away = guest_joins("Unwanted")
        await beta_action(beta, f"{joined.id}/participants/{turned_away}/removeFromLobby", {})
        assert turned_away not in [p.id for p in next_roster(world)]
        with pytest.raises(BetaODataError) as raised:
            await beta_action(beta, f"{joined.id}/participants/{turned_away}/admitFromLobby", {})
        assert raised.value.response_status_code == 404

        first, second = guest_joins("First"), guest_joins("Second")
        await beta_action(beta, f"{joined.id}/participants/admitAllFromLobby", {})
        roster = {p.id: p.is_in_lobby for p in next_roster(world)}
        assert roster[first] is False and roster[second] is False

    run(scenario())
