"""Follow-ups: after a digest, the papers it posted keep moving (a new version, code, a rise in upvotes); the
digest's own thread hears about it, once."""
