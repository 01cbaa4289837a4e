"""Learned models parsed once per process and kept while their stored stamp stays the same.

Every digest run needs the model of each (channel, topic) it composes for: tens of thousands with a model on
every subscription. Reading and decoding them all again each run was most of what the models added to a run's
time (bench/digests_bench.py --models); models change only when someone judges, so a run asks which scopes'
models changed since its last run (`feedback_store.model_changes`), reads the stamps of those scopes only, and
parses only the models whose stamp moved. Each replica keeps its own cache: a refit by another one is numbered
in the shared database, so nobody composes with a stale model. A writer that numbers nothing (a replica of an
older version during a rolling deploy, a hand edit) is caught by reading every stamp again every few minutes.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Collection, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.feedback.learned_model import LearnedModel
from bot.feedback.vocabulary import MAX_WORDS, Vocabulary
from storage import feedback_store
from storage.database import Database

ModelKey = tuple[str, str]  # (scope key, topic key)


# A parsed model takes about 2 kB with its words interned (3.7 kB without; tracemalloc over the bench's models):
# 50,000 (10,000 channels with five judged topics each) about 100 MB. Beyond
# this many the oldest are dropped, and runs read those again as a process that has just started does.
KEPT_MODELS = 50_000
# Every stamp is read again at least this often (seconds), whatever the changes say.
FULL_READ_EVERY = 600.0


class ModelCache:
    """Handed in by the composition root (one per process), so every digest run of the process shares it."""

    def __init__(self, limit: int = KEPT_MODELS, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._kept: dict[ModelKey, tuple[str, LearnedModel]] = {}
        # (row id, stamp) of every stored model of the scopes looked at, by scope and topic key, as of generation
        # `_generation`: a scope missing here has its stamps read again
        self._stamps: dict[str, dict[str, tuple[int, str]]] = {}
        self._generation: int | None = None
        self._read_all_at: float | None = None
        self.vocabulary = Vocabulary()  # the numbers its models' words have (paper_block.py)

    @property
    def kept(self) -> int:
        """How many parsed models this process holds."""
        return len(self._kept)

    async def load(self, session: AsyncSession, scopes: Iterable[str],
                   topic_keys: Collection[str] | None = None) -> dict[ModelKey, LearnedModel]:
        """Every stored model of these scope keys (only of these topic keys, when given), as it is stored now."""
        wanted = list(dict.fromkeys(scopes))
        await self._forget_changed(session)
        reread = await self._read_stamps(session, [scope for scope in wanted if scope not in self._stamps])
        found: dict[ModelKey, LearnedModel] = {}
        missing: dict[int, ModelKey] = {}
        for scope in wanted:
            for topic_key, (row_id, stamp) in self._stamps[scope].items():
                if topic_keys is not None and topic_key not in topic_keys:
                    continue
                key = (scope, topic_key)
                kept = self._kept.get(key)
                if stamp and kept is not None and kept[0] == stamp:
                    found[key] = kept[1]
                else:
                    missing[row_id] = key
        if len(self.vocabulary) > MAX_WORDS:
            self.vocabulary = Vocabulary()
        for row_id, (stamp, data) in (await feedback_store.models_by_id(session, list(missing))).items():
            key = missing[row_id]
            found[key] = model = LearnedModel.from_json(data)
            model.word_numbers(self.vocabulary)  # numbered as it is parsed: a run then reads no word of it
            if stamp:
                self._kept.pop(key, None)  # re-inserted: the newest read is the last dropped
                self._kept[key] = (stamp, model)
        for key in list(itertools.islice(self._kept, max(0, len(self._kept) - self.limit))):
            del self._kept[key]
        if reread:  # reset (or its scope removed) since: no longer stored, no longer kept
            for key in [k for k in self._kept if k[0] in reread and k[1] not in self._stamps[k[0]]]:
                del self._kept[key]
        return found

    async def _read_stamps(self, session: AsyncSession, scopes: list[str]) -> set[str]:
        """Read the stamps of every model of these scopes (a scope without any gets none); the scopes read."""
        if not scopes:
            return set()
        for scope in scopes:
            self._stamps[scope] = {}
        for (scope, topic_key), row in (await feedback_store.model_stamps(session, scopes)).items():
            self._stamps[scope][topic_key] = row
        return set(scopes)

    async def _forget_changed(self, session: AsyncSession) -> None:
        """Drop the stamps of the scopes whose models changed since the last look (all of them when that cannot
        be told, and every FULL_READ_EVERY seconds)."""
        now = self._clock()
        everything = self._read_all_at is None or now - self._read_all_at >= FULL_READ_EVERY
        generation, changed = await feedback_store.model_changes(session, None if everything else self._generation)
        if changed is None:
            self._stamps.clear()
            self._read_all_at = now
        else:
            for scope in changed:
                self._stamps.pop(scope, None)
        self._generation = generation

    async def warm(self, db: Database, *, batch: int = 200, stop: asyncio.Event | None = None) -> int:
        """Read and parse the stored models (up to the limit) at start-up, before a digest run needs them: else
        the first run after every restart or deploy parses them all itself (bench/digests_bench.py --models: it
        took half again as long as a later one). A few hundred scopes at a time, yielding between them, so the
        bot answers commands meanwhile; `stop` ends it early. How many models the process now keeps."""
        async with db.session() as session:
            scopes = await feedback_store.model_scopes(session)
        for start in range(0, len(scopes), batch):
            if self.kept >= self.limit or (stop is not None and stop.is_set()):
                break
            async with db.session() as session:
                await self.load(session, scopes[start:start + batch])
            await asyncio.sleep(0)
        return self.kept
