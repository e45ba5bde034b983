"""Starts a Switchboard server for the SDK tests and hands out Graph SDK clients pointed at it."""

import asyncio
import os
import subprocess
import threading
from pathlib import Path

import pytest
from kiota_abstractions.authentication.anonymous_authentication_provider import AnonymousAuthenticationProvider

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("SWITCHBOARD_BIN", ROOT / "target/debug/switchboard"))


class Server:
    def __init__(self, *args):
        if not BINARY.exists():
            raise RuntimeError(f"{BINARY} does not exist: build it with `cargo build` (scripts/test-all does)")
        self.process = subprocess.Popen(
            [str(BINARY), "serve", "--ephemeral", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.base = None
        ready = threading.Event()

        def read_banner():
            for line in self.process.stdout:
                if line.startswith("Switchboard listening on "):
                    self.base = line.removeprefix("Switchboard listening on ").strip()
                    ready.set()

        threading.Thread(target=read_banner, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise RuntimeError(f"switchboard did not start: {self.process.stderr.read()}")

    def stop(self):
        self.process.terminate()
        self.process.wait(15)


@pytest.fixture(scope="session")
def server():
    running = Server()
    yield running
    running.stop()


def v1_client(base):
    from msgraph import GraphRequestAdapter, GraphServiceClient

    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())
    adapter.base_url = f"{base}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def beta_client(base):
    from msgraph_beta import GraphRequestAdapter, GraphServiceClient

    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())
    adapter.base_url = f"{base}/beta"
    return GraphServiceClient(request_adapter=adapter)


@pytest.fixture
def graph(server):
    return v1_client(server.base)


@pytest.fixture
def graph_beta(server):
    return beta_client(server.base)


def run(awaitable):
    return asyncio.run(awaitable)
