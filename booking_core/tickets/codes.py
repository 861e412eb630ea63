"""Ticket codes: short, unguessable, easy to read aloud and to type back at the door.

A code is 10 payload symbols (50 random bits) in Crockford's base32 alphabet plus one check symbol
(Crockford's mod-37 scheme), shown as three groups: "7KQ2-M9XF-4TB". Because 37 is prime and larger
than the alphabet, the check catches every single wrong symbol and every swap of two neighbours.
Crockford's five extra check symbols (* ~ $ = U) are awkward to say and type, so payloads whose check
value would need one are drawn again: every code uses only the 32 alphanumeric symbols.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAYLOAD_SYMBOLS = 10
CODE_SYMBOLS = PAYLOAD_SYMBOLS + 1
GROUPS = (4, 4, 3)

_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# Crockford's decoding aliases: letters a reader may type for the digits they look like.
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -\t")


def new_ticket_code() -> str:
    """A fresh random ticket code in its display form, e.g. "7KQ2-M9XF-4TB"."""
    while True:
        payload = "".join(secrets.choice(ALPHABET) for _ in range(PAYLOAD_SYMBOLS))
        check = _check_value(payload)
        if check < len(ALPHABET):
            return _grouped(payload + ALPHABET[check])


def normalize_ticket_code(text: str) -> str:
    """The code's bare symbols as typed: upper case, no spaces or hyphens, O→0 and I/L→1."""
    return text.upper().translate(_SEPARATORS).translate(_ALIASES)


def is_valid_ticket_code(text: str) -> bool:
    """True when `text` (in any spacing or case) is a well-formed code whose check symbol matches."""
    symbols = normalize_ticket_code(text)
    if len(symbols) != CODE_SYMBOLS or any(symbol not in _VALUE for symbol in symbols):
        return False
    return _check_value(symbols[:PAYLOAD_SYMBOLS]) == _VALUE[symbols[-1]]


def parse_ticket_code(text: str) -> str | None:
    """The display form of a typed code (as stored on the ticket), or None when it is not valid."""
    if not is_valid_ticket_code(text):
        return None
    return _grouped(normalize_ticket_code(text))


def _check_value(payload: str) -> int:
    value = 0
    for symbol in payload:
        value = (value * len(ALPHABET) + _VALUE[symbol]) % 37
    return value


def _grouped(symbols: str) -> str:
    parts = []
    start = 0
    for size in GROUPS:
        parts.append(symbols[start : start + size])
        start += size
    return "-".join(parts)
