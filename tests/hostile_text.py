"""Feed hostile text (one long run of digits, spaces, letters or punctuation) to code in a fresh interpreter.

A regular expression that backtracks on such text holds the bot's event loop, every channel with it, for minutes;
linear code takes a second or two. The work runs in its own process so that a regression fails the test after
`timeout` seconds instead of hanging the suite for as long as the backtracking lasts, and the limit is generous
(a loaded CI machine is slow, but not a hundred times slower).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.cli_runner import ROOT

# Realistic maximum sizes: an abstract is refused above 50,000 characters (bot/ingestion/paper_checks.py), a chat
# message above 2,000 (bot/commands/command_input.py).
ABSTRACT_CHARS = 50_000


def run(unit: str, size: int) -> str:
    """`unit` repeated to exactly `size` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def finishes(code: str, texts: list[str], timeout: float = 20.0) -> list[str]:
    """`code` defines `work(text) -> object`; its results (as str) for each text, computed in a new interpreter.

    Fails (subprocess.TimeoutExpired) when the work is not done within `timeout` seconds."""
    script = textwrap.dedent(code) + textwrap.dedent("""
        import json, sys
        print(json.dumps([str(work(text)) for text in json.load(sys.stdin)]))
        """)
    proc = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results: list[str] = json.loads(proc.stdout)
    return results
