"""Starts Switchboard (https, with its local CA) for the SDK tests and hands out Graph SDK clients that authenticate
the way production bots do: azure-identity credentials against Switchboard's token endpoint."""

import asyncio
import os
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("SWITCHBOARD_BIN", ROOT / "target/debug/switchboard"))

# Dev mode's well-known tenant and app (printed in the banner; see crates/identity/src/directory.rs).
DEV_TENANT = "5b1ed0c5-0000-4000-8000-000000000001"
DEV_APP = "5b1ed0c5-0000-4000-8000-0000000000a1"
DEV_SECRET = "switchboard-dev-secret-do-not-use-in-production"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class Server:
    """`switchboard serve --tls` on a free port, with a data directory of its own."""

    def __init__(self, *args):
        if not BINARY.exists():
            raise RuntimeError(f"{BINARY} does not exist: build it with `cargo build` (scripts/test-all does)")
        self.data = tempfile.mkdtemp(prefix="switchboard-sdk-")
        self.ca = os.path.join(self.data, "tls", "ca.pem")
        self.stderr = open(os.path.join(self.data, "stderr.log"), "w+")
        self.process = subprocess.Popen(
            [str(BINARY), "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data, "--tls", "--log", "debug", *args],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.base = None
        self.banner = []
        ready = threading.Event()

        def read_banner():
            for line in self.process.stdout:
                self.banner.append(line)
                if line.startswith("Switchboard listening on "):
                    self.base = line.removeprefix("Switchboard listening on ").strip()
                    ready.set()

        threading.Thread(target=read_banner, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise RuntimeError(f"switchboard did not start: {self.logs()}")

    def ssl_context(self):
        """Trusts the server's local CA."""
        return ssl.create_default_context(cafile=self.ca)

    def logs(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self):
        self.process.terminate()
        self.process.wait(15)


@pytest.fixture(scope="session")
def server():
    running = Server()
    yield running
    running.stop()


def secret_credential(server, tenant=DEV_TENANT, app=DEV_APP, secret=DEV_SECRET):
    """What a bot's production code builds, pointed at Switchboard: the authority is the server, and its CA is
    trusted. `disable_instance_discovery` skips the lookup at login.microsoftonline.com."""
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(
        tenant, app, secret, authority=server.base, disable_instance_discovery=True, connection_verify=server.ca
    )


def _adapter(server, credential, adapter_class, version):
    from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
    from msgraph_core import GraphClientFactory

    # The scope is given explicitly: derived from the host it would be https://127.0.0.1/.default.
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"])
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=server.ssl_context()))
    adapter = adapter_class(auth, client=http)
    adapter.base_url = f"{server.base}/{version}"
    return adapter


def v1_client(server, credential=None):
    from msgraph import GraphRequestAdapter, GraphServiceClient

    adapter = _adapter(server, credential or secret_credential(server), GraphRequestAdapter, "v1.0")
    return GraphServiceClient(request_adapter=adapter)


def beta_client(server, credential=None):
    from msgraph_beta import GraphRequestAdapter, GraphServiceClient

    adapter = _adapter(server, credential or secret_credential(server), GraphRequestAdapter, "beta")
    return GraphServiceClient(request_adapter=adapter)


def admin(server, method, path, body=None):
    """The admin API (open in dev mode)."""
    response = httpx.request(method, f"{server.base}/_admin{path}", json=body, verify=server.ssl_context())
    response.raise_for_status()
    return response.json() if response.content else None


def run(awaitable):
    return asyncio.run(awaitable)
