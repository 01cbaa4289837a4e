"""A listing's bytes, read a block at a time and checked as they pass, so a listing of any size is parsed in
bounded memory (a 195 MB file read whole used to peak at 953 MB).

Checks happen where the bytes are, in the order a reader notices them: an empty file, binary data in the first
64 kB, bytes that are not text in the listing's encoding (reported with their offset), and more bytes than the
size limit, however big the file said it was when it was opened.

The encoding is UTF-8 unless the bytes say otherwise: a UTF-16 or UTF-32 byte-order mark (what Windows
PowerShell writes when a listing is saved with `>`), or an XML declaration naming another encoding
(`<?xml version="1.0" encoding="ISO-8859-1"?>`), which XML allows and a feed re-saved by some tool carries.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from bot.errors import ParseError

BLOCK_BYTES = 1 << 20
SNIFF_BYTES = 65536  # binary data is looked for here, and the format is told from the start of this
_BOM = codecs.BOM_UTF8
_ASCII_SPACE = b" \t\n\r\x0b\x0c"  # what bytes.strip() removes
# UTF-32 first: its little-endian mark begins with UTF-16's.
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
              (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"))
_XML_ENCODING_RE = re.compile(
    rb"""<\?xml\s[^>]*?\bencoding\s*=\s*["'](?P<name>[A-Za-z][A-Za-z0-9._-]{0,39})["']""")


class ListingReader:
    """One listing from a seekable binary handle; every failure is a `ParseError` naming `where`."""

    def __init__(self, handle: BinaryIO, where: str, limit: int) -> None:
        self.handle = handle
        self.where = where
        self.limit = limit
        self._total = 0
        self.encoding = "utf-8"  # a Python codec; known once `head` has run
        self._label = "UTF-8"  # the encoding as messages name it

    def head(self) -> str:
        """The listing's first characters from its first non-blank one on, enough to tell its format."""
        first = self._rewind()
        self._choose_encoding(first)
        if self.encoding != "utf-8":
            return self._decoded_head()
        if b"\x00" in first:
            raise ParseError("binary data, not a paper listing", where=self.where)
        content = first.removeprefix(_BOM).lstrip(_ASCII_SPACE)
        while not content:  # blank so far: look further, keeping nothing
            block = self._read(BLOCK_BYTES)
            if not block:
                raise ParseError("the file is empty", where=self.where)
            content = block.lstrip(_ASCII_SPACE)
        if len(content) < SNIFF_BYTES:
            content += self._read(SNIFF_BYTES - len(content))
        try:
            return codecs.getincrementaldecoder("utf-8")().decode(content[:SNIFF_BYTES])
        except UnicodeDecodeError:
            for _ in self.raw():  # raises, naming the first bad byte of the whole listing
                pass
            raise AssertionError("unreachable") from None

    def text(self) -> Iterator[str]:
        """The whole listing as text, block by block (a byte-order mark dropped)."""
        decoder = codecs.getincrementaldecoder(self.encoding)()
        offset = 0  # bytes handed to the decoder so far
        for block in self._blocks():
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0])
                raise self._not_text(offset - pending + exc.start) from None
            offset += len(block)
            if text:
                yield text
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise self._not_text(offset - len(exc.object) + exc.start) from None

    def xml(self) -> Iterator[bytes] | Iterator[str]:
        """The listing for the XML parser: UTF-8 bytes as they are (the parser decodes them fastest), text in
        any other encoding, which the parser then reads whatever the declaration says (a feed saved as UTF-16
        keeps saying encoding='UTF-8')."""
        return self.raw() if self.encoding == "utf-8" else self.text()

    def raw(self) -> Iterator[bytes]:
        """The whole listing as bytes (for the XML parser, which decodes by itself), checked to be UTF-8."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        for block in self._blocks():
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0])
                raise self._not_text(offset - pending + exc.start) from None
            offset += len(block)
            yield block
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise self._not_text(offset - len(exc.object) + exc.start) from None

    def _choose_encoding(self, first: bytes) -> None:
        for bom, codec, label in _WIDE_BOMS:
            if first.startswith(bom):
                self.encoding, self._label = codec, label
                return
        if first.startswith(_BOM):
            return
        declared = _XML_ENCODING_RE.match(first.lstrip(_ASCII_SPACE)[:200])
        if declared is None:
            return
        name = declared.group("name").decode("ascii")
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            raise ParseError(f"an XML document in an unknown encoding ({name!r})", where=self.where) from None
        if not codec.startswith(("utf-8", "utf-16", "utf-32")):  # a wide encoding without its mark is not this
            self.encoding, self._label = codec, name.upper()

    def _decoded_head(self) -> str:
        content = ""
        for text in self.text():
            content = (content + text).lstrip()
            if len(content) >= SNIFF_BYTES:
                break
        if not content:
            raise ParseError("the file is empty", where=self.where)
        if "\x00" in content[:SNIFF_BYTES]:
            raise ParseError("binary data, not a paper listing", where=self.where)
        return content[:SNIFF_BYTES]

    def _blocks(self) -> Iterator[bytes]:
        """Blocks from the start, without a leading UTF-8 byte-order mark; offsets count from after it. (A UTF-16
        or UTF-32 mark stays: its decoder reads the byte order from it.)"""
        first = self._rewind()
        block = first.removeprefix(_BOM) if self.encoding == "utf-8" else first
        while block:
            yield block
            block = self._read(BLOCK_BYTES)

    def _rewind(self) -> bytes:
        """Back to the start; the first block."""
        self.handle.seek(0)
        self._total = 0
        return self._read(SNIFF_BYTES)

    def _read(self, size: int) -> bytes:
        data = self.handle.read(size)
        self._total += len(data)
        if self._total > self.limit:
            raise ParseError(f"too large (limit {self.limit // 1_000_000} MB)", where=self.where)
        return data

    def _not_text(self, offset: int) -> ParseError:
        return ParseError(f"not {self._label} text (bad byte at offset {offset})", where=self.where)


MAX_LINE_CHARS = 16_000_000  # far beyond any listing's line (an abstract line is a few kB)

# A line ends where a text editor ends it: at "\n", "\r\n" or "\r". `str.splitlines` also splits at a form feed,
# U+2028 and other separators an abstract can carry; one such split shifts every title/abstract pair after it.
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def split_lines(text: str) -> list[str]:
    """The lines of `text`, each with its line end, as an editor numbers them."""
    lines = text.splitlines(True)  # four times faster, and the same lines when each ends at a line end
    if all(line[-1] in "\r\n" for line in lines[:-1]):
        return lines
    return _LINE_RE.findall(text)


def lines_of(blocks: Iterable[str], where: str) -> Iterator[str]:
    """The lines `split_lines` finds in the concatenated blocks, one at a time."""
    carry = ""
    for block in blocks:
        lines = split_lines(carry + block)
        carry = lines.pop() if lines else ""  # maybe unfinished (or "\r" before "\n")
        if len(carry) > MAX_LINE_CHARS:
            raise ParseError(f"a line of more than {MAX_LINE_CHARS // 1_000_000} million characters; "
                             "not a paper listing", where=where)
        yield from lines
    if carry:
        yield carry
