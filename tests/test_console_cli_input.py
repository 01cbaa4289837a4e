"""Bad input on the command line that drives the console: one line, a non-zero exit, nothing stored."""

from __future__ import annotations

import pytest

from tests.cli_runner import paperboy


@pytest.mark.parametrize("flag, value", [
    ("--channel", ""), ("--channel", "   "), ("--channel", "@u9"), ("--channel", "e\x1b]0;pwned\x07vil"),
    ("--channel", "a:b"), ("--channel", "two words"), ("--channel", "zero\u200bwidth"), ("--user", ""),
    ("--user", "\x1b[2J"), ("--user", "a:b"),
])
def test_a_console_channel_or_user_that_is_no_name_is_refused_and_stores_nothing(db_env, flag, value):
    """`say --channel @u9` set the digest of u9's direct messages (a person's DM destination is `@USER`), an escape
    sequence as a channel name reached the terminal through `digest status`, and an empty one stored a digest."""
    result = paperboy("say", "/papers digest 10:00 Asia/Tokyo", flag, value, env=db_env)
    assert result.code == 2, result.out
    assert result.err.startswith(f"error: {flag}") and result.err.count("\n") == 1, result.err
    assert "\x1b" not in result.err and "Traceback" not in result.err
    assert paperboy("digest", "status", env=db_env).out.strip() == "No destinations yet."


def test_the_same_name_rules_hold_for_every_command_that_names_a_console_channel(db_env):
    assert paperboy("ingest", "--sample", env=db_env).code == 0
    for args in (("console", "--channel", "@bob"), ("topics", "match", "gnn", "--channel", "\x1b[31m"),
                 ("topics", "feedback", "gnn", "#1", "--relevant", "--channel", "@bob"),
                 ("topics", "feedback", "gnn", "#1", "--relevant", "--user", "")):
        result = paperboy(*args, env=db_env, stdin="")
        assert result.code == 2 and result.err.startswith("error: --"), (args, result.err)
    assert "Nothing yet." in paperboy("say", "/papers feedback", "--channel", "general", env=db_env).out


def test_a_channel_written_with_its_hash_is_the_channel(db_env):
    """`PAPERBOY_CONSOLE_CHANNEL=#general` is the channel `general` (as people write channels); `say --channel
    '#general'` set up a second channel, "#general", that the bot's console never posts to."""
    assert paperboy("say", "/papers digest 07:30 Europe/Paris", "--channel", "#general", env=db_env).code == 0
    shown = paperboy("say", "/papers digest", "--channel", "general", env=db_env)
    assert "07:30 Europe/Paris" in shown.out


def test_topics_match_reads_a_topic_with_an_invisible_character_as_the_reader_does(db_env):
    assert paperboy("ingest", "--sample", env=db_env).code == 0
    plain = paperboy("topics", "match", "diffusion models", "--all", env=db_env)
    hidden = paperboy("topics", "match", "diff\u00adusion mod\u200bels", "--all", env=db_env)
    assert plain.code == hidden.code == 0 and plain.out == hidden.out and "✓" in plain.out


def test_say_tells_a_script_when_the_bot_refused_or_did_not_answer(db_env):
    """`say` is the command for scripts, and a refused command exited 0 like one that worked."""
    assert paperboy("ingest", "--sample", env=db_env).code == 0
    for args in (("/papers digest 25:61",), ("",), ("/subscribe",), ("/papers digest 09:00 Mars/Olympus",),
                 ("summarize 1", "--thread", "7")):
        result = paperboy("say", *args, "--channel", "ml", env=db_env)
        assert result.code == 2 and result.out.strip() and "Traceback" not in result.err, (args, result)
    assert paperboy("say", "/papers digest", "--channel", "ml", env=db_env).out.startswith(
        "(only you can see this)\nNo digest set up here yet.")
    for args in (("/papers today",), ("/papers digest",), ("summarize 1", "--thread", "1")):
        assert paperboy("say", *args, "--channel", "ml", env=db_env).code == 0, args


def test_empty_searches_and_topics_are_refused_on_the_command_line(db_env):
    for args in (("search", ""), ("search", "   "), ("topics", "feedback", "  ", "#1", "--relevant")):
        result = paperboy(*args, env=db_env)
        assert result.code == 2 and result.err.startswith("error: ") and result.err.count("\n") == 1, (args, result)


def test_digest_run_for_a_destination_that_does_not_exist_is_an_error(db_env):
    result = paperboy("digest", "run", "--destination", "console:local:nosuch", env=db_env)
    assert result.code == 2 and "console:local:nosuch" in result.err, result


def test_say_dm_without_a_thread_is_refused_rather_than_ignored(db_env):
    """`say "/papers digest --me off" --dm` ran in the channel, as if --dm had not been given."""
    result = paperboy("say", "/papers today", "--dm", env=db_env)
    assert result.code == 2 and result.err == "error: --dm goes with --thread N (a message of your own digest)\n"
    assert result.out == ""


def test_a_question_on_the_command_line_is_cleaned_as_in_chat(db_env):
    """`summarize --question` echoed an escape sequence to the terminal ("Q: what \\x1b[2J…") and asked the LLM (and
    keyed its cache) with it; a chat question is cleaned of control and invisible characters first."""
    assert paperboy("ingest", "--sample", env=db_env).code == 0
    result = paperboy("summarize", "#1", "--question", "what\x1b[2J data\u200b\u00ad do\x07 they use?", env=db_env)
    assert result.code == 0, result.err
    assert "Q: what[2J data do they use?" in result.out and "\x1b" not in result.out and "\x07" not in result.out
