"""How a long-running bot process sets up Python's garbage collector, once it has started.

Composing a digest run allocates millions of short-lived objects (match results, ranked papers, messages) while
the process holds hundreds of thousands that live for good (the parsed learned models, the matcher's caches). With
CPython's default thresholds (a young collection every 700 allocations) about a third of a run's time went into
the collector (bench/digests_bench.py), and more with a model on every subscription, which makes the heap larger.
A larger young generation lets most of those objects die between collections; start-up objects are frozen so no
collection walks them. The benches call this too, since they time what the bot does.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections: a few MB of garbage at most


def settle_after_start() -> None:
    """Collect once, freeze what survived, and make young collections rarer."""
    gc.collect()
    gc.freeze()  # start-up objects never become garbage; keep them out of every collection
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
