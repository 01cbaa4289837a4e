"""Topics: what a channel or person subscribed to, and deciding which papers match it and why."""
