"""Prometheus metrics, in a registry the composition root owns (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.digests = Counter("paperboy_digests_total", "Digest deliveries by outcome", ["status"],
                               registry=self.registry)
        # Labels come from the grammar's fixed command names, never from what a user typed (unbounded series).
        self.commands = Counter("paperboy_commands_total", "Chat commands, thread replies and buttons handled",
                                ["command", "outcome"], registry=self.registry)
        self.command_seconds = Histogram("paperboy_command_seconds", "Time to answer a chat command", ["command"],
                                         registry=self.registry)
        self.llm_calls = Gauge("paperboy_llm_calls", "LLM calls recorded (all processes)", registry=self.registry)
        self.llm_tokens = Gauge("paperboy_llm_tokens", "LLM tokens used (all processes)", registry=self.registry)
        self.scheduler_alive = Gauge("paperboy_scheduler_alive", "1 when the scheduler runs and its ticks finish",
                                     registry=self.registry)
        self.database_up = Gauge("paperboy_database_up", "1 when this scrape could read the database, else 0",
                                 registry=self.registry)

    def command_handled(self, command: str, outcome: str, seconds: float) -> None:
        """The chat core's `on_command` hook: outcome is ok, refused (a usage error), failed, ignored
        (thread chatter not meant for the bot) or cancelled."""
        self.commands.labels(command=command, outcome=outcome).inc()
        self.command_seconds.labels(command=command).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
