"""How many SMS segments a text costs (3GPP TS 23.038 GSM-7 alphabet, else UCS-2).

A text made only of GSM-7 characters travels in 7-bit septets: 160 in one segment, 153 per segment
once split (the rest carries the concatenation header). Characters of the GSM-7 extension table take
two septets (an escape plus the character) and are never split across segments. One character outside
GSM-7 (Cyrillic, emoji, curly quotes) turns the whole text into UCS-2: 70 UTF-16 code units in one
segment, 67 per segment when split, and a surrogate pair (most emoji) is never split either.
"""

from __future__ import annotations

from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def is_gsm7(text: str) -> bool:
    """True when every character of `text` has a GSM-7 encoding (basic or extension table)."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def sms_encoding(text: str) -> Literal["GSM-7", "UCS-2"]:
    """The encoding a carrier uses for `text`."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def sms_length(text: str) -> int:
    """The size of `text` in its encoding's units: septets for GSM-7, UTF-16 code units for UCS-2."""
    return sum(_unit_sizes(text, sms_encoding(text)))


def sms_segments(text: str) -> int:
    """How many segments `text` is sent as (an empty text still costs one)."""
    encoding = sms_encoding(text)
    single, per_part = _LIMITS[encoding]
    sizes = _unit_sizes(text, encoding)
    if sum(sizes) <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            segments, used = segments + 1, 0
        used += size
    return segments


def _unit_sizes(text: str, encoding: str) -> list[int]:
    if encoding == "GSM-7":
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]
