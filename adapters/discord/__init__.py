"""The Discord adapter: app commands, digest posts with threads, and thread replies, over discord.py.

Only this package imports discord; the core (bot/) stays platform-free and is reached through `CommandCore`.
"""
