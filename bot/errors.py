"""One exception tree for the core, so adapters and the CLI can turn any expected failure into one short line.

Anything outside this tree is a bug: callers log it with a traceback for operators and show users a generic
apology, never the traceback itself.
"""

from __future__ import annotations


class PaperboyError(Exception):
    """Base of every failure we expect and can explain to a user in one line."""


class ParseError(PaperboyError):
    """A listing could not be read; the message says what is wrong and where."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class FetchError(PaperboyError):
    """A remote source could not be reached or kept failing after retries."""


class StorageError(PaperboyError):
    """The database cannot be used (unreachable, wrong URL, failed migration)."""


class UsageError(PaperboyError):
    """A user asked for something malformed: a bad date, id, source or option."""


class StartupError(PaperboyError):
    """A configured platform could not be started: it rejected its credential, refused the connection, or was not
    reached within `PAPERBOY_STARTUP_TIMEOUT`. `paperboy run` ends with this one line and a non-zero exit, so a
    restart policy or an operator sees it at once instead of a process that looks up and serves nothing."""


class DeliveryError(PaperboyError):
    """A platform refused or failed a post. `retry_after` (seconds) when it said when to come back; `permanent`
    when retrying cannot help (channel gone, bot removed): a digest is then not tried again that day, unless
    `retry_after` says when asking again could help (a token a reinstall may restore) or someone turns the digest
    on again after the fix (`delivery_store.fail`, `release_held`)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        self.retry_after = retry_after
        self.permanent = permanent
        super().__init__(message)
