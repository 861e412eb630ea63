"""A cinema whose own box office runs on a Theatre DB v1 database (docs/theatre-db.md), no API.

The sandbox creates and seeds such a database (`schema`, `seed`) and plays the cinema's till on it
(`boxoffice`): it sells and cancels straight in the tables, beside Marquee's database link.
"""
