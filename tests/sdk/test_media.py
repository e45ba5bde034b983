"""The media operations through the official SDK, end to end: a bot plays prompts, cancels them, records an answer
and subscribes to tones; the simulated caller speaks and presses keys; what the caller heard is checked from the
audio itself (the server's analysis of it), and the recording is downloaded and listened to here."""

import io
import math
import struct
import wave

import httpx
from conftest import run, v1_client
from msgraph.generated.communications.calls.item.cancel_media_processing.cancel_media_processing_post_request_body import (
    CancelMediaProcessingPostRequestBody,
)
from msgraph.generated.communications.calls.item.play_prompt.play_prompt_post_request_body import (
    PlayPromptPostRequestBody,
)
from msgraph.generated.communications.calls.item.record_response.record_response_post_request_body import (
    RecordResponsePostRequestBody,
)
from msgraph.generated.communications.calls.item.subscribe_to_tone.subscribe_to_tone_post_request_body import (
    SubscribeToTonePostRequestBody,
)
from msgraph.generated.models.call import Call
from msgraph.generated.models.cancel_media_processing_operation import CancelMediaProcessingOperation
from msgraph.generated.models.media_info import MediaInfo
from msgraph.generated.models.media_prompt import MediaPrompt
from msgraph.generated.models.modality import Modality
from msgraph.generated.models.operation_status import OperationStatus
from msgraph.generated.models.play_prompt_operation import PlayPromptOperation
from msgraph.generated.models.record_operation import RecordOperation
from msgraph.generated.models.service_hosted_media_config import ServiceHostedMediaConfig
from msgraph.generated.models.subscribe_to_tone_operation import SubscribeToToneOperation
from test_calls_lifecycle import USER_CALL_SETUP, answers, parse, sim_server, to, world  # noqa: F401 (fixtures)

CONTEXT = "d45324c1-fcb5-430a-902c-f20af696537c"


def tone_wav(hz, seconds, rate=16000):
    """A WAV file of a sine, as a bot's prompt would be (16 kHz mono 16-bit, the format Graph documents)."""
    frames = b"".join(
        struct.pack("<h", int(10000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(int(rate * seconds))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(frames)
    return out.getvalue()


def upload(world, name, hz, seconds):
    """Puts a prompt where the server can fetch it; returns its URI."""
    url = f"{world.server.base}/_sim/media/{name}"
    response = world.http.put(url, content=tone_wav(hz, seconds))
    assert response.status_code == 201, response.text
    return url


def prompt(uri):
    return MediaPrompt(media_info=MediaInfo(uri=uri, resource_id="1D6DE2D4-CD51-4309-8DAA-70768651088E"))


def heard_ms(world, call_id, who, hz):
    """How long (ms) `who` heard something at `hz`, by the server's analysis of what it heard."""
    analysis = world.request("GET", f"/_sim/calls/{call_id}/participants/{who}/heard")
    return 100 * sum(1 for w in analysis["windows"] if w["dominantHz"] is not None and abs(w["dominantHz"] - hz) < 5)


async def established_call(world, graph):
    alice = world.user("Alice", answers(0))
    call = Call(
        callback_uri=world.callback,
        targets=[to(alice)],
        requested_modalities=[Modality.Audio],
        media_config=ServiceHostedMediaConfig(),
    )
    created = await graph.communications.calls.post(call)
    world.advance(0)
    world.receiver.states(len(USER_CALL_SETUP))
    return created.id, alice


def test_play_prompt_and_cancel_media_processing(world):
    async def scenario():
        graph = v1_client(world.server)
        call_id, alice = await established_call(world, graph)
        call = graph.communications.calls.by_call_id(call_id)
        short = upload(world, "hello.wav", 440, 1.0)
        started = await call.play_prompt.post(PlayPromptPostRequestBody(prompts=[prompt(short)], client_context=CONTEXT))
        assert isinstance(started, PlayPromptOperation) and started.status == OperationStatus.Running
        world.advance(2)
        _, done = world.receiver.next()
        finished = parse(done["resourceData"], PlayPromptOperation)
        assert done["changeType"] == "deleted" and finished.status == OperationStatus.Completed, done
        assert finished.result_info.code == 200 and finished.client_context == CONTEXT
        assert 900 <= heard_ms(world, call_id, alice, 440) <= 1100, "Alice heard the prompt"

        long = upload(world, "long.wav", 520, 6.0)
        await call.play_prompt.post(PlayPromptPostRequestBody(prompts=[prompt(long)], client_context="long"))
        world.advance(1)
        cancel = await call.cancel_media_processing.post(CancelMediaProcessingPostRequestBody(client_context="cancel"))
        assert isinstance(cancel, CancelMediaProcessingOperation) and cancel.status == OperationStatus.Completed
        _, cancelled = world.receiver.next()
        stopped = parse(cancelled["resourceData"], PlayPromptOperation)
        assert stopped.status == OperationStatus.Failed and stopped.result_info.subcode == 8508
        world.advance(3)
        assert 900 <= heard_ms(world, call_id, alice, 520) <= 1100, "cut off after a second"

    run(scenario())


def test_record_response_and_subscribe_to_tone(world):
    async def scenario():
        graph = v1_client(world.server)
        call_id, alice = await established_call(world, graph)
        call = graph.communications.calls.by_call_id(call_id)
        subscribed = await call.subscribe_to_tone.post(SubscribeToTonePostRequestBody(client_context="tones"))
        assert isinstance(subscribed, SubscribeToToneOperation) and subscribed.status == OperationStatus.Completed
        request = RecordResponsePostRequestBody(
            client_context=CONTEXT,
            max_record_duration_in_seconds=10,
            initial_silence_timeout_in_seconds=5,
            max_silence_timeout_in_seconds=2,
            play_beep=True,
            stop_tones=["#", "1", "*"],
        )
        recording = await call.record_response.post(request)
        assert isinstance(recording, RecordOperation) and recording.status == OperationStatus.Running
        says = f"/_sim/calls/{call_id}/participants/{alice}"
        world.request("POST", f"{says}/say", {"silenceMs": 600})
        world.request("POST", f"{says}/say", {"toneHz": 700, "durationMs": 1200})
        world.request("POST", f"{says}/pressKeys", {"keys": "#"})
        world.advance(5)
        _, tone = world.receiver.next()
        assert tone["resourceData"]["toneInfo"]["tone"] == "pound"
        _, done = world.receiver.next()
        finished = parse(done["resourceData"], RecordOperation)
        assert finished.status == OperationStatus.Completed and finished.client_context == CONTEXT
        assert finished.recording_location and finished.recording_access_token

        # What a bot does with it (docs:call-record example 2), then listens: the caller's 700 Hz is in it.
        response = httpx.get(
            finished.recording_location,
            headers={"Authorization": f"Bearer {finished.recording_access_token}"},
            verify=world.server.ssl_context(),
        )
        assert response.status_code == 200
        with wave.open(io.BytesIO(response.content)) as file:
            rate, samples = file.getframerate(), file.readframes(file.getnframes())
        values = struct.unpack(f"<{len(samples) // 2}h", samples)
        blocks = [values[i : i + rate // 50] for i in range(0, len(values), rate // 50)]
        loud = [b for b in blocks if math.sqrt(sum(v * v for v in b) / len(b)) > 1000]
        seconds = len(loud) / 50
        assert 1.1 <= seconds <= 1.3, f"about 1.2 s of speech, not {seconds:.2f} s"
        crossings = sum(sum(1 for a, b in zip(block, block[1:]) if (a < 0) != (b < 0)) for block in loud)
        assert 650 <= crossings / 2 / seconds <= 750, "at 700 Hz"

    run(scenario())
