"""Peak memory of `paperboy ingest` on one big listing file (issue 13: a 195 MB file peaked at 953 MB).

Target: under 300 MB for a 200 MB file, in every format (listings are parsed as a stream and stored a chunk at
a time; the limit is 250 MB). Runs a real `paperboy ingest` process per format and reads its peak RSS.
Run: .venv/bin/python bench/big_file_bench.py [--mb 200] [--formats page,json,atom] [--emoji]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest_bench import base_papers  # noqa: E402

TODAY = date(2026, 11, 23)
EMOJI = False  # --emoji: every title carries one, so whole-document strings take 4 bytes a character


def _put(out: TextIO, text: str) -> int:
    """Bytes written, so the file's size is what was asked for even with non-ASCII text."""
    out.write(text)
    return len(text.encode("utf-8"))


def write_page(path: Path, megabytes: int) -> int:
    bases = base_papers()
    target = megabytes * 1_000_000 - 10_000  # the last paper may overshoot by a few kB
    n = written = 0
    with path.open("w", encoding="utf-8") as out:
        header = "Get trending papers in your email inbox once a day!\nGet trending papers in your email inbox!\n"
        written += _put(out, header)
        while written < target:
            title, abstract = bases[n % len(bases)]
            title += " 🙂" if EMOJI else ""
            written += _put(out, ("Subscribe" if n == 0 else "") + f"{title} (variant {n})\n{abstract}\n")
            n += 1
    return n


def write_json(path: Path, megabytes: int) -> int:
    bases = base_papers()
    target = megabytes * 1_000_000 - 10_000  # the last paper may overshoot by a few kB
    n = written = 0
    with path.open("w", encoding="utf-8") as out:
        written += _put(out, "[")
        while written < target:
            title, abstract = bases[n % len(bases)]
            title += " 🙂" if EMOJI else ""
            item = {"paper": {"id": f"{2400 + n // 99999}.{n % 99999 + 1:05d}", "title": f"{title} ({n})",
                              "summary": abstract, "upvotes": n % 50, "authors": [{"name": "A. Author"}]}}
            written += _put(out, ("," if n else "") + json.dumps(item, ensure_ascii=False))
            n += 1
        out.write("]")
    return n


def write_atom(path: Path, megabytes: int) -> int:
    bases = base_papers()
    target = megabytes * 1_000_000 - 10_000  # the last paper may overshoot by a few kB
    n = written = 0
    with path.open("w", encoding="utf-8") as out:
        written += _put(out, '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n')
        while written < target:
            title, abstract = bases[n % len(bases)]
            title += " 🙂" if EMOJI else ""
            entry = (f"<entry><id>http://arxiv.org/abs/{2400 + n // 99999}.{n % 99999 + 1:05d}v1</id>"
                     f"<title>{escape(title)} ({n})</title><summary>{escape(abstract)}</summary>"
                     "<author><name>A. Author</name></author><published>2024-01-02T00:00:00Z</published></entry>\n")
            written += _put(out, entry)
            n += 1
        out.write("</feed>\n")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--formats", default="page,json,atom")
    parser.add_argument("--emoji", action="store_true")
    args = parser.parse_args()
    global EMOJI
    EMOJI = args.emoji
    writers = {"page": (write_page, "txt"), "json": (write_json, "json"), "atom": (write_atom, "xml")}
    for name in args.formats.split(","):
        writer, ext = writers[name]
        with tempfile.TemporaryDirectory() as tmp:
            listing = Path(tmp) / f"big.{ext}"
            papers = writer(listing, args.mb)
            env = {**os.environ, "PAPERBOY_DATABASE_URL": f"sqlite:///{Path(tmp) / 'big.db'}",
                   "PYTHONPATH": str(ROOT)}
            started = time.perf_counter()
            with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
                proc = subprocess.Popen([sys.executable, "-m", "bot", "ingest", str(listing)], env=env,
                                        stdout=out, stderr=err)
                _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak, not the largest child's so far
                proc.returncode = os.waitstatus_to_exitcode(status)
                elapsed = time.perf_counter() - started
                out.seek(0)
                err.seek(0)
                result = (out.read().strip().splitlines() or [""])[-1]
                if proc.returncode:
                    result = err.read().strip()[:200]
            print(f"{name:5s} {listing.stat().st_size / 1e6:6.0f} MB, {papers:,} papers: {elapsed:5.1f} s, "
                  f"peak RSS {usage.ru_maxrss / 1024:5.0f} MB (target < 300 MB)  -> {result}")


if __name__ == "__main__":
    main()
