"""The core call scenarios through the official Graph SDKs, as a bot runs them: the SDK places, answers, rejects,
redirects, transfers and hangs up calls; a webhook receiver on loopback gets the notifications, whose resource data
parse into the SDK's own models; the virtual clock stands in for waiting."""

import json
import queue
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import DEV_APP, Server, beta_client, run, v1_client
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.generated.communications.calls.item.add_large_gallery_view.add_large_gallery_view_post_request_body import (
    AddLargeGalleryViewPostRequestBody,
)
from msgraph.generated.communications.calls.item.answer.answer_post_request_body import AnswerPostRequestBody
from msgraph.generated.communications.calls.item.mute.mute_post_request_body import MutePostRequestBody
from msgraph.generated.communications.calls.item.redirect.redirect_post_request_body import RedirectPostRequestBody
from msgraph.generated.communications.calls.item.reject.reject_post_request_body import RejectPostRequestBody
from msgraph.generated.communications.calls.item.transfer.transfer_post_request_body import TransferPostRequestBody
from msgraph.generated.models.add_large_gallery_view_operation import AddLargeGalleryViewOperation
from msgraph.generated.models.call import Call
from msgraph.generated.models.call_direction import CallDirection
from msgraph.generated.models.call_state import CallState
from msgraph.generated.models.identity import Identity
from msgraph.generated.models.identity_set import IdentitySet
from msgraph.generated.models.invitation_participant_info import InvitationParticipantInfo
from msgraph.generated.models.media_state import MediaState
from msgraph.generated.models.modality import Modality
from msgraph.generated.models.mute_participant_operation import MuteParticipantOperation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.operation_status import OperationStatus
from msgraph.generated.models.participant import Participant
from msgraph.generated.models.reject_reason import RejectReason
from msgraph.generated.models.service_hosted_media_config import ServiceHostedMediaConfig
from msgraph.generated.models.token_meeting_info import TokenMeetingInfo


class Receiver:
    """The bot's webhook: every POST is queued, and answered 202 as the Graph SDK's stateful bots do."""

    def __init__(self):
        self.received = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.put((self.path, dict(self.headers), json.loads(body)))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def next(self):
        """The next notification: (path, the commsNotification)."""
        try:
            path, _, body = self.received.get(timeout=20)
        except queue.Empty:
            raise AssertionError("no notification arrived within 20 s") from None
        return path, body["value"][0]

    def states(self, n):
        return [summary(self.next()[1]) for _ in range(n)]

    def stop(self):
        self.http.shutdown()


def summary(notification):
    data = notification["resourceData"]
    if notification["resourceUrl"].endswith("/participants"):
        return f"{notification['changeType']} participants"
    text = f"{notification['changeType']} {data.get('state', data.get('status'))}"
    if "mediaState" in data:
        text += f" audio {data['mediaState']['audio']}"
    # What live Graph tells about a peer-to-peer call's conversation once media flows (docs/fidelity.md).
    if "replacesContext" in data:
        text += " chat"
        if data.get("meetingInfo", {}).get("@odata.type") == "#microsoft.graph.tokenMeetingInfo":
            text += " token"
    return text


# A peer-to-peer call with a simulated user until it is established with media and its conversation announced.
USER_CALL_SETUP = [
    "updated establishing",
    "updated established",
    "updated established audio active",
    "updated established audio active chat",
    "updated established audio active chat token",
]


def parse(data, model):
    """Resource data through the SDK's own deserialiser."""
    node = JsonParseNodeFactory().get_root_parse_node("application/json", json.dumps(data).encode())
    return node.get_object_value(model)


@pytest.fixture(scope="module")
def sim_server():
    running = Server("--clock", "virtual")
    yield running
    running.stop()


class World:
    """The simulated world of one test: reset, with the dev app's webhook pointing at a fresh receiver."""

    def __init__(self, server):
        self.server = server
        self.receiver = Receiver()
        self.http = httpx.Client(base_url=server.base, verify=server.ssl_context())
        self.request("POST", "/_sim/reset")
        self.request("PATCH", f"/_admin/apps/{DEV_APP}", {"callingWebhook": f"{self.receiver.url}/incoming"})

    def request(self, method, path, body=None):
        response = self.http.request(method, path, json=body)
        assert response.is_success, response.text
        return response.json() if response.content else None

    def user(self, name, behaviour):
        return self.request("POST", "/_sim/users", {"displayName": name, "behaviour": behaviour})["id"]

    def advance(self, seconds):
        self.request("POST", "/_sim/clock/advance", {"seconds": seconds})

    @property
    def callback(self):
        return f"{self.receiver.url}/callback"


@pytest.fixture
def world(sim_server):
    created = World(sim_server)
    yield created
    created.receiver.stop()


def answers(after_ms, hang_up_after_ms=None):
    return {"response": {"kind": "answer", "afterMs": after_ms}, "hangUpAfterMs": hang_up_after_ms}


def to(user_id):
    return InvitationParticipantInfo(identity=IdentitySet(user=Identity(id=user_id)))


def new_call(world, *targets):
    return Call(
        callback_uri=world.callback,
        targets=list(targets),
        requested_modalities=[Modality.Audio],
        media_config=ServiceHostedMediaConfig(),
    )


def test_a_bot_places_a_call_that_rings_connects_and_hangs_up(world):
    async def scenario():
        graph = v1_client(world.server)
        alice = world.user("Alice", answers(3000))
        created = await graph.communications.calls.post(new_call(world, to(alice)))
        assert created.state == CallState.Establishing and created.direction == CallDirection.Outgoing
        assert created.targets[0].identity.user.id == alice

        path, establishing = world.receiver.next()
        assert path == "/callback" and establishing["changeType"] == "updated"
        assert parse(establishing["resourceData"], Call).state == CallState.Establishing
        world.advance(3)
        assert world.receiver.states(2) == USER_CALL_SETUP[1:3]
        _, chat = world.receiver.next()
        _, token = world.receiver.next()
        assert [summary(chat), summary(token)] == USER_CALL_SETUP[3:]
        # The SDK's models read both: the chat of a peer-to-peer call, then the conversation's token.
        assert parse(chat["resourceData"], Call).chat_info.thread_id.startswith("19:")
        assert isinstance(parse(token["resourceData"], Call).meeting_info, TokenMeetingInfo)
        current = await graph.communications.calls.by_call_id(created.id).get()
        assert current.state == CallState.Established and current.media_state.audio == MediaState.Active

        assert await graph.communications.calls.by_call_id(created.id).delete() is None
        assert world.receiver.states(1) == ["updated terminating"]
        _, terminated = world.receiver.next()
        ended = parse(terminated["resourceData"], Call)
        assert terminated["changeType"] == "deleted" and ended.state == CallState.Terminated
        assert (ended.result_info.code, ended.result_info.subcode) == (200, 5001)
        with pytest.raises(ODataError) as raised:
            await graph.communications.calls.by_call_id(created.id).get()
        assert raised.value.response_status_code == 404

    run(scenario())


def test_the_beta_sdk_sees_the_call_ring(world):
    from msgraph_beta.generated.models.call import Call as BetaCall
    from msgraph_beta.generated.models.call_state import CallState as BetaCallState
    from msgraph_beta.generated.models.identity import Identity as BetaIdentity
    from msgraph_beta.generated.models.identity_set import IdentitySet as BetaIdentitySet
    from msgraph_beta.generated.models.invitation_participant_info import InvitationParticipantInfo as BetaTarget
    from msgraph_beta.generated.models.modality import Modality as BetaModality
    from msgraph_beta.generated.models.service_hosted_media_config import ServiceHostedMediaConfig as BetaMedia

    async def scenario():
        graph = beta_client(world.server)
        bob = world.user("Bob", {"response": {"kind": "ring"}})
        call = BetaCall(
            callback_uri=world.callback,
            targets=[BetaTarget(identity=BetaIdentitySet(user=BetaIdentity(id=bob)))],
            requested_modalities=[BetaModality.Audio],
            media_config=BetaMedia(),
            ringing_timeout_in_seconds=30,
        )
        await graph.communications.calls.post(call)
        world.receiver.next()
        _, ringing = world.receiver.next()
        assert parse(ringing["resourceData"], BetaCall).state == BetaCallState.Ringing
        world.advance(30)
        _, ended = world.receiver.next()
        result = parse(ended["resourceData"], BetaCall).result_info
        assert (result.code, result.subcode) == (408, 10057)

    run(scenario())


def answer_body(world):
    return AnswerPostRequestBody(
        callback_uri=world.callback, accepted_modalities=[Modality.Audio], media_config=ServiceHostedMediaConfig()
    )


def incoming(world, caller):
    world.request("POST", "/_sim/calls", {"from": {"user": {"id": caller}}, "appId": DEV_APP})
    path, notification = world.receiver.next()
    assert path == "/incoming" and notification["changeType"] == "created"
    return parse(notification["resourceData"], Call)


def test_a_bot_answers_an_incoming_call(world):
    async def scenario():
        graph = v1_client(world.server)
        alice = world.user("Alice", answers(0, hang_up_after_ms=30000))
        call = incoming(world, alice)
        assert call.state == CallState.Incoming and call.direction == CallDirection.Incoming
        assert call.source.identity.user.id == alice and call.source.identity.user.display_name == "Alice"
        assert call.targets[0].identity.application.id == DEV_APP
        await graph.communications.calls.by_call_id(call.id).answer.post(answer_body(world))
        assert world.receiver.states(len(USER_CALL_SETUP)) == USER_CALL_SETUP
        world.advance(30)
        _, ended = world.receiver.next()
        result = parse(ended["resourceData"], Call).result_info
        assert (result.code, result.subcode) == (200, 5002), "Alice hung up"

    run(scenario())


def test_a_bot_rejects_or_redirects_incoming_calls(world):
    async def scenario():
        graph = v1_client(world.server)
        alice = world.user("Alice", answers(0))
        call = incoming(world, alice)
        await graph.communications.calls.by_call_id(call.id).reject.post(RejectPostRequestBody(reason=RejectReason.Busy))
        _, rejected = world.receiver.next()
        assert rejected["changeType"] == "deleted"
        # As live Graph: no @odata.id; the call's end as its terminated notifications carry it (docs/fidelity.md).
        assert rejected["resource"] == f"/app/calls/{call.id}"
        assert rejected["resourceData"]["state"] == "terminated" and "@odata.id" not in rejected["resourceData"]

        colleague = world.user("Colleague", answers(2000))
        call = incoming(world, alice)
        await graph.communications.calls.by_call_id(call.id).redirect.post(
            RedirectPostRequestBody(targets=[to(colleague)], callback_uri=world.callback)
        )
        world.advance(2)
        _, redirected = world.receiver.next()
        ended = parse(redirected["resourceData"], Call)
        assert redirected["changeType"] == "deleted" and ended.state == CallState.Terminated
        # answeredBy is beta-only in the CSDL, so the v1.0 SDK keeps it as additional data (docs:call-redirect shows it).
        assert str(ended.additional_data["answeredBy"]["identity"]["user"]["id"]) == colleague

        call = incoming(world, alice)
        world.advance(15)
        _, timed_out = world.receiver.next()
        result = parse(timed_out["resourceData"], Call).result_info
        assert (result.code, result.subcode) == (408, 1106), "not answered within 15 s"

    run(scenario())


def test_a_bot_transfers_a_call(world):
    async def scenario():
        graph = v1_client(world.server)
        alice = world.user("Alice", answers(0))
        heidi = world.user("Heidi", answers(4000))
        created = await graph.communications.calls.post(new_call(world, to(alice)))
        world.advance(0)
        world.receiver.states(len(USER_CALL_SETUP))
        await graph.communications.calls.by_call_id(created.id).transfer.post(TransferPostRequestBody(transfer_target=to(heidi)))
        assert world.receiver.states(1) == ["updated transferring"]
        world.advance(4)
        assert world.receiver.states(2) == ["updated transferAccepted", "updated transferAccepted audio inactive"]
        _, completed = world.receiver.next()
        result = parse(completed["resourceData"], Call).result_info
        assert (result.code, result.subcode, result.message) == (0, 7015, "GracefulTransferCompleted. DiagCode: 0#7015.@")

    run(scenario())


def test_keep_alive_and_its_deadline(world):
    async def scenario():
        graph = v1_client(world.server)
        alice = world.user("Alice", answers(0))
        created = await graph.communications.calls.post(new_call(world, to(alice)))
        call = graph.communications.calls.by_call_id(created.id)
        world.advance(40 * 60)
        assert await call.keep_alive.post() is None
        world.advance(44 * 60)
        assert (await call.get()).state == CallState.Established
        world.advance(60)
        with pytest.raises(ODataError) as raised:
            await call.keep_alive.post()
        assert raised.value.response_status_code == 404 and raised.value.error.code == "8522"

    run(scenario())


def test_group_call_operations_come_back_as_sdk_types(world):
    async def scenario():
        graph = v1_client(world.server)
        a = world.user("A", answers(0))
        b = world.user("B", answers(0))
        created = await graph.communications.calls.post(new_call(world, to(a), to(b)))
        world.advance(0)
        call = graph.communications.calls.by_call_id(created.id)
        muted = await call.mute.post(MutePostRequestBody(client_context=str(uuid.uuid4())))
        assert isinstance(muted, MuteParticipantOperation) and muted.status == OperationStatus.Completed
        fetched = await call.operations.by_comms_operation_id(muted.id).get()
        assert isinstance(fetched, MuteParticipantOperation) and fetched.id == muted.id
        gallery = await call.add_large_gallery_view.post(AddLargeGalleryViewPostRequestBody(client_context="g"))
        assert isinstance(gallery, AddLargeGalleryViewOperation) and gallery.status == OperationStatus.Running

        notifications = [world.receiver.next()[1] for _ in range(8)]
        rosters = [n for n in notifications if n["resourceUrl"].endswith("/participants")]
        bot = parse(rosters[-1]["resourceData"][0], Participant)
        assert bot.is_muted is True, "the roster shows the bot muted"
        finished = [n for n in notifications if "/operations/" in n["resourceUrl"]]
        assert len(finished) == 1 and finished[0]["changeType"] == "deleted"
        done = parse(finished[0]["resourceData"], AddLargeGalleryViewOperation)
        assert done.status == OperationStatus.Completed and done.client_context == "g"

    run(scenario())
