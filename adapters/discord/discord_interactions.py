"""Answers to interactions (slash commands, buttons) under a bound on rate-limit waits.

Everything an interaction sends after its first response (follow-ups, edits of the original response) goes
through discord.py's webhook adapter, not the bot's `HTTPClient`: it waits out every 429 Discord's edge sends,
however long, and `max_ratelimit_timeout` does not reach it. A `/papers today` held by a ten-minute limit sat
on "thinking…" until its token (15 minutes) ran out, and the person never learnt why. Here each interaction's
task gets an adapter that gives up at once (`discord.RateLimited`) on a wait longer than the bot's cap or than
its token has left; the caller says so in one line to the person where it still can.
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Any

import aiohttp
import discord
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

# discord.py's own 429 handling for the bot's REST routes gives up beyond this (`max_ratelimit_timeout`)
MAX_RATE_LIMIT_WAIT = 60.0
TOKEN_MARGIN = 5.0  # seconds: a wait ending this close to the token's expiry could not answer in time anyway
# What a send in answer to an interaction can fail with instead of being made (a refusal, or a limit too long)
ANSWER_REFUSED = (discord.HTTPException, discord.RateLimited)


def bound_waits(interaction: discord.Interaction) -> None:
    """Bound every rate-limit wait of this interaction's answers (the rest of the current task) by the bot's cap
    and by the time its token has left. discord.py looks its webhook adapter up in a context variable at each
    call, and each interaction is handled in a task of its own, so this reaches no other interaction."""
    left = (interaction.expires_at - discord.utils.utcnow()).total_seconds() - TOKEN_MARGIN
    async_context.set(BoundedWebhookAdapter(max(0.0, min(MAX_RATE_LIMIT_WAIT, left))))


def held_back(exc: BaseException) -> str:
    """What the person is told when their answer could not go out: briefly, and when asking again will work."""
    if isinstance(exc, discord.RateLimited):
        minutes = max(1, math.ceil(exc.retry_after / 60))
        return (f"Discord is holding my answers back for about {minutes} minute{'s' if minutes > 1 else ''} "
                "(rate limit), so this one could not be sent. Please ask again after that.")
    return "Sorry, I could not send the answer to Discord. Please try again in a moment."


class BoundedWebhookAdapter(AsyncWebhookAdapter):
    """discord.py's webhook adapter, refusing a 429 that asks to wait longer than `max_wait` seconds with
    `discord.RateLimited` instead of sleeping through it (shorter ones are waited out as before)."""

    def __init__(self, max_wait: float) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.max_wait = max_wait

    async def request(self, route: Any, session: aiohttp.ClientSession, **kwargs: Any) -> Any:
        return await super().request(route, _Bounded(session, self.max_wait), **kwargs)  # type: ignore[arg-type]


class _Bounded:
    """The session as discord.py's adapter uses it (`session.request(...)` in `async with`), looking at each
    answer before the adapter does."""

    def __init__(self, session: aiohttp.ClientSession, max_wait: float) -> None:
        self._session = session
        self._max_wait = max_wait

    def request(self, *args: Any, **kwargs: Any) -> _Checked:
        return _Checked(self._session.request(*args, **kwargs), self._max_wait)


class _Checked:
    def __init__(self, pending: Any, max_wait: float) -> None:
        self._pending = pending
        self._max_wait = max_wait

    async def __aenter__(self) -> aiohttp.ClientResponse:
        response: aiohttp.ClientResponse = await self._pending.__aenter__()
        # Without `Via` the 429 is not Discord's own (a proxy's or Cloudflare's ban): discord.py raises at once.
        if response.status == 429 and response.headers.get("Via"):
            wait = await _retry_after(response)
            if wait > self._max_wait:
                await self._pending.__aexit__(None, None, None)
                raise discord.RateLimited(wait)
        return response

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._pending.__aexit__(kind, exc, tb)


async def _retry_after(response: aiohttp.ClientResponse) -> float:
    """The body's `retry_after` (seconds, with decimals), as discord.py reads it, else the `Retry-After` header.
    The body stays readable for discord.py (aiohttp keeps it once read)."""
    try:
        data = await response.json(content_type=None)
        return float(data["retry_after"])
    except (ValueError, TypeError, KeyError, aiohttp.ClientError):
        pass
    try:
        return float(response.headers.get("Retry-After") or 0)
    except ValueError:
        return 0.0
