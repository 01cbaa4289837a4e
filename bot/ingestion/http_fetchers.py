"""The only ingestion code that talks to the network: Hugging Face daily papers and the arXiv API.

Fetchers return raw documents (bytes plus where they came from); parsing stays pure and lives elsewhere.
Both honour the sources' etiquette: retries with backoff on 429/5xx that respect `Retry-After`, arXiv's one
request every three seconds, and an honest User-Agent. Clock and sleep are injectable so tests never wait.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from bot import __version__
from bot.errors import FetchError
from bot.ingestion.arxiv_parser import reported_error
from bot.ingestion.paper_checks import one_line

USER_AGENT = f"Paperboy/{__version__} (research paper digest bot; +https://github.com/paperboy-bot/paperboy)"
HF_BASE_URL = "https://huggingface.co"
ARXIV_BASE_URL = "https://export.arxiv.org"
HF_PAGE_SIZE = 100
ARXIV_PAGE_SIZE = 100
ARXIV_MIN_INTERVAL = 3.0
MAX_RETRY_AFTER = 120.0
MAX_BODY_BYTES = 32 * 1024 * 1024  # one API page is well under 1 MB
MAX_REDIRECTS = 5
ERROR_BODY_BYTES = 65536  # read of a refusal's body, for its reason
KNOWN_HOSTS = frozenset({"huggingface.co", "arxiv.org", "export.arxiv.org"})

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class FetchedDocument:
    data: bytes
    where: str
    listed_on: date | None = None

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)


class HttpStatusError(FetchError):
    """A refusal (4xx) with the first bytes of its body, which may say why: arXiv answers a bad query or id with
    HTTP 400 and its error feed."""

    def __init__(self, message: str, status: int, body: bytes) -> None:
        self.status = status
        self.body = body
        super().__init__(message)


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        try:
            delay = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
        return min(max(delay, 0.0), MAX_RETRY_AFTER)


def _json_error(body: bytes) -> str | None:
    """The reason in a JSON refusal (`{"error": "…"}`, as Hugging Face sends), on one short line."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return (one_line(error) or None) if isinstance(error, str) else None


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, (_RetryableStatus, httpx.TransportError, TimeoutError))


class HttpFetcher:
    """Shared request machinery: one client, retries, backoff and a minimum interval between requests.

    Every request has limits that hold whatever the server does: `deadline` seconds for the whole answer
    (the client's timeout by default: a read timeout alone restarts with every byte), `max_bytes` of body,
    and redirects only to the same host or `allowed_hosts`.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        attempts: int = 4,
        backoff: float = 1.0,
        min_interval: float = 0.0,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        deadline: float | None = None,
        max_bytes: int = MAX_BODY_BYTES,
        allowed_hosts: frozenset[str] = KNOWN_HOSTS,
    ) -> None:
        self.client = client
        self.deadline = deadline if deadline is not None else (client.timeout.read or 30.0)
        self.max_bytes = max_bytes
        self.allowed_hosts = allowed_hosts
        self.attempts = attempts
        self.backoff = backoff
        self.min_interval = min_interval
        self._sleep = sleep
        self._clock = clock
        self._last_request: float | None = None
        self._gate = asyncio.Lock()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus):
            hinted = _retry_after(exc.response)
            if hinted is not None:
                return hinted
        return float(self.backoff * (2 ** (state.attempt_number - 1)))

    async def _pace(self) -> None:
        if self.min_interval <= 0:
            return
        now = self._clock()
        if self._last_request is not None:
            remaining = self.min_interval - (now - self._last_request)
            if remaining > 0:
                await self._sleep(remaining)
        self._last_request = self._clock()

    def _may_follow(self, origin: httpx.URL, target: httpx.URL) -> bool:
        """Redirects stay on the host we asked or go to a known source host, never anywhere a server says."""
        if target.scheme not in ("http", "https"):
            return False
        return target.host == origin.host or target.host in self.allowed_hosts

    async def _read_capped(self, response: httpx.Response, host: str) -> bytes:
        """The body, refused as soon as it passes the cap: a server's Content-Length is only a claim."""
        too_big = FetchError(f"{host} sent more than {self.max_bytes // 1_000_000} MB; refusing the answer")
        declared = response.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            raise too_big
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                raise too_big
        return bytes(body)

    async def _read_head(self, response: httpx.Response) -> bytes:
        """At most the first 64 kB of a body (an error's explanation is short)."""
        head = bytearray()
        async for chunk in response.aiter_bytes():
            head += chunk
            if len(head) >= ERROR_BODY_BYTES:
                break
        return bytes(head[:ERROR_BODY_BYTES])

    async def _attempt(self, url: str, params: dict[str, str | int], host: str) -> bytes:
        async with asyncio.timeout(self.deadline):  # one deadline for the whole answer, however slow it drips
            origin = self.client.build_request("GET", url, params=params)
            request = origin
            for _ in range(MAX_REDIRECTS + 1):
                response = await self.client.send(request, stream=True, follow_redirects=False)
                try:
                    if response.next_request is not None:
                        target = response.next_request.url
                        if not self._may_follow(origin.url, target):
                            raise FetchError(f"{host} redirected to {target.host or 'an unusable address'}, "
                                             "which is not a known source; not following")
                        request = response.next_request
                        continue
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _RetryableStatus(response)
                    if response.status_code >= 400:
                        body = await self._read_head(response)
                        reason = _json_error(body)
                        raise HttpStatusError(f"{host} answered HTTP {response.status_code} for {url}"
                                              + (f": {reason}" if reason else ""), response.status_code, body)
                    return await self._read_capped(response, host)
                finally:
                    await response.aclose()
            raise FetchError(f"{host} redirected more than {MAX_REDIRECTS} times")

    async def get(self, url: str, params: dict[str, str | int]) -> bytes:
        host = urlsplit(url).netloc or url
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async with self._gate:  # one request at a time per source (arXiv asks for this)
                async for attempt in retrying:
                    with attempt:
                        await self._pace()
                        return await self._attempt(url, params, host)
        except _RetryableStatus as exc:
            raise FetchError(f"{host} kept failing (HTTP {exc.response.status_code}) after "
                             f"{self.attempts} attempts") from exc
        except TimeoutError as exc:
            raise FetchError(f"{host} did not answer in time (no complete answer within {self.deadline:g} s, "
                             f"after {self.attempts} attempts)") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"{host} did not answer in time (after {self.attempts} attempts)") from exc
        except httpx.TransportError as exc:
            raise FetchError(f"cannot reach {host}: network unreachable or host down ({type(exc).__name__})") \
                from exc
        raise FetchError(f"{host}: no response")  # pragma: no cover - tenacity always returns or raises


def make_client(timeout: float = 30.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=10.0),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,  # HttpFetcher follows them itself, to known hosts only
    )


class HuggingFaceFetcher:
    """Daily papers for one date, every page of it."""

    def __init__(self, http: HttpFetcher, base_url: str = HF_BASE_URL, page_size: int = HF_PAGE_SIZE) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size

    async def daily(self, day: date, max_pages: int = 50) -> list[FetchedDocument]:
        docs = []
        url = f"{self.base_url}/api/daily_papers"
        for page in range(max_pages):
            data = await self.http.get(url, {"date": day.isoformat(), "p": page, "limit": self.page_size})
            docs.append(FetchedDocument(data, f"hf:{day.isoformat()} page {page + 1}", listed_on=day))
            try:
                items = json.loads(data)
            except (ValueError, RecursionError):
                break  # the parser will report the malformed page
            if not isinstance(items, list) or len(items) < self.page_size:
                break
        return docs


class ArxivFetcher:
    """arXiv API queries, paged, one request every three seconds."""

    def __init__(self, http: HttpFetcher, base_url: str = ARXIV_BASE_URL, page_size: int = ARXIV_PAGE_SIZE) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size

    async def query(self, query: str, max_results: int = 100) -> list[FetchedDocument]:
        docs = []
        url = f"{self.base_url}/api/query"
        start = 0
        while start < max_results:
            size = min(self.page_size, max_results - start)
            params: dict[str, str | int] = {
                "search_query": query, "start": start, "max_results": size,
                "sortBy": "submittedDate", "sortOrder": "descending",
            }
            where = f"arxiv:{query} (results {start + 1}-{start + size})"
            data = await self._get(url, params, where)
            docs.append(FetchedDocument(data, where))
            if data.count(b"<entry") < size:
                break
            start += size
        return docs

    async def by_ids(self, arxiv_ids: list[str]) -> list[FetchedDocument]:
        """Specific papers (`arxiv:2401.12345,2401.12346`); arXiv silently omits ids it does not know."""
        docs = []
        url = f"{self.base_url}/api/query"
        for start in range(0, len(arxiv_ids), self.page_size):
            chunk = arxiv_ids[start:start + self.page_size]
            params: dict[str, str | int] = {"id_list": ",".join(chunk), "max_results": len(chunk)}
            where = f"arxiv:{','.join(chunk)[:60]}"
            docs.append(FetchedDocument(await self._get(url, params, where), where))
        return docs

    async def _get(self, url: str, params: dict[str, str | int], where: str) -> bytes:
        """arXiv answers a query or id it cannot take with HTTP 400 and an error feed saying why: that reason,
        not the bare status, is what a user needs ("incorrect id format for 1234.12345")."""
        try:
            return await self.http.get(url, params)
        except HttpStatusError as exc:
            reason = reported_error(exc.body)
            if reason is None:
                raise
            raise FetchError(f"{where}: arXiv reported an error: {reason}") from None
