"""Logging for operators: text or JSON lines, and no secret ever written, at any level.

The redaction is a handler filter rather than care at each call site, because secrets leak through places
nobody writes on purpose: exception messages with URLs, library debug logs of request headers.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.redaction import MASK, mask_secrets


class SecretFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return mask_secrets(text)  # by shape: also what was never configured here

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = self.clean(message)
        record.args = None
        return True


CHATTY_LOGGERS = ("apscheduler", "alembic.runtime.plugins")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }, ensure_ascii=False)


def configure_logging(*, level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = (),
                      stream: object = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(SecretFilter(secrets))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries' routine chatter buried the console's prompt and every operator's log: APScheduler says "Running
    # job … executed successfully" twice a minute per job, alembic "setup plugin …" seven times at each start.
    # Their warnings and errors still show; DEBUG shows everything.
    quiet = logging.DEBUG if root.getEffectiveLevel() <= logging.DEBUG else logging.WARNING
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    return handler
