"""The Stripe stand-in itself: what makes it a faithful enough Stripe for the adapter's tests."""

from __future__ import annotations

import aiohttp
import pytest

from sandbox.stripe_api import StripeApiError, decode_form
from tests.payments.conftest import StripeStandIn


def test_bracketed_form_keys_become_nested_data() -> None:
    pairs = [
        ("mode", "payment"),
        ("line_items[0][price_data][unit_amount]", "2400"),
        ("line_items[0][quantity]", "1"),
        ("line_items[1][quantity]", "2"),
        ("metadata[booking_id]", "42"),
        ("expand[]", "payment_intent"),
        ("expand[]", "customer"),
    ]

    assert decode_form(pairs) == {
        "mode": "payment",
        "line_items": [{"price_data": {"unit_amount": "2400"}, "quantity": "1"}, {"quantity": "2"}],
        "metadata": {"booking_id": "42"},
        "expand": ["payment_intent", "customer"],
    }


@pytest.mark.parametrize(
    "pairs",
    [[("line_items[1][quantity]", "1")], [("a", "1"), ("a[b]", "2")], [("[x]", "1")]],
)
def test_unusable_form_keys_are_a_400(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(StripeApiError) as refused:
        decode_form(pairs)

    assert refused.value.status == 400


@pytest.mark.parametrize("authorization", [None, "Bearer sk_test_wrong", "Basic c2tfdGVzdA=="])
async def test_the_api_needs_the_bearer_key(stripe_standin: StripeStandIn, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{stripe_standin.base_url}/v1/checkout/sessions", data={"mode": "payment"}, headers=headers
        ) as answer,
    ):
        body = await answer.json()

    assert answer.status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert stripe_standin.state.sessions == {}


async def test_an_unknown_session_is_a_404_in_stripes_format(stripe_standin: StripeStandIn) -> None:
    headers = {"Authorization": f"Bearer {stripe_standin.state.api_key}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stripe_standin.base_url}/v1/checkout/sessions/cs_test_nope", headers=headers) as answer,
    ):
        body = await answer.json()

    assert answer.status == 404
    assert body["error"]["code"] == "resource_missing"
