"""The seat map conversation: showing a hall, choosing seats, holding them."""
