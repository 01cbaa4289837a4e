"""Running digests: claim, compose, post, complete — exactly once per channel and day, whatever fails.

Each destination is claimed in the database before anything is composed (so two bot processes never both
post it), composed from papers not yet posted there, posted through its platform's adapter, and completed in
the same transaction that records which papers it listed. A failure for one channel is recorded and never holds
up the others: a passing one is retried with backoff, one the platform says retrying cannot mend waits for the
next day (or for someone to turn the digest on again there); a crash leaves a claim whose lease expires and is
retried.

Posting and completing cannot be one transaction (the platform is not our database), so every message of a
digest carries its delivery's tag (`DigestTag`). A later attempt asks the platform for the tagged message before
posting; when an earlier attempt's post is there, the delivery is completed with it and nothing is posted again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.clock import Clock
from bot.commands.services import CoreServices
from bot.digests.digest_composer import NOTHING_NEW, DigestPlan, choose, render_digest
from bot.digests.poster import DigestPoster, DigestTag, PostResult, digest_papers, unlisted
from bot.digests.schedule import due_day
from bot.errors import DeliveryError, PaperboyError
from bot.feedback import feedback_service
from bot.feedback.feedback_ranking import LearnedRanking
from bot.feedback.learned_model import LearnedModel
from bot.messages import Message
from bot.personal import routing
from storage import delivery_store
from storage.destination_models import Destination
from storage.destination_store import (
    as_value,
    get_destination,
    list_destinations,
    posted_paper_ids_by_destination,
    record_digest_parts,
)
from storage.models import Paper
from storage.paper_store import days_of, latest_day, papers_of_days
from storage.personal_store import all_personal_subscriptions, mention_opt_ins
from storage.subscription_store import all_channel_subscriptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestSettings:
    grace: timedelta = timedelta(hours=6)
    lease_seconds: float = 600.0  # how long a claim holds before another process may take it over
    # Seconds everything an LLM does for one digest may take (topic expansion, then TL;DRs) before the digest
    # goes out with what is ready: the plain matcher's topics and offline TL;DRs.
    tldr_deadline: float = 8.0
    models: dict[tuple[str, str], LearnedModel] = field(default_factory=dict)  # what each channel taught a topic
    learned: LearnedRanking | None = None
    nothing_new: str = NOTHING_NEW
    concurrency: int = 16


@dataclass(frozen=True)
class Outcome:
    destination: str
    day: date
    status: str  # posted | skipped | failed
    detail: str = ""
    paper_ids: tuple[int, ...] = ()


class DigestRunner:
    def __init__(self, services: CoreServices, posters: Mapping[str, DigestPoster], *, owner: str,
                 settings: DigestSettings | None = None, clock: Clock | None = None,
                 on_outcome: Callable[[Outcome], None] | None = None) -> None:
        self.services = services
        self.posters = posters
        self.owner = owner
        self.settings = settings or DigestSettings()
        self.clock = clock or services.clock
        self.on_outcome = on_outcome
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._left: set[str] = set()  # platforms whose digests this process leaves to others (said once each)

    def _timezone(self, destination: Destination) -> str:
        return destination.timezone or self.services.default_timezone

    async def run_due(self, now: datetime | None = None) -> list[Outcome]:
        """Every enabled destination whose digest time has come (within the grace period) and whose delivery for
        that day a claim could take now. The claim in `run_one` still decides who posts."""
        moment = now or self.clock()
        async with self.services.db.session() as session:
            destinations = self._ours(await list_destinations(session, enabled_only=True))
        due = []
        for destination in destinations:
            try:
                day = due_day(moment, destination.digest_time, self._timezone(destination),
                              destination.digest_days, self.settings.grace)
            except Exception:  # a corrupt setting must not stop the others
                log.exception("bad digest settings for %s", destination.key)
                continue
            if day is not None:
                due.append((destination, day))
        if due:  # posted today already, in progress elsewhere, backing off: not due, so not a "skipped" digest
            async with self.services.db.session() as session:
                settled = await delivery_store.settled(session, [(d.key, day) for d, day in due], moment)
            due = [(d, day) for d, day in due if (d.key, day) not in settled]
        if not due:  # most ticks: nothing to load, and no topic expansion asked of the LLM
            return []
        context = await self._prepare([d for d, _ in due], {day for _, day in due})
        return list(await asyncio.gather(*(self.run_one(d, day, now=moment, context=context) for d, day in due)))

    def _ours(self, destinations: list[Destination]) -> list[Destination]:
        """The destinations this process can post to. Several processes may share a database, each with its own
        platforms (Slack replicas, one Discord process): one without a platform's adapter claimed its digests and
        recorded them as failed ("no slack adapter is running"), so the process that can post them waited out a
        backoff. They are left to it, and the log says so once per platform (a platform no process runs shows
        there, and in `paperboy digest status` as never posted)."""
        ours = [d for d in destinations if d.platform in self.posters]
        for platform in sorted({d.platform for d in destinations} - set(self.posters) - self._left):
            self._left.add(platform)
            log.warning("%s digests are left to a process that runs the %s adapter (none runs in this one)",
                        platform, platform)
        return ours

    async def run_for(self, day: date, destination_key: str | None = None) -> list[Outcome]:
        """By hand (`paperboy digest run`): the given day, regardless of the time, still exactly once. Without a
        key, only the destinations of platforms this runner can post to: claiming the others would record their
        digests as failed ("no slack adapter is running") for the bot process, which can post them, to back off."""
        async with self.services.db.session() as session:
            if destination_key is not None:
                found = await get_destination(session, destination_key)
                destinations = [found] if found is not None else []
            else:
                destinations = [d for d in await list_destinations(session, enabled_only=True)
                                if d.platform in self.posters]
        context = await self._prepare(destinations, {day})
        # By hand after a failure is someone asking for it now (the bot was re-invited): no waiting out its hold.
        return list(await asyncio.gather(*(self.run_one(d, day, context=context, retry_failed=True)
                                           for d in destinations)))

    async def _prepare(self, destinations: list[Destination], days: set[date]) -> _RunContext:
        """Everything the run's destinations share, loaded once: the days' papers, every channel's topics,
        what each was already sent. Composition per channel is then pure computation."""
        context = _RunContext()
        keys = [d.key for d in destinations]
        async with self.services.db.session() as session:
            for day in days:
                listing_day = await latest_day(session, day)
                papers = await papers_of_days(session, listing_day, listing_day) if listing_day else []
                context.days[day] = (listing_day, papers)
            context.topics = await all_channel_subscriptions(session)
            context.topics.update(await all_personal_subscriptions(session))  # DM digests, mention routing
            context.mentions = await mention_opt_ins(session, keys)
            context.seen = await posted_paper_ids_by_destination(session, keys)
            seen_days = await days_of(session, {i for ids in context.seen.values() for i in ids})
        for key, ids in context.seen.items():
            context.covered[key] = max((seen_days[i] for i in ids if i in seen_days), default=None)
        context.tldr_deadline = self.settings.tldr_deadline
        context.learned = LearnedRanking(self.services.matcher, self.services.learned_models.vocabulary)
        if self.services.semantic is not None:
            spent = await self._expand_topics({t for topics in context.topics.values() for t in topics})
            context.tldr_deadline = max(self.settings.tldr_deadline - spent, self.settings.tldr_deadline / 4)
        # Only the composed scopes' models (a tick with three channels due reads three channels' models), and of
        # those only the topics that name one of the day's papers: after the expansions, which change what does.
        scopes = [key for d in destinations for key in self._scope_keys(d, context.mentions.get(d.key, []))]
        named = feedback_service.named_topic_keys(
            self.services.matcher, (t for scope in dict.fromkeys(scopes) for t in context.topics.get(scope, [])),
            (papers for _, papers in context.days.values()))
        async with self.services.db.session() as session:
            context.models = await feedback_service.models_for(session, scopes, self.services.learned_models,
                                                               topic_keys=named)
        return context

    @staticmethod
    def _scope_keys(destination: Destination, opted_in: list[str]) -> list[str]:
        """The scopes whose models a destination's digest reads; none for a destination stored with a name no scope
        takes (a console channel "" or "a:b" from before names were checked): it fails alone when composed, where
        it had stopped the whole run, every channel's digest with it."""
        try:
            return [routing.digest_scope(destination).key, *routing.mention_scopes(destination, opted_in)]
        except PaperboyError:
            return []

    async def _expand_topics(self, topics: set[str]) -> float:
        """Expand the followed topics side by side, for at most half the deadline: a topic whose expansion is
        not ready is matched plainly this time (it is cached once the LLM answers a later run). Returns the
        seconds spent, which the TL;DRs then do not get."""
        semantic = self.services.semantic
        if semantic is None or not topics:
            return 0.0
        started = time.monotonic()
        tasks = [asyncio.ensure_future(semantic.prepare(self.services.matcher, topic)) for topic in sorted(topics)]
        _, pending = await asyncio.wait(tasks, timeout=self.settings.tldr_deadline / 2)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # failures already mean "no extra terms"
        if pending:
            log.info("%d topic expansion(s) not ready within the deadline: matched without them", len(pending))
        return time.monotonic() - started

    async def run_one(self, destination: Destination, day: date, *, now: datetime | None = None,
                      context: _RunContext | None = None, retry_failed: bool = False) -> Outcome:
        async with self._slots:
            if context is None:
                context = await self._prepare([destination], {day})
            outcome = await self._run_one(destination, day, now or self.clock(), context, retry_failed)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome

    async def _run_one(self, destination: Destination, day: date, now: datetime, context: _RunContext,
                       retry_failed: bool = False) -> Outcome:
        db = self.services.db
        poster = self.posters.get(destination.platform)
        if poster is None:  # not claimed: a failure recorded here would hold back the process that can post it
            return Outcome(destination.key, day, "skipped", f"no {destination.platform} adapter runs here")
        claim = await delivery_store.claim(db, destination.key, day, self.owner, now, self.settings.lease_seconds,
                                           retry_failed=retry_failed)
        if claim is None:
            return Outcome(destination.key, day, "skipped", "already posted, in progress, or backing off")
        # Every attempt after the first may follow one that reached the platform and then died (or timed out
        # waiting for its answer) before recording it: the tag lets this one find that post instead of repeating it.
        tag = DigestTag(destination.key, day, since=claim.first_claimed_at if claim.attempt > 1 else None)
        try:
            # Composed first either way: the same inputs give the same digest, so a found post is recorded with
            # the papers it lists (nothing is written between claim and completion that a stuck database could
            # hold up before the post).
            message, paper_ids = await self._compose(destination, day, context)
            if destination.user_id and not paper_ids:  # a person is not messaged daily to say "nothing"
                return await self._complete_empty(claim, destination, day)
            found = await poster.find_digest(as_value(destination), tag) if tag.since is not None else None
            if found is not None:
                missing = unlisted(message, found)
                if missing is not None:  # the earlier attempt got only part of a split digest out
                    try:
                        await poster.post_digest(as_value(destination), message, tag=tag, resume=found)
                    except DeliveryError as exc:
                        if not exc.permanent:
                            raise  # retried: the next attempt finds what got out and posts the rest
                        log.warning("digest for %s on %s: the rest of it cannot be posted (%s); recording what "
                                    "got out", destination.key, day, exc)
                        missing = None
                # recorded in the order of the numbers shown, which the found part fixed
                return await self._complete_found(claim, destination, day, found, digest_papers(message, found),
                                                  len(missing.items) if missing is not None else 0)
            try:
                result = await poster.post_digest(as_value(destination), message, tag=tag)
            except DeliveryError as exc:
                found = await self._what_got_out(poster, destination, tag, claim) if exc.permanent else None
                if found is None:
                    raise
                log.warning("digest for %s on %s: the rest of it cannot be posted (%s); recording what got out "
                            "(message %s)", destination.key, day, exc, found.message_ref)
                return await self._complete_found(claim, destination, day, found, digest_papers(message, found),
                                                  refused=True)
        except DeliveryError as exc:
            retry_at = await delivery_store.fail(db, claim, exc, self.clock(), retry_after=exc.retry_after,
                                                 permanent=exc.permanent)
            if exc.permanent:  # said once: it is not tried again until the hold ends or someone asks for it
                until = f"until {retry_at:%Y-%m-%d %H:%M} UTC" if retry_at is not None else "by this process"
                log.warning("digest for %s on %s failed for good: %s; not tried again %s (after the fix, setting "
                            "the digest there again tries it at once)", destination.key, day, exc, until)
            else:
                log.warning("digest for %s on %s failed: %s", destination.key, day, exc)
            return Outcome(destination.key, day, "failed", str(exc))
        except PaperboyError as exc:  # e.g. a stored name no scope takes: said as it is, no traceback needed
            await delivery_store.fail(db, claim, exc, self.clock())
            log.error("digest for %s on %s failed: %s", destination.key, day, exc)
            return Outcome(destination.key, day, "failed", str(exc))
        except Exception as exc:
            await delivery_store.fail(db, claim, exc, self.clock())
            log.exception("digest for %s on %s failed", destination.key, day)
            return Outcome(destination.key, day, "failed", type(exc).__name__)
        done = await delivery_store.complete(db, claim, result.message_ref, paper_ids, self.clock(),
                                             thread_ref=result.thread_ref)
        if not done:  # our lease ran out and someone else took over: they own the record now
            log.warning("digest for %s on %s posted after losing its claim", destination.key, day)
        return Outcome(destination.key, day, "posted", result.message_ref, tuple(paper_ids))

    async def _what_got_out(self, poster: DigestPoster, destination: Destination, tag: DigestTag,
                            claim: delivery_store.Claim) -> PostResult | None:
        """After a refusal that retrying cannot mend: the part of the digest the platform took before it (a split
        digest whose later message it refuses as it is), which then is the day's digest, recorded now rather than
        by a retry the day's hold no longer makes. None when nothing got out or the platform cannot be asked (the
        channel is gone)."""
        since = tag.since or claim.first_claimed_at or claim.claimed_at
        try:
            return await poster.find_digest(as_value(destination), dataclasses.replace(tag, since=since))
        except Exception as exc:  # what failed is recorded all the same; this look was a bonus
            log.info("digest for %s: could not look for what got out (%s)", destination.key, type(exc).__name__)
            return None

    async def _complete_empty(self, claim: delivery_store.Claim, destination: Destination, day: date) -> Outcome:
        done = await delivery_store.complete_without_post(self.services.db, claim, self.clock())
        if not done:
            return Outcome(destination.key, day, "skipped", "claim lost")
        return Outcome(destination.key, day, "skipped", "nothing to send")

    async def _complete_found(self, claim: delivery_store.Claim, destination: Destination, day: date,
                              found: PostResult, paper_ids: list[int], completed: int = 0,
                              refused: bool = False) -> Outcome:
        """An earlier attempt's digest is on the platform already: record it as this delivery's post, with the
        papers the digest lists (`completed`: how many of them this attempt posted, the earlier one having got
        only part of the digest out; `refused`: this attempt's own part, the platform refusing the rest, which
        the caller said)."""
        done = await delivery_store.complete(self.services.db, claim, found.message_ref, paper_ids, self.clock(),
                                             thread_ref=found.thread_ref)
        if done and found.later_refs:
            async with self.services.db.session() as session:
                await record_digest_parts(session, destination.key, found.later_refs, paper_ids)
        posted = f"posted the {completed} papers it had not" if completed else "posted nothing"
        if refused:
            detail = f"{found.message_ref}, the part the platform took"
            return Outcome(destination.key, day, "posted" if done else "skipped",
                           detail if done else "claim lost while recording a partial post", tuple(paper_ids))
        log.warning("digest for %s on %s was already posted by %s (message %s); recorded it, %s",
                    destination.key, day, claim.previous_owner or "an earlier attempt", found.message_ref, posted)
        if not done:
            return Outcome(destination.key, day, "skipped", "claim lost while recording an earlier post")
        detail = f"{found.message_ref}, found from an earlier attempt" + (f"; {posted}" if completed else "")
        return Outcome(destination.key, day, "posted", detail, tuple(paper_ids))

    async def _compose(self, destination: Destination, day: date, context: _RunContext) -> tuple[Message, list[int]]:
        services = self.services
        scope = routing.digest_scope(destination)  # the channel's topics, or the person's for a DM digest
        listing_day, papers = context.days[day]
        topics = context.topics.get(scope.key, [])
        if listing_day is None or (destination.user_id and not topics):
            plan = DigestPlan(day=day, topics=topics)
        else:
            match = feedback_service.day_match(context.models, scope.key, topics,
                                               context.learned or LearnedRanking(services.matcher))
            plan = choose(services.matcher, listing_day, papers, topics, seen=context.seen.get(destination.key, set()),
                          covered_day=context.covered.get(destination.key), max_items=services.digest_max_items,
                          match=match)
        if not plan.papers:
            plan.day = day
        message = await render_digest(plan, services.summaries, platform=destination.platform,
                                      nothing_new=routing.nothing_new(destination, topics, self.settings.nothing_new),
                                      for_channel=not destination.user_id,
                                      deadline=context.tldr_deadline)
        message = routing.personalize(destination, message)
        message = routing.with_mentions(services.matcher, destination, message, plan.papers,
                                        context.mentions.get(destination.key, []), context.topics,
                                        context.models, context.learned or LearnedRanking(services.matcher))
        return message, [p.id for p in plan.papers]


@dataclass
class _RunContext:
    days: dict[date, tuple[date | None, list[Paper]]] = field(default_factory=dict)
    topics: dict[str, list[str]] = field(default_factory=dict)
    seen: dict[str, set[int]] = field(default_factory=dict)
    covered: dict[str, date | None] = field(default_factory=dict)
    mentions: dict[str, list[str]] = field(default_factory=dict)  # channel → people opted in to mentions there
    tldr_deadline: float = 8.0
    models: dict[tuple[str, str], LearnedModel] = field(default_factory=dict)  # what each channel taught a topic
    learned: LearnedRanking | None = None
