"""The console adapter: a real adapter over the core, for trying Paperboy and for end-to-end tests."""
