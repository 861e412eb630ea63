"""Seat holds in Redis: the hold store, the seat map, the waitlist and their Lua scripts."""
