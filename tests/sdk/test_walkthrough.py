"""The README's first-call walk-through, step by step, in real time: the CLI creates a simulated user, and the
example bot (examples/first_call.py) places a call with the official SDK, sees it connect, and hangs up."""

import json
import subprocess
import sys

from conftest import BINARY, ROOT


def test_the_first_call_walkthrough_works_as_written(server):
    added = subprocess.run(
        [str(BINARY), "sim", "--url", server.base, "--ca", server.ca, "users", "add", "--name", "Alice", "--answer-after", "1s"],
        capture_output=True, text=True, check=True,
    )
    alice = json.loads(added.stdout)["id"]
    bot = subprocess.run(
        [sys.executable, str(ROOT / "examples/first_call.py"), alice, "--base", server.base, "--ca", server.ca, "--talk", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert bot.returncode == 0, bot.stdout + bot.stderr
    lines = bot.stdout.splitlines()
    expected = [
        "-> 201",
        "state=establishing",
        "state=established",
        "audio=active",
        "-> 204 (the bot hangs up)",
        "state=terminating",
        'state=terminated  resultInfo=200/5001 "The conversation has ended. DiagCode: 0#5001.@"',
        "the call is over",
    ]
    position = 0
    for line in lines:
        if position < len(expected) and expected[position] in line:
            position += 1
    assert position == len(expected), f"missing {expected[position:]!r} in:\n{bot.stdout}"
