"""Ticket codes: format, randomness, and the check symbol catching every typo it promises to."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking_core.tickets.codes import (
    ALPHABET,
    is_valid_ticket_code,
    new_ticket_code,
    normalize_ticket_code,
    parse_ticket_code,
)

CODE_FORMAT = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{3}}$")


def reference_check_value(payload: str) -> int:
    """Crockford's check: the payload read as one base-32 number, modulo 37 (computed independently)."""
    return int("".join(f"{ALPHABET.index(symbol):05b}" for symbol in payload), 2) % 37


@st.composite
def valid_codes(draw: st.DrawFn) -> str:
    """Bare 11-symbol codes whose check symbol is right (payloads needing * ~ $ = U are not issued)."""
    payloads = st.text(alphabet=ALPHABET, min_size=10, max_size=10)
    payload = draw(payloads.filter(lambda payload: reference_check_value(payload) < 32))
    return payload + ALPHABET[reference_check_value(payload)]


def test_new_codes_have_the_display_format_and_are_valid() -> None:
    for _ in range(2000):
        code = new_ticket_code()
        assert CODE_FORMAT.match(code), code
        assert is_valid_ticket_code(code)
        assert reference_check_value(normalize_ticket_code(code)[:10]) == ALPHABET.index(code[-1])


def test_new_codes_do_not_repeat_and_use_the_whole_alphabet_in_every_position() -> None:
    codes = [normalize_ticket_code(new_ticket_code()) for _ in range(20_000)]

    assert len(set(codes)) == len(codes)
    for position in range(10):
        counts = Counter(code[position] for code in codes)
        # 625 expected per symbol; a stuck or biased generator falls far outside these bounds.
        assert set(counts) == set(ALPHABET)
        assert min(counts.values()) > 450 and max(counts.values()) < 800


@given(valid_codes())
def test_every_single_wrong_symbol_is_detected(code: str) -> None:
    assert is_valid_ticket_code(code)
    for position in range(len(code)):
        for symbol in ALPHABET:
            if symbol != code[position]:
                typo = code[:position] + symbol + code[position + 1 :]
                assert not is_valid_ticket_code(typo), (code, typo)


@given(valid_codes())
def test_every_swap_of_neighbours_is_detected(code: str) -> None:
    for position in range(len(code) - 1):
        a, b = code[position], code[position + 1]
        if a != b:
            swapped = code[:position] + b + a + code[position + 2 :]
            assert not is_valid_ticket_code(swapped), (code, swapped)


@given(valid_codes(), st.data())
def test_a_code_read_back_loosely_is_still_the_same_ticket(code: str, data: st.DataObject) -> None:
    display = parse_ticket_code(code)
    assert display is not None
    # Given the code typed in lower case, with spaces for hyphens and look-alike letters for digits
    typed = []
    for symbol in code:
        if symbol == "0":
            symbol = data.draw(st.sampled_from("0Oo"))
        elif symbol == "1":
            symbol = data.draw(st.sampled_from("1IiLl"))
        typed.append(data.draw(st.sampled_from([symbol.lower(), symbol.upper()])))
        typed.append(data.draw(st.sampled_from(["", "", " ", "-"])))
    # Then it normalizes back to the same symbols and the same display form
    assert normalize_ticket_code("".join(typed)) == code
    assert parse_ticket_code("".join(typed)) == display


@pytest.mark.parametrize(
    "text",
    ["", "7KQ2-M9XF-4T", "7KQ2-M9XF-4TBB", "7KQ2-M9XF-4T*", "7KQ2-M9XF-4TU", "ÄKQ2-M9XF-4TB"],
)
def test_malformed_codes_are_refused(text: str) -> None:
    assert not is_valid_ticket_code(text)
    assert parse_ticket_code(text) is None


def test_a_known_code_checks_out() -> None:
    # 0000000001 has value 1, so its check symbol is "1"; 000000000Z (31) has check "Z".
    assert is_valid_ticket_code("0000-0000-011")
    assert is_valid_ticket_code("0000 0000 0ZZ")
    assert not is_valid_ticket_code("0000-0000-012")
