"""Learning from a channel's judgements: the model's rules and the models a running bot keeps. The dev-set
judgements through the database and the CLI are in tests/test_feedback_devset.py (a file of their own, so the
test workers share the slow files), the measurement itself in tests/test_feedback_measured.py."""

from __future__ import annotations

import pytest

from bot.feedback import feedback_service
from bot.feedback.learned_model import HALF_INFLUENCE_AT, MAX_INFLUENCE, Judged, LearnedModel, fit
from bot.papers import ParsedPaper
from bot.topics.matcher import Hit, MatchResult
from bot.topics.topic_service import TopicMatcher
from storage.paper_store import find_paper, load_papers, store_papers
from tests.feedback_fixtures import CHANNEL_A, CHANNEL_B


def _judged(score: float, relevant: bool, *, titled: bool = False) -> Judged:
    return Judged({"x": 1.0}, relevant, "t", score, score >= 1.5, True, titled)


def _abstract_match(score: float) -> MatchResult:
    return MatchResult(score, True, [Hit("dpo", "abstract", 1)])


def test_one_judged_paper_never_moves_the_line_two_agreeing_do():
    """One "not for us" on a paper that only mentions the topic once leaves such papers listed (the tuning
    splits lost kd, rlhf and fairness to single-click bars); two agreeing judgements raise the bar."""
    base = [_judged(4.0, True), _judged(3.5, True), _judged(3.0, True)]
    one = fit([*base, _judged(1.6, False)], [])
    assert one.bar is None and one.decide(_abstract_match(1.6))
    two = fit([*base, _judged(1.6, False), _judged(1.9, False)], [])
    assert two.bar is not None and not two.decide(_abstract_match(1.6)) and two.decide(_abstract_match(3.0))


def test_a_title_hit_is_never_overruled_by_judgements():
    """Judged papers naming the topic in their title never set the bar, and no bar removes such a paper."""
    titled_negatives = [_judged(3.0, False, titled=True), _judged(3.2, False, titled=True)]
    assert fit([_judged(4.0, True), _judged(3.5, True), *titled_negatives], []).bar is None
    model = fit([_judged(4.0, True), _judged(3.5, True), _judged(1.6, False), _judged(1.9, False)], [])
    title_hit = MatchResult(1.5, True, [Hit("dpo", "title", 1)])
    assert model.bar is not None and model.decide(title_hit) and not model.decide(_abstract_match(1.5))


def test_no_judgement_is_the_plain_matcher_and_influence_is_bounded():
    judged = [Judged({"graph": 1.0}, True, "a", 1.0, False, True)]
    assert LearnedModel().influence == 0
    one = fit(judged, [])
    assert 0 < one.influence <= 1 / (1 + HALF_INFLUENCE_AT) and one.bar is None  # one click moves no line
    many = fit(judged * 200, [])
    assert many.influence == MAX_INFLUENCE


def test_a_stored_model_from_before_keeps_its_words_and_drops_its_single_click_bar():
    """Models stored by the previous version (bars from one click) still reorder lists, but decide nothing
    until the next judgement refits them; unknown shapes are the plain matcher."""
    liked = Judged({"preference": 2.0}, True, "t", 4.0, True, True)
    stored = {**fit([liked, _judged(1.6, False), _judged(1.9, False)], []).to_json(), "bar": 1.95}
    old = LearnedModel.from_json({**stored, "version": 2})
    assert old.weights and old.judgements == 3 and old.bar is None
    assert LearnedModel.from_json(stored).bar == 1.95
    assert not LearnedModel.from_json({**stored, "version": 1}).judgements


async def test_a_running_bot_keeps_parsed_models_and_sees_every_refit_and_reset(db):
    """Replica A's digest runs keep the models they parsed; a judgement or a reset made through replica B (the
    same database) is what A's next run composes with, and a model stored without a stamp (by a version from
    before stamps) is read every time rather than kept stale."""
    from sqlalchemy import update

    from bot.feedback.model_cache import ModelCache
    from storage.feedback_models import FeedbackModel

    async with db.session() as s:
        await store_papers(s, [ParsedPaper(title=f"Preference optimization study {n}", abstract=(
            f"We study direct preference optimization (DPO) for alignment, case {n}, with reward models."),
            source="test", arxiv_id=f"2501.0000{n}") for n in range(3)])
    matcher, running = TopicMatcher(), ModelCache()

    async def judge(n: int, relevant: bool) -> None:  # through replica B
        async with db.session() as s:
            paper = await find_paper(s, f"2501.0000{n}")
            await feedback_service.judge(s, matcher, CHANNEL_A, "dpo", paper, "bob", relevant)

    async def a_run() -> dict:
        async with db.session() as s:
            return await feedback_service.models_for(s, [CHANNEL_A.key, CHANNEL_B.key], running)

    await judge(0, True)
    first = await a_run()
    assert [m.judgements for m in first.values()] == [1] and running.kept == 1
    assert (await a_run()) == first
    await judge(1, False)
    assert [(m.relevant_count, m.not_relevant_count) for m in (await a_run()).values()] == [(1, 1)]
    async with db.session() as s:
        await feedback_service.reset(s, CHANNEL_A, "dpo")
    assert await a_run() == {} and running.kept == 0
    await judge(2, True)
    async with db.session() as s:  # as an older replica would have written it
        await s.execute(update(FeedbackModel).values(stamp=""))
    assert [m.judgements for m in (await a_run()).values()] == [1] and running.kept == 0
    await judge(0, True)  # stamped again; a cache holding one model still serves two channels' models right
    async with db.session() as s:
        paper = await find_paper(s, "2501.00001")
        await feedback_service.judge(s, matcher, CHANNEL_B, "dpo", paper, "bob", False)
    small = ModelCache(limit=1)
    for _ in range(2):
        async with db.session() as s:
            found = await feedback_service.models_for(s, [CHANNEL_A.key, CHANNEL_B.key], small)
        assert sorted((k[0], m.relevant_count, m.not_relevant_count) for k, m in found.items()) == [
            (CHANNEL_A.key, 2, 0), (CHANNEL_B.key, 0, 1)] and small.kept == 1
    # A day on which "dpo" names no paper: a digest run reads (and keeps) no "dpo" model, since it could change
    # nothing; a day that has such papers reads it.
    async with db.session() as s:
        stored = await load_papers(s, [p.id for p in [await find_paper(s, f"2501.0000{n}") for n in range(3)]])
    assert feedback_service.named_topic_keys(matcher, ["DPO", "protein folding"], [stored]) == {"dpo"}
    assert feedback_service.named_topic_keys(matcher, ["DPO"], [[]]) == set()
    fresh = ModelCache()
    async with db.session() as s:
        assert await feedback_service.models_for(s, [CHANNEL_A.key], fresh, topic_keys=set()) == {}
        assert fresh.kept == 0
        assert list(await feedback_service.models_for(s, [CHANNEL_A.key], fresh, topic_keys={"dpo"})) == [
            (CHANNEL_A.key, "dpo")] and fresh.kept == 1


async def test_a_running_bot_reads_the_stamps_of_only_the_scopes_changed_since_its_last_run(db):
    """Each judgement numbers its change in the database, so a digest run reads the stamps of only the scopes
    whose models changed since its last run (every stamp each run was a quarter of what a model on every
    subscription cost, bench/digests_bench.py --models): none when nothing changed. Judgements made at once on
    other replicas are all seen; a write that numbers nothing (a replica of the older version during a rolling
    deploy) is seen once FULL_READ_EVERY has passed."""
    import asyncio

    from sqlalchemy import event, update

    from bot.feedback.model_cache import FULL_READ_EVERY, ModelCache
    from bot.scope import Scope
    from storage import feedback_store
    from storage.feedback_models import FeedbackModel

    async with db.session() as s:
        await store_papers(s, [ParsedPaper(title=f"Preference optimization study {n}", abstract=(
            f"We study direct preference optimization (DPO) for alignment, case {n}, with reward models."),
            source="test", arxiv_id=f"2501.0000{n}") for n in range(3)])
    matcher, now = TopicMatcher(), [0.0]
    running = ModelCache(clock=lambda: now[0])
    others = [Scope.for_channel("console", "local", f"lab-{n}") for n in range(8)]
    everyone = [CHANNEL_A, CHANNEL_B, *others]

    async def judge(scope, n: int, relevant: bool) -> None:  # through another replica
        async with db.session() as s:
            paper = await find_paper(s, f"2501.0000{n}")
            await feedback_service.judge(s, matcher, scope, "dpo", paper, "bob", relevant)

    read: list[str] = []  # the scope keys whose stamps or models a run read

    def reads(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM feedback_models" in statement:
            read.extend(str(p) for p in (parameters.values() if isinstance(parameters, dict) else parameters))

    async def a_run() -> dict[str, tuple[int, int]]:
        read.clear()
        async with db.session() as s:
            found = await feedback_service.models_for(s, [scope.key for scope in everyone], running)
        return {scope: (m.relevant_count, m.not_relevant_count) for (scope, _), m in found.items()}

    event.listen(db.engine.sync_engine, "before_cursor_execute", reads)
    try:
        await judge(CHANNEL_A, 0, True)
        await judge(CHANNEL_B, 0, False)
        assert await a_run() == {CHANNEL_A.key: (1, 0), CHANNEL_B.key: (0, 1)}
        assert await a_run() == {CHANNEL_A.key: (1, 0), CHANNEL_B.key: (0, 1)} and read == []
        await judge(CHANNEL_A, 1, True)
        assert await a_run() == {CHANNEL_A.key: (2, 0), CHANNEL_B.key: (0, 1)}
        assert CHANNEL_A.key in read and CHANNEL_B.key not in read
        # several replicas judging at once (PostgreSQL; one SQLite file has one writer at a time)
        if db.is_postgres:
            await asyncio.gather(*(judge(scope, n % 3, True) for n, scope in enumerate(others)))
        else:
            for n, scope in enumerate(others):
                await judge(scope, n % 3, True)
        seen = await a_run()
        assert all(seen[scope.key] == (1, 0) for scope in others) and CHANNEL_B.key not in read
        async with db.session() as s:  # as a replica of the older version would refit: no change numbered
            await s.execute(update(FeedbackModel).where(FeedbackModel.scope == CHANNEL_B.key).values(
                model={**(await feedback_store.load_model(s, CHANNEL_B.key, "dpo") or {}), "relevant_count": 5},
                stamp="0" * 32))
        assert (await a_run())[CHANNEL_B.key] == (0, 1)
        now[0] += FULL_READ_EVERY
        assert (await a_run())[CHANNEL_B.key] == (5, 1)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", reads)
    await judge(CHANNEL_A, 2, False)
    async with db.session() as s:
        generation, _ = await feedback_store.model_changes(s, None)
        assert generation is not None
        assert await feedback_store.model_changes(s, generation) == (generation, set())
        assert await feedback_store.model_changes(s, generation - 1) == (generation, {CHANNEL_A.key})
        assert await feedback_store.model_changes(s, generation + 1) == (generation, None)  # a database restored


async def test_a_started_bot_reads_its_models_ahead_and_its_first_run_parses_none(db):
    """`ModelCache.warm` at start-up: every stored model is parsed then, and the first digest run's read finds
    them all kept (the very objects, so nothing was parsed again); the size limit and a stop are respected."""
    import asyncio

    from bot.feedback.model_cache import ModelCache

    async with db.session() as s:
        await store_papers(s, [ParsedPaper(title=f"Preference optimization study {n}", abstract=(
            f"We study direct preference optimization (DPO) for alignment, case {n}, with reward models."),
            source="test", arxiv_id=f"2501.0000{n}") for n in range(2)])
        matcher = TopicMatcher()
        for scope, relevant in ((CHANNEL_A, True), (CHANNEL_B, False)):
            await feedback_service.judge(s, matcher, scope, "dpo", await find_paper(s, "2501.00000"), "bob",
                                         relevant)
    stopped = asyncio.Event()
    stopped.set()
    assert await ModelCache().warm(db, stop=stopped) == 0
    assert await ModelCache(limit=1).warm(db, batch=1) == 1
    started = ModelCache()
    assert await started.warm(db, batch=1) == 2
    async with db.session() as s:
        kept = {key: model for key, (_, model) in started._kept.items()}
        first_run = await feedback_service.models_for(s, [CHANNEL_A.key, CHANNEL_B.key], started)
    assert sorted((k[0], m.relevant_count, m.not_relevant_count) for k, m in first_run.items()) == [
        (CHANNEL_A.key, 1, 0), (CHANNEL_B.key, 0, 1)]
    assert all(first_run[key] is kept[key] for key in first_run)


def test_a_digest_run_scores_each_topics_papers_as_one_matrix_and_ranks_as_a_command_does():
    """A digest run scores a topic's candidates for all of its channels' models at once (numbered words, one
    matrix per list: paper_block.py); a command scores them one at a time. Over the dev set's papers and topics,
    with models fit on real judgements: the same opinions (but for the last bits) and the same rankings."""
    import random

    from bot.feedback.feedback_ranking import LearnedRanking
    from bot.feedback.learned_model import paper_terms
    from bot.feedback.model_cache import ModelCache
    from storage.models import Paper
    from tests.relevance.feedback_eval import TUNING

    papers = [Paper(id=n + 1, title=p["title"], abstract=p["abstract"]) for n, p in enumerate(TUNING["papers"])]
    matcher = TopicMatcher()
    rng = random.Random(7)
    models: dict[str, LearnedModel] = {}
    for topic in [t["topic"] for t in TUNING["topics"]]:
        relevant = next(set(t["relevant"]) for t in TUNING["topics"] if t["topic"] == topic)
        judged = [Judged.of(paper_terms(matcher.analyze(p)), p.title in relevant, p.title, None)
                  for p in rng.sample(papers, 10)]
        models[topic] = fit(judged, [paper_terms(matcher.analyze(p)) for p in papers[:100]])
    # stored and parsed as a running bot has them, which numbers their words as it parses them
    cache = ModelCache()
    parsed = {t: LearnedModel.from_json(m.to_json()) for t, m in models.items()}
    for model in parsed.values():
        model.word_numbers(cache.vocabulary)
    batch = LearnedRanking(matcher, cache.vocabulary)
    one_by_one = LearnedRanking(matcher)
    compared = 0
    for topic, model in parsed.items():
        found = batch.candidates(topic, papers)
        if not found:
            continue
        scalar = [model.opinion(one_by_one.vector(item.paper)) for item in found]
        assert batch.block(found).opinions(model) == pytest.approx(scalar, abs=1e-12)
        compared += len(found)
    assert compared > 100 and len(parsed) > 40
    topics = list(parsed)
    day_batch = batch.match_day(topics, papers, parsed)
    day_alone = one_by_one.match_day(topics, papers, parsed)
    for topic in topics:
        def shown(ranked):
            return sorted((r.paper.id, r.result.score, r.result.matched, r.result.learned) for r in ranked)
        assert shown(day_batch[topic]) == shown(day_alone[topic]), topic
