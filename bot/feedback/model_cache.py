"""Learned models parsed once per process and kept while their stored stamp stays the same.

Every digest run needs the model of each (channel, topic) it composes for: tens of thousands with a model on
every subscription. Reading and decoding them all again each run was most of what the models added to a run's
time (bench/digests_bench.py --models); models change only when someone judges, so a run reads the stamps
(small) and only the models refit since the last run. Each replica keeps its own cache: a refit by another one
changes the stamp in the shared database, so nobody composes with a stale model.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Collection, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.feedback.learned_model import LearnedModel
from storage import feedback_store
from storage.database import Database

ModelKey = tuple[str, str]  # (scope key, topic key)


# A parsed model takes about 2 kB with its words interned (3.7 kB without; tracemalloc over the bench's models):
# 50,000 (10,000 channels with five judged topics each) about 100 MB. Beyond
# this many the oldest are dropped, and runs read those again as a process that has just started does.
KEPT_MODELS = 50_000


class ModelCache:
    """Handed in by the composition root (one per process), so every digest run of the process shares it."""

    def __init__(self, limit: int = KEPT_MODELS) -> None:
        self.limit = limit
        self._kept: dict[ModelKey, tuple[str, LearnedModel]] = {}

    @property
    def kept(self) -> int:
        """How many parsed models this process holds."""
        return len(self._kept)

    async def load(self, session: AsyncSession, scopes: Iterable[str],
                   topic_keys: Collection[str] | None = None) -> dict[ModelKey, LearnedModel]:
        """Every stored model of these scope keys (only of these topic keys, when given), as it is stored now."""
        wanted = list(dict.fromkeys(scopes))
        stamps = await feedback_store.model_stamps(session, wanted)
        found: dict[ModelKey, LearnedModel] = {}
        missing: dict[int, ModelKey] = {}
        for key, (row_id, stamp) in stamps.items():
            if topic_keys is not None and key[1] not in topic_keys:
                continue
            kept = self._kept.get(key)
            if stamp and kept is not None and kept[0] == stamp:
                found[key] = kept[1]
            else:
                missing[row_id] = key
        for row_id, (stamp, data) in (await feedback_store.models_by_id(session, list(missing))).items():
            key = missing[row_id]
            found[key] = model = LearnedModel.from_json(data)
            if stamp:
                self._kept.pop(key, None)  # re-inserted: the newest read is the last dropped
                self._kept[key] = (stamp, model)
        for key in list(itertools.islice(self._kept, max(0, len(self._kept) - self.limit))):
            del self._kept[key]
        asked = set(wanted)
        for key in [k for k in self._kept if k[0] in asked and k not in stamps]:
            del self._kept[key]  # reset (or its scope removed) since: no longer stored, no longer kept
        return found

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
