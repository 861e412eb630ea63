"""Tickets: codes, what they say on each channel, the outbox and the sender ports."""
