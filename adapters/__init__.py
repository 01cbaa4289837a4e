"""Platform adapters: translate platform events into core calls and render core messages. No behaviour here."""
