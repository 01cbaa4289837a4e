"""Paperboy's platform-free core: papers, ingestion, topics, summaries, digests, commands, scheduling."""

__version__ = "0.1.0"
