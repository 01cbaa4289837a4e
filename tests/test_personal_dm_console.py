"""The person's own digest in the console, as a user types it (`paperboy say`, `paperboy digest run|status`):
replies under it (`--dm --thread N`), and days with nothing to send."""

from __future__ import annotations

from tests.cli_runner import paperboy
from tests.personal_fixtures import DAY1, GNN
from tests.test_personal import ML, _store


def test_summarize_and_questions_under_your_own_digest_are_answered(db_env):
    env = {**db_env, "PAPERBOY_TIMEZONE": "UTC"}
    assert paperboy("say", f"/subscribe --me {GNN}", "--channel", ML, "--user", "u1", env=env).code == 0
    _store(db_env)
    assert paperboy("say", "/papers digest --me 08:00 UTC", "--channel", ML, "--user", "u1", env=env).code == 0
    run = paperboy("digest", "run", "--date", DAY1.isoformat(), env=env)
    assert "— @u1 —\n[#1]" in run.out, run.out

    def reply(text: str, *extra: str, user: str = "u1", code: int = 0) -> str:
        answer = paperboy("say", text, "--thread", "1", *extra, "--channel", ML, "--user", user, env=env)
        assert answer.code == code, answer.err
        return answer.out

    assert "Summary: Graph neural networks for molecules" in reply("summarize 1", "--dm")
    assert "TL;DR: Graph neural networks for molecules" in reply("tl;dr 1", "--dm")
    assert "Q: which molecules do they use" in reply("1: which molecules do they use", "--dm")  # no "?" needed
    assert "no answer" in reply("summarize 1", code=2)  # #1 of the channel is not the DM digest
    assert "no answer: your message @1 lists no papers" in reply("summarize 1", "--dm", user="u2", code=2)  # nor
    # is someone else's digest: u2's own messages, numbered @N, hold none


def test_a_personal_digest_without_topics_warns_at_once_and_sends_nothing(db_env):
    env = {**db_env, "PAPERBOY_TIMEZONE": "UTC"}
    setting = paperboy("say", "/papers digest --me 08:00 UTC", "--channel", ML, "--user", "u2", env=env)
    _store(db_env)
    assert "follow no topics of your own" in setting.out and "/subscribe --me TOPIC" in setting.out
    assert paperboy("say", f"/subscribe {GNN}", "--channel", ML, "--user", "u2", env=env).code == 0  # the channel's
    assert paperboy("say", "/papers digest 08:00 UTC", "--channel", ML, "--user", "u2", env=env).code == 0
    run = paperboy("digest", "run", "--date", DAY1.isoformat(), env=env)
    assert run.code == 0, run.err
    assert "— @u2 —" not in run.out and f"— #{ML} —" in run.out  # channels are untouched
    assert "console:local:@u2 2026-04-20: skipped (nothing to send)" in run.out
    again = paperboy("digest", "run", "--date", DAY1.isoformat(), env=env)
    assert "— @u2 —" not in again.out
    status = paperboy("digest", "status", env=env)
    assert "2026-04-20 nothing to send" in status.out, status.out
