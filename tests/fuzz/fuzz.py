"""A bounded, schema-driven fuzz run against the switchboard binary: schemathesis generates requests from the OpenAPI
descriptions the server itself serves — the Graph calling API (v1.0 and beta, with a dev-mode token) and the
test-control API /_sim — and fails on any 5xx answer, any connection the server drops or leaves unanswered, and a
server that is not alive and answering afterwards.

    python tests/fuzz/fuzz.py path/to/switchboard [--examples N]

Run by ./scripts/test-all; deterministic (fixed seed), so a failure repeats.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

DEV_TENANT = "5b1ed0c5-0000-4000-8000-000000000001"
DEV_APP = "5b1ed0c5-0000-4000-8000-0000000000a1"
DEV_SECRET = "switchboard-dev-secret-do-not-use-in-production"


def start(binary: str, directory: str) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [str(pathlib.Path(binary).resolve()), "serve", "--listen", "127.0.0.1:0", "--data-dir", f"{directory}/data", "--clock", "virtual"],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=open(f"{directory}/server.log", "w"),
        text=True,
    )
    for line in server.stdout:
        if line.startswith("Switchboard listening on "):
            return server, line.removeprefix("Switchboard listening on ").strip()
    raise SystemExit(f"the server ended before it listened; see {directory}/server.log")


def token(base: str) -> str:
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": DEV_APP,
            "client_secret": DEV_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        }
    ).encode()
    with urllib.request.urlopen(f"{base}/{DEV_TENANT}/oauth2/v2.0/token", form) as answer:
        return json.load(answer)["access_token"]


def schemathesis(schema: str, url: str, examples: int, phases: str, *options: str) -> int:
    command = [
        str(pathlib.Path(sys.executable).with_name("schemathesis")),
        "run",
        schema,
        "--url",
        url,
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(examples),
        "--seed",
        "14",
        "--request-timeout",
        "30",
        "--phases",
        phases,
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--no-color",
    ]
    shown = [option if not option.startswith("Authorization") else "Authorization: Bearer …" for option in options]
    print("$", " ".join(command + shown), flush=True)
    return subprocess.call(command + list(options))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--examples", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        server, base = start(args.binary, directory)
        try:
            bearer = ["--header", f"Authorization: Bearer {token(base)}"]
            failed = 0
            # v1.0 with schemathesis's boundary cases too; beta (a superset under /beta and /app) fuzzed.
            graph = lambda version, phases: schemathesis(
                f"{base}/_sim/graph-openapi/{version}.yaml", f"{base}/{version}", args.examples, phases, *bearer
            )
            failed += graph("v1.0", "examples,coverage,fuzzing")
            failed += graph("beta", "examples,fuzzing")
            # Last, since it resets the world, moves the clock and injects faults into Graph operations. The activity
            # stream is left out: it never ends (server-sent events), so every request to it would wait out its timeout.
            failed += schemathesis(
                f"{base}/_sim/openapi.yaml", f"{base}/_sim", args.examples, "examples,coverage,fuzzing",
                "--exclude-path", "/activity/stream",
            )
            with urllib.request.urlopen(f"{base}/healthz") as health:
                alive = health.status == 200
        finally:
            server.terminate()
            stopped = server.wait(timeout=30)
        log = pathlib.Path(directory, "server.log").read_text()
        panics = [line for line in log.splitlines() if "panicked" in line]
        if failed or not alive or stopped != 0 or panics:
            print(f"fuzzing failed: {failed} schemathesis run(s) failed; alive={alive}; exit={stopped}; panics={panics[:5]}")
            sys.exit(1)
        print("fuzzing: no 5xx, no dropped connection, the server alive and stopped cleanly")


if __name__ == "__main__":
    main()
