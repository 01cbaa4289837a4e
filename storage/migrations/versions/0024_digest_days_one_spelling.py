"""destinations: digest days in their one spelling

`/papers digest 09:00 sat,sat,sun` stored the days as typed: repeats, the order typed, full names, a phone's en
dash. Commands now store them as `bot.digests.schedule.normal_days` writes them (each day once, Monday first, a
run of days as a range: "sat-sun", "mon,wed,fri"); this rewrites the values stored before the same way (the
rules are written out here as they are at this revision). A value no longer understood is left as it is: the
bot shows it as stored, and it fails as it did.

Downgrading keeps the rewritten values, which every earlier version reads the same.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ALIASES = {"weekdays": "mon-fri", "weekday": "mon-fri", "weekends": "sat-sun", "weekend": "sat-sun",
            "daily": "mon-sun", "everyday": "mon-sun", "every-day": "mon-sun"}

_DESTINATIONS = sa.table("destinations", sa.column("id", sa.Integer), sa.column("digest_days", sa.String))


def _day(word: str) -> int | None:
    if len(word) >= 3:
        for number, name in enumerate(_FULL):
            if name.startswith(word):
                return number
    return None


def _normal(spec: str) -> str | None:
    """The one spelling of `spec`, or None when it names no days as the bot reads them."""
    cleaned = spec.strip().lower().replace("–", "-").replace("—", "-").replace(" ", "")
    cleaned = _ALIASES.get(cleaned, cleaned)
    found: set[int] = set()
    for part in cleaned.split(","):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first), _day(last)
            if a is None or b is None:
                return None
            found.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        elif (number := _day(part)) is not None:
            found.add(number)
        else:
            return None
    runs: list[list[int]] = []
    for day in sorted(found):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(_DAYS[r[0]] if len(r) == 1 else f"{_DAYS[r[0]]}-{_DAYS[r[-1]]}" for r in runs) or None


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_DESTINATIONS.c.id, _DESTINATIONS.c.digest_days)).all()
    for row_id, days in rows:
        normal = _normal(days or "")
        if normal is not None and normal != days:
            conn.execute(sa.update(_DESTINATIONS).where(_DESTINATIONS.c.id == row_id).values(digest_days=normal))


def downgrade() -> None:
    pass
