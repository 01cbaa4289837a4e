"""subscriptions, paper_judgements, feedback_models: topic keys as topics are keyed today (NFKC), duplicates merged

A topic stored before topics were NFKC-normalised ("ＬＬＭ") kept the key of its fullwidth spelling, so following
the plain "LLM" later added a second row: both matched, and the channel saw its topics (and papers) twice. Every
stored topic now gets the key and the shown form `bot.topics.subscriptions.clean_topic` gives it; where two rows
of one scope then name one topic, one stays:
- subscriptions: the oldest (its creator and date stand), shown as the topic is shown today;
- judgements: each person's later verdict on a paper (a second click replaces the first);
- learned models: the one fit on more judgements (then the newer), with a new stamp, and each scope's change
  numbered as a refit numbers it (migration 0016), so a running bot reads its models again. It is refit on all
  of the topic's judgements at the next judgement, as any model is.
A topic that no longer cleans (kept since an older rule) keeps its key.

Downgrading keeps the new keys: the older code keys plain topics the same way.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_NO_TOPIC = "none"  # the key of a judgement made without a topic (storage.feedback_models.NO_TOPIC)
_SUBSCRIPTIONS = sa.table("subscriptions", sa.column("id", sa.Integer), sa.column("scope", sa.String),
                          sa.column("topic", sa.String), sa.column("topic_key", sa.String))
_JUDGEMENTS = sa.table("paper_judgements", sa.column("id", sa.Integer), sa.column("scope", sa.String),
                       sa.column("topic", sa.String), sa.column("topic_key", sa.String),
                       sa.column("paper_id", sa.Integer), sa.column("user_id", sa.String),
                       sa.column("judged_at", sa.DateTime(timezone=True)))
_MODELS = sa.table("feedback_models", sa.column("id", sa.Integer), sa.column("scope", sa.String),
                   sa.column("topic", sa.String), sa.column("topic_key", sa.String),
                   sa.column("judgements", sa.Integer), sa.column("stamp", sa.String),
                   sa.column("updated_at", sa.DateTime(timezone=True)))
_GENERATION = sa.table("feedback_model_generation", sa.column("id", sa.Integer), sa.column("value", sa.BigInteger))
_CHANGES = sa.table("feedback_model_changes", sa.column("generation", sa.BigInteger), sa.column("scope", sa.String))


def upgrade() -> None:
    from bot.errors import UsageError
    from bot.topics.subscriptions import clean_topic  # the rule every topic is keyed by

    def keyed(topic: str, key: str) -> tuple[str, str]:
        if key == _NO_TOPIC:
            return topic, key
        try:
            return clean_topic(topic)
        except UsageError:
            return topic, key

    conn = op.get_bind()
    _rekey(conn, _SUBSCRIPTIONS, keyed, lambda rows: min(rows, key=lambda r: r["id"]), ("scope",))
    _rekey(conn, _JUDGEMENTS, keyed, lambda rows: max(rows, key=lambda r: (r["judged_at"], r["id"])),
           ("scope", "paper_id", "user_id"))
    changed = _rekey(conn, _MODELS, keyed, lambda rows: max(rows, key=lambda r: (r["judgements"], r["updated_at"],
                                                                                  r["id"])), ("scope",))
    if changed:
        conn.execute(sa.update(_MODELS).where(_MODELS.c.id == sa.bindparam("pk"))
                     .values(stamp=sa.bindparam("new_stamp")),
                     [{"pk": pk, "new_stamp": uuid.uuid4().hex} for pk in sorted(changed)])
        for scope in sorted(set(changed.values())):
            _record_change(conn, scope)


def downgrade() -> None:
    pass  # see the docstring


def _rekey(conn: Connection, table: sa.TableClause, keyed: Callable[[str, str], tuple[str, str]],
           choose: Callable[[list[dict[str, Any]]], dict[str, Any]], unique: tuple[str, ...]) -> dict[int, str]:
    """Give each row its topic's key today; of the rows that then share (`unique`…, key), keep `choose`'s.
    Returns the scope of each row kept where anything changed (re-keyed, or others merged into it), by id."""
    rows = [dict(r) for r in conn.execute(sa.select(table)).mappings()]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    moved: dict[int, tuple[str, str]] = {}
    for row in rows:
        shown, key = keyed(row["topic"], row["topic_key"])
        if key != row["topic_key"]:
            moved[row["id"]] = (shown, key)
        groups.setdefault((*(row[c] for c in unique), key), []).append(row)
    touched = [group for group in groups.values() if any(r["id"] in moved for r in group)]
    gone = [r["id"] for group in touched for r in group if r is not choose(group)]
    if gone:
        conn.execute(sa.delete(table).where(table.c.id.in_(gone)))
    kept = {chosen["id"]: chosen["scope"] for chosen in map(choose, touched)}
    updates = [{"pk": pk, "new_key": moved[pk][1], "shown": moved[pk][0]} for pk in kept if pk in moved]
    if updates:
        conn.execute(sa.update(table).where(table.c.id == sa.bindparam("pk"))
                     .values(topic_key=sa.bindparam("new_key"), topic=sa.bindparam("shown")), updates)
    return kept


def _record_change(conn: Connection, scope: str) -> None:
    """As `storage.feedback_store` numbers a refit: the generation bumped, the scope noted under it."""
    conn.execute(sa.update(_GENERATION).where(_GENERATION.c.id == 1).values(value=_GENERATION.c.value + 1))
    value = conn.execute(sa.select(_GENERATION.c.value).where(_GENERATION.c.id == 1)).scalar_one_or_none()
    if value is not None:
        conn.execute(sa.insert(_CHANGES).values(generation=value, scope=scope))
