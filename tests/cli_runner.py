"""Run `paperboy` as a user would: a separate process, its own environment, exit status and output."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str


def paperboy(*args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 120) -> Result:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "SLACK_", "DISCORD_"))}
    full_env.update(env)
    full_env.setdefault("PYTHONPATH", str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args], env=full_env, input=stdin, capture_output=True, text=True,
        timeout=timeout, cwd=ROOT,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
