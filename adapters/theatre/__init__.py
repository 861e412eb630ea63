"""The HTTP adapter to connected cinemas' ticketing systems, with its wire format and breaker."""
