"""The seat-map Mini App: a page showing the whole hall, and its JSON API over the same booking core."""
