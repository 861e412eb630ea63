"""Callback data round-trips within Telegram's 64 bytes, and anything else decodes to None."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.codec import ARITY, Action, Callback, decode, encode

big_ids = st.integers(min_value=0, max_value=10**12 - 1)


@given(st.sampled_from(list(Action)), st.lists(big_ids, min_size=3, max_size=3))
def test_every_action_round_trips_within_64_bytes(action: Action, ids: list[int]) -> None:
    args = tuple(ids[: ARITY[action]])
    data = encode(action, *args)
    assert len(data.encode()) <= 64
    assert decode(data) == Callback(action, args)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "v2:city:1",
        "v1:city",
        "v1:city:1:2",
        "v1:city:-1",
        "v1:city:one",
        "v1:city:１",  # a full-width digit is a digit to str.isdigit, not to us
        "v1:nosuch:1",
        "v1:st:1:2:" + "9" * 60,
        "city:1",
    ],
)
def test_stale_or_forged_data_decodes_to_none(data: str | None) -> None:
    assert decode(data) is None


def test_encode_refuses_a_wrong_argument_count() -> None:
    with pytest.raises(ValueError):
        encode(Action.SEAT, 1, 2)
