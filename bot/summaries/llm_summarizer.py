"""Summaries from any OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama, LM Studio, llama.cpp).

We do our own retrying instead of the SDK's (`max_retries=0`): the whole call, retries and `Retry-After`
waits included, must fit in one deadline so a slow or rate-limited server costs at most `timeout` seconds
before the reader gets the offline summary; and the sleep is injected so tests wait for nothing.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import openai
from pydantic import SecretStr

from bot.summaries.kinds import Draft, SummaryRequest
from bot.summaries.output_cleaner import clean_output
from bot.summaries.prompts import MAX_REPLY_TOKENS, build_messages, hijacked, is_refusal, parse_reply, visible_reply
from bot.summaries.summarizer import SummaryFailure

Sleep = Callable[[float], Awaitable[None]]
MonotonicClock = Callable[[], float]

DEFAULT_TIMEOUT = 20.0
MAX_RETRY_AFTER = 60.0
# Far more than any reply within our `max_tokens`: a server that ignores the limit and sends megabytes is not
# answering what we asked, and cleaning that much text would hold up the whole event loop for seconds.
MAX_REPLY_CHARS = 20_000
# An error about this one paper's text (Azure's content filter, an abstract too long for the model), not about the
# server or our settings: the other papers still go to the LLM.
_PAPER_SPECIFIC_CODES = frozenset({"content_filter", "content_policy_violation", "context_length_exceeded",
                                   "string_above_max_length"})
# Local servers (Ollama, llama.cpp) ignore the key, but the SDK insists on one.
_NO_KEY = "not-needed"


def make_openai_client(base_url: str | None, api_key: SecretStr | None, timeout: float) -> openai.AsyncOpenAI:
    """A client that reads nothing from the environment behind our back and never retries on its own."""
    return openai.AsyncOpenAI(
        base_url=base_url or "https://api.openai.com/v1",
        api_key=api_key.get_secret_value() if api_key else _NO_KEY,
        timeout=timeout,
        max_retries=0,
    )


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if not value:
            continue
        try:
            return max(float(value) * scale, 0.0)
        except ValueError:
            try:
                moment = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            return max(moment.timestamp() - time.time(), 0.0)
    return None


def _usage(completion: Any) -> tuple[int, int]:
    usage = getattr(completion, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    answer = getattr(usage, "completion_tokens", None)
    return (prompt if isinstance(prompt, int) else 0, answer if isinstance(answer, int) else 0)


def _content(completion: Any) -> str | None:
    """The reply text, tolerating servers that return a half-filled object instead of failing loudly."""
    try:
        content = completion.choices[0].message.content
    except (AttributeError, IndexError, TypeError, KeyError):
        return None
    return content if isinstance(content, str) else None


def _finish_reason(completion: Any) -> str | None:
    """"length": the server cut the reply at `max_tokens`; "content_filter": its filter withheld the reply."""
    try:
        reason = completion.choices[0].finish_reason
    except (AttributeError, IndexError, TypeError, KeyError):
        return None
    return reason if isinstance(reason, str) else None


def _from_event_stream(raw: str | bytes) -> Any:
    """A server that only streams answers a plain request with server-sent events anyway: their deltas put
    together, shaped like a completion; None when the body is not such a stream."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    parts: list[str] = []
    finish: Any = None
    usage: Any = None
    seen = False
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
        except (ValueError, RecursionError):
            return None
        if not isinstance(chunk, dict):
            return None
        seen = True
        if isinstance(chunk.get("usage"), dict):
            usage = SimpleNamespace(**chunk["usage"])
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            parts.append(delta["content"])
        finish = choice.get("finish_reason") or finish
    if not seen:
        return None
    message = SimpleNamespace(content="".join(parts))
    return SimpleNamespace(choices=[SimpleNamespace(message=message, finish_reason=finish)], usage=usage)


class LlmSummarizer:
    """One logical call per request: a deadline, retries with backoff on 429/5xx/connection errors honouring
    `Retry-After`, and a plain-text reply checked against the shape we asked for."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = 3,
        backoff: float = 1.0,
        sleep: Sleep = asyncio.sleep,
        clock: MonotonicClock = time.monotonic,
    ) -> None:
        self.client = client
        self._model = model
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock

    @property
    def model(self) -> str:
        return self._model

    async def summarize(self, request: SummaryRequest) -> Draft:
        deadline = self._clock() + self.timeout
        messages: Any = build_messages(request)
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise SummaryFailure("timeout", outage=True, attempts=attempt - 1)
            try:
                async with asyncio.timeout(remaining):
                    completion = await self.client.chat.completions.create(
                        model=self._model, messages=messages, temperature=0.2,
                        max_tokens=MAX_REPLY_TOKENS[request.kind], timeout=remaining,
                    )
            except (TimeoutError, openai.APITimeoutError):
                raise SummaryFailure("timeout", outage=True, attempts=attempt,
                                     detail=f"no answer within {self.timeout:g} s") from None
            except (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError) as exc:
                wait = self._wait_before_retry(exc, attempt)
                if attempt >= self.attempts or wait is None or wait >= deadline - self._clock():
                    raise self._gave_up(exc, attempt) from None
                await self._sleep(wait)
                continue
            except openai.APIStatusError as exc:  # 400/401/403/404…: retrying will not help
                if exc.status_code == 413 or (exc.code or "") in _PAPER_SPECIFIC_CODES:
                    raise SummaryFailure("declined", outage=False, attempts=attempt,
                                         detail=f"HTTP {exc.status_code} {exc.code or ''}".strip()) from None
                raise SummaryFailure("refused", outage=True, attempts=attempt,
                                     detail=f"HTTP {exc.status_code}") from None
            except (openai.APIResponseValidationError, ValueError) as exc:  # a body that is not JSON
                raise SummaryFailure("malformed", outage=False, attempts=attempt,
                                     detail=type(exc).__name__) from None
            return self._draft(completion, request, attempt)

    def _wait_before_retry(self, exc: openai.APIError, attempt: int) -> float | None:
        if isinstance(exc, openai.APIStatusError):
            hinted = _retry_after(exc)
            if hinted is not None:
                return hinted if hinted <= MAX_RETRY_AFTER else None
        return float(self.backoff * (2 ** (attempt - 1)))

    @staticmethod
    def _gave_up(exc: openai.APIError, attempt: int) -> SummaryFailure:
        if isinstance(exc, openai.RateLimitError):
            return SummaryFailure("rate-limited", outage=True, attempts=attempt, detail="HTTP 429")
        if isinstance(exc, openai.APIStatusError):
            return SummaryFailure("server error", outage=True, attempts=attempt, detail=f"HTTP {exc.status_code}")
        return SummaryFailure("unreachable", outage=True, attempts=attempt, detail=type(exc).__name__)

    @staticmethod
    def _draft(completion: Any, request: SummaryRequest, attempt: int) -> Draft:
        if isinstance(completion, (str, bytes)):  # a non-JSON content type: the SDK hands back the raw text
            completion = _from_event_stream(completion)
            if completion is None:
                raise SummaryFailure("malformed", outage=False, attempts=attempt, detail="not a JSON response")
        prompt_tokens, completion_tokens = _usage(completion)
        content = _content(completion)
        finish = _finish_reason(completion)

        def failure(reason: str, detail: str = "") -> SummaryFailure:
            return SummaryFailure(reason, outage=False, prompt_tokens=prompt_tokens,
                                  completion_tokens=completion_tokens, attempts=attempt, detail=detail)

        if finish == "content_filter":  # whatever is left of the reply was not meant to be shown
            raise failure("declined", "content filter")
        if content is None:
            raise failure("malformed")
        if len(content) > MAX_REPLY_CHARS:
            raise failure("unparseable", f"a reply of {len(content):,} characters")
        parsed = parse_reply(content, request.kind, title=request.paper.title, cut=finish == "length")
        if parsed is None:
            raise failure("empty" if not content.strip() else "unparseable")
        # Judged on all the model said, not only the sentence kept: a mention or our instructions anywhere in the
        # reply mean the abstract got to the model.
        said = visible_reply(content) or ""
        if clean_output(said, request.kind).mentions_removed or hijacked(said, request):
            raise failure("rejected", "the paper's text steered the model")
        if is_refusal(parsed):
            raise failure("declined")
        return Draft(parsed, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, attempts=attempt)
