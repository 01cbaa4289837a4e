"""Condensing papers: TL;DRs for digests, short summaries for threads, answers to questions about one paper.

Everything a user sees goes through `SummaryService`, which owns the cache, the fallback to the offline
summarizer and the output cleaning; the summarizers themselves only turn a title and abstract into a draft.
"""
