"""`paperboy say` and `paperboy demo` as a user runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.cli_runner import paperboy


def test_say_runs_commands_and_thread_replies_across_processes(db_env):
    assert paperboy("ingest", "--sample", env=db_env).code == 0
    sub = paperboy("say", "/subscribe diffusion models", "--channel", "ml", env=db_env)
    assert sub.code == 0 and sub.out.startswith("Subscribed this channel to “diffusion models”.")
    today = paperboy("say", "/papers today", "--channel", "ml", env=db_env)
    assert today.code == 0 and today.out.startswith("[#1] Papers of ")
    assert "why: diffusion models:" in today.out
    reply = paperboy("say", "summarize 1", "--thread", "1", "--channel", "ml", env=db_env)
    assert reply.code == 0 and "↳ in the thread of #1" in reply.out and "Summary: " in reply.out
    bad = paperboy("say", "/papers digest 25:61", "--channel", "ml", env=db_env)
    assert bad.code == 2 and "'25:61' is not a time of day" in bad.out and "Traceback" not in bad.err
    other_channel = paperboy("say", "/subscriptions", "--channel", "other", "--user", "bob", env=db_env)
    assert "This channel follows: nothing yet" in other_channel.out


def test_demo_posts_a_digest_and_exits_without_a_terminal(db_env):
    result = paperboy("demo", env=db_env, stdin="")
    assert result.code == 0, result.err
    assert "Ingested the bundled sample: 261 papers" in result.out
    assert "#demo follows: diffusion models, reinforcement learning, knowledge distillation" in result.out
    assert "[#1] Paperboy · " in result.out and "TL;DR:" in result.out
    again = paperboy("demo", env=db_env, stdin="")
    assert again.code == 0 and "[#2] Paperboy · " in again.out


def test_console_stops_at_ctrl_c_while_waiting_for_input(db_env, tmp_path):
    """Ctrl-C at the console's prompt (input still open, as a terminal's is) stopped the loop, and then the
    process waited for its input-reading thread until Enter was pressed."""
    import os
    import signal
    import subprocess
    import sys

    from tests.cli_runner import ROOT
    from tests.test_run import wait_for

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "SLACK_", "DISCORD_"))}
    env.update(db_env)
    env.setdefault("PYTHONPATH", str(ROOT))
    out = tmp_path / "out.txt"
    with open(out, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "console"], env=env, cwd=ROOT, stdin=subprocess.PIPE,
                                stdout=handle, stderr=subprocess.STDOUT, text=True)
        try:
            assert wait_for(lambda: "#general> " in out.read_text() or proc.poll() is not None, 120), out.read_text()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)  # generous for a loaded machine; without the fix it waits forever
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdin is not None
            proc.stdin.close()
    assert "Traceback" not in out.read_text()
