"""Personal topics that reach the person: the "for you" list, DM digests and opt-in mentions in channels."""
