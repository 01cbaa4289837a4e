"""The outer ring: the `paperboy` command line and the wiring that builds connectors from settings.

The only part of `bot/` that imports `adapters/`; nothing outside it imports it back.
"""

from __future__ import annotations

from bot.cli.app import build_cli, main

__all__ = ["build_cli", "main"]
