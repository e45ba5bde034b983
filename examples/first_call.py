"""A first call: a small bot places a call with the official Microsoft Graph SDK, prints every notification
Switchboard posts to its webhook, and hangs up once the call has been up a few seconds.

    python3 examples/first_call.py <user id> [--base https://127.0.0.1:8640] [--ca switchboard-data/tls/ca.pem]

It authenticates as the dev app Switchboard creates in dev mode, with azure-identity as a production bot would, so
the server must run with --tls (MSAL insists on https). Its webhook is a plain-http listener on loopback, which
dev mode accepts as a callbackUri. Needs: pip install msgraph-sdk azure-identity.
"""

import argparse
import asyncio
import json
import queue
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from azure.identity import ClientSecretCredential
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.call import Call
from msgraph.generated.models.identity import Identity
from msgraph.generated.models.identity_set import IdentitySet
from msgraph.generated.models.invitation_participant_info import InvitationParticipantInfo
from msgraph.generated.models.modality import Modality
from msgraph.generated.models.service_hosted_media_config import ServiceHostedMediaConfig
from msgraph_core import GraphClientFactory

# The well-known dev tenant and app Switchboard prints in its banner (dev mode only).
TENANT = "5b1ed0c5-0000-4000-8000-000000000001"
APP = "5b1ed0c5-0000-4000-8000-0000000000a1"
SECRET = "switchboard-dev-secret-do-not-use-in-production"

started = time.monotonic()


def say(text):
    print(f"[{time.monotonic() - started:5.1f}s] {text}", flush=True)


def webhook():
    """The bot's callback endpoint: queues each notification and answers 202, as Graph expects."""
    notifications = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            for notification in body["value"]:
                notifications.put(notification)
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/callback", notifications


def describe(notification):
    data = notification["resourceData"]
    text = f"{notification['changeType']:8} {notification['resourceUrl']}"
    if isinstance(data, dict) and "state" in data:
        text += f"  state={data['state']}"
    if isinstance(data, dict) and "mediaState" in data:
        text += f"  audio={data['mediaState']['audio']}"
    if isinstance(data, dict) and "resultInfo" in data:
        result = data["resultInfo"]
        text += f"  resultInfo={result['code']}/{result['subcode']} \"{result['message']}\""
    return text


def graph_client(base, ca):
    credential = ClientSecretCredential(
        TENANT, APP, SECRET, authority=base, disable_instance_discovery=True, connection_verify=ca
    )
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1", "localhost"]
    )
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=ca))
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{base}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


async def main(arguments):
    callback, notifications = webhook()
    graph = graph_client(arguments.base, arguments.ca)
    call = Call(
        callback_uri=callback,
        targets=[InvitationParticipantInfo(identity=IdentitySet(user=Identity(id=arguments.user)))],
        requested_modalities=[Modality.Audio],
        media_config=ServiceHostedMediaConfig(),
    )
    created = await graph.communications.calls.post(call)
    say(f"POST /communications/calls -> 201, call {created.id}, state={created.state.value}")

    hang_up_at = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if hang_up_at is not None and time.monotonic() >= hang_up_at:
            await graph.communications.calls.by_call_id(created.id).delete()
            say(f"DELETE /communications/calls/{created.id} -> 204 (the bot hangs up)")
            hang_up_at = float("inf")
        try:
            notification = notifications.get(timeout=0.2)
        except queue.Empty:
            continue
        say(describe(notification))
        state = notification["resourceData"].get("state") if isinstance(notification["resourceData"], dict) else None
        if state == "established" and hang_up_at is None:
            hang_up_at = time.monotonic() + arguments.talk
            say(f"connected; hanging up in {arguments.talk} s")
        if notification["changeType"] == "deleted" and notification["resourceUrl"].endswith(created.id):
            say("the call is over")
            return 0
    say("the call did not end within two minutes")
    return 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user", help="the id of a simulated user (switchboard sim users add --name Alice)")
    parser.add_argument("--base", default="https://127.0.0.1:8640", help="the server (started with --tls)")
    parser.add_argument("--ca", default="switchboard-data/tls/ca.pem", help="the server's local CA")
    parser.add_argument("--talk", type=float, default=5, help="seconds to stay in the call once connected")
    sys.exit(asyncio.run(main(parser.parse_args())))
