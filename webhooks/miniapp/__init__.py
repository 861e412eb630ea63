"""The seat-map Mini App: a page showing the whole hall, and its JSON API over the same booking core.

`routes.setup_miniapp_routes` adds both to the web app; `context.MiniApp` is what they are given.
"""
