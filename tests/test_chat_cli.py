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
    assert bad.code == 0 and "'25:61' is not a time of day" in bad.out and "Traceback" not in bad.err
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
