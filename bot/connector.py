"""The one contract every chat platform implements (console, Slack, Discord), so `paperboy run` starts, watches
and stops them all the same way: a loop over connectors, never a branch per platform.

Modelled on errbot's `Backend` and opsdroid's connect/listen/send/disconnect: a connector owns its connection
(`start`/`stop`), hands the digest runner its `poster`, and answers `/healthz` with `health()`.
"""

from __future__ import annotations

from typing import Protocol

from bot.digests.poster import DigestPoster


class Connector(Protocol):
    platform: str  # slack | discord | console: the `platform` of the destinations it posts to

    @property
    def poster(self) -> DigestPoster: ...

    async def start(self) -> None:
        """Connect and begin listening; raise `PaperboyError` (one clear line) when it cannot."""
        ...

    async def stop(self) -> None:
        """Disconnect; never raises, and is safe to call when `start` failed or never ran."""
        ...

    def health(self) -> str | None:
        """"ok" or what is wrong, for /healthz; None when there is no connection to check (the console)."""
        ...
