"""The items of a JSON array read one at a time from text blocks, as `json.loads` would read the whole array.

Each item is decoded by the standard library's own decoder (`raw_decode`), so values, limits (nesting depth,
4,300-digit integers) and error messages are exactly `json.loads`'s, positions counted from the start of the
document; only the array around the items is walked here. A document that is not an array is read whole.

We looked at ijson for this: it needs its Decimal numbers turned back into floats, and a 100,000-deep nested
array (a hostile file the ingest tests use) made it grow until the machine killed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from bot.errors import ParseError

MAX_ITEM_CHARS = 16_000_000  # one item (a paper is a few kB); a longer unfinished one is malformed
MAX_DOCUMENT_CHARS = 20_000_000  # a document that is not an array is read whole
_NOT_SPACE = re.compile(r"[^ \t\n\r]")  # JSON's whitespace is these four
_AFTER_VALUE = frozenset(" \t\n\r,]")
_COMPACT_AT = 1 << 20
_decoder = json.JSONDecoder()


class JsonText:
    """A JSON document arriving in blocks; positions are kept relative to the whole document for messages."""

    def __init__(self, blocks: Iterable[str], where: str) -> None:
        self._blocks = iter(blocks)
        self.where = where
        self.buf = ""
        self.eof = False
        self._base = 0  # document position of buf[0]
        self._lines_before = 0  # newlines before buf[0]
        self._last_newline = -1  # document position of the last newline before buf[0]

    def is_array(self) -> bool:
        pos = self._skip_space(0)
        return pos < len(self.buf) and self.buf[pos] == "["

    def whole(self) -> str:
        while self._more():
            if len(self.buf) > MAX_DOCUMENT_CHARS:
                raise ParseError(f"a JSON document over {MAX_DOCUMENT_CHARS // 1_000_000} million characters that "
                                 "is not a list of papers", where=self.where)
        return self.buf

    def items(self) -> Iterator[Any]:
        """The array's items; the caller has checked `is_array`."""
        pos = self._skip_space(0) + 1
        pos = self._skip_space(pos)
        if pos < len(self.buf) and self.buf[pos] == "]":
            pos += 1
        else:
            while True:
                item, pos = self._value(pos)
                yield item
                pos = self._skip_space(pos)
                if pos < len(self.buf) and self.buf[pos] == "]":
                    pos += 1
                    break
                if pos >= len(self.buf) or self.buf[pos] != ",":
                    raise self._error("Expecting ',' delimiter", pos)
                pos = self._skip_space(pos + 1)
                if pos > _COMPACT_AT:
                    pos = self._compact(pos)
        pos = self._skip_space(pos)
        if pos < len(self.buf):
            raise self._error("Extra data", pos)

    def _value(self, pos: int) -> tuple[Any, int]:
        wanted = 0
        while True:
            try:
                value, end = _decoder.raw_decode(self.buf, pos)
            except json.JSONDecodeError as exc:
                if self.eof or len(self.buf) - pos > MAX_ITEM_CHARS:
                    raise self._error(exc.msg, exc.pos) from None
            except RecursionError:
                raise ParseError("invalid JSON (nested too deeply)", where=self.where) from None
            except ValueError:  # Python refuses integers of more than 4,300 digits
                raise ParseError("invalid JSON (a number of more than 4,300 digits)", where=self.where) from None
            else:
                # A number's end is only sure once the next character is there ("2" of "2.5" or "2e3").
                ended = end < len(self.buf) and (not isinstance(value, (int, float)) or self.buf[end] in _AFTER_VALUE)
                if ended or self.eof or len(self.buf) - pos > MAX_ITEM_CHARS:
                    return value, end
            wanted = max(2 * (len(self.buf) - pos), wanted)
            while len(self.buf) - pos < wanted and self._more():
                pass

    def _skip_space(self, pos: int) -> int:
        while True:
            found = _NOT_SPACE.search(self.buf, pos)
            if found is not None:
                return found.start()
            pos = len(self.buf)
            if not self._more():
                return pos

    def _more(self) -> bool:
        if self.eof:
            return False
        block = next(self._blocks, None)
        if block is None:
            self.eof = True
            return False
        self.buf += block
        return True

    def _compact(self, pos: int) -> int:
        """Drop what has been read; returns `pos` in the shortened buffer."""
        done = self.buf[:pos]
        newlines = done.count("\n")
        if newlines:
            self._lines_before += newlines
            self._last_newline = self._base + done.rfind("\n")
        self._base += pos
        self.buf = self.buf[pos:]
        return 0

    def _error(self, message: str, pos: int) -> ParseError:
        line = self._lines_before + self.buf.count("\n", 0, pos) + 1
        newline = self.buf.rfind("\n", 0, pos)
        column = pos - newline if newline != -1 else self._base + pos - self._last_newline
        return ParseError(f"invalid JSON ({message} at line {line}, column {column})", where=self.where)
