"""initData is trusted only when Telegram's documented check passes, and only while it is fresh."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote, urlencode

import pytest

from sandbox.telegram.web_apps import signed_init_data
from webhooks.miniapp.init_data import InitDataRejected, VerifiedInitData, verify_init_data

# The worked example of docs.telegram-mini-apps.com/packages/tma-js-init-data/validating (Telegram's own
# page, core.telegram.org/bots/webapps, documents the algorithm but publishes no token to check against).
EXAMPLE_TOKEN = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"
EXAMPLE = (
    "query_id=AAHdF6IQAAAAAN0XohDhrOrc"
    "&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22"
    "%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D"
    "&auth_date=1662771648"
    "&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2"
)
EXAMPLE_AUTH_DATE = 1662771648
HOUR = 3600


def _with(init_data: str, **changes: str) -> str:
    fields = dict(parse_qsl(init_data))
    fields.update(changes)
    return urlencode(fields, quote_via=quote)


def test_the_documented_example_is_genuine_while_fresh() -> None:
    user = verify_init_data(EXAMPLE, EXAMPLE_TOKEN, max_age_seconds=HOUR, now=EXAMPLE_AUTH_DATE + 10)
    assert (user.id, user.full_name) == (279058397, "Vladislav Kibenko")


@pytest.mark.parametrize(
    "init_data",
    [
        pytest.param(_with(EXAMPLE, user=json.dumps({"id": 1, "first_name": "Mallory"})), id="other-user"),
        pytest.param(_with(EXAMPLE, auth_date=str(EXAMPLE_AUTH_DATE + 1)), id="auth-date-moved"),
        pytest.param(_with(EXAMPLE, hash="0" * 64), id="hash-replaced"),
        pytest.param(_with(EXAMPLE, start_param="vip"), id="field-added"),
        pytest.param(EXAMPLE.replace("&hash=", "&hash=&x="), id="hash-emptied"),
        pytest.param(EXAMPLE.split("&hash=")[0], id="hash-missing"),
        pytest.param(EXAMPLE + "&auth_date=1662771648", id="field-repeated"),
        pytest.param("", id="empty"),
        pytest.param("not a query string", id="garbage"),
    ],
)
def test_altered_or_incomplete_data_is_refused(init_data: str) -> None:
    with pytest.raises(InitDataRejected):
        verify_init_data(init_data, EXAMPLE_TOKEN, max_age_seconds=HOUR, now=EXAMPLE_AUTH_DATE + 10)


def test_data_signed_for_another_bot_is_refused() -> None:
    with pytest.raises(InitDataRejected):
        verify_init_data(
            EXAMPLE, "5768337691:another-bots-token", max_age_seconds=HOUR, now=EXAMPLE_AUTH_DATE
        )


def test_data_older_than_the_setting_is_refused() -> None:
    # Given genuine data, one second past the allowed age it is refused; one second within, accepted
    verify_init_data(EXAMPLE, EXAMPLE_TOKEN, max_age_seconds=HOUR, now=EXAMPLE_AUTH_DATE + HOUR - 1)
    with pytest.raises(InitDataRejected, match="expired"):
        verify_init_data(EXAMPLE, EXAMPLE_TOKEN, max_age_seconds=HOUR, now=EXAMPLE_AUTH_DATE + HOUR + 1)


def test_data_dated_in_the_future_is_refused() -> None:
    with pytest.raises(InitDataRejected):
        verify_init_data(EXAMPLE, EXAMPLE_TOKEN, max_age_seconds=HOUR, now=EXAMPLE_AUTH_DATE - HOUR)


def test_what_the_sandbox_signs_passes_the_check_as_telegrams_would() -> None:
    signed = signed_init_data(
        {"id": 42, "first_name": "Zoë", "last_name": "Ünal"}, "1:sandbox", auth_date=1000
    )
    user = verify_init_data(signed, "1:sandbox", max_age_seconds=HOUR, now=1000)
    assert (user.id, user.full_name) == (42, "Zoë Ünal")


def test_remembered_data_is_still_refused_once_it_is_too_old() -> None:
    verified = VerifiedInitData()
    # Given the example checked once, while fresh
    user = verified.user(EXAMPLE, EXAMPLE_TOKEN, max_age_seconds=HOUR, now=EXAMPLE_AUTH_DATE + 10)
    assert user.id == 279058397
    # Then the same text is taken from memory while fresh, and refused once older than the setting
    assert verified.user(EXAMPLE, "", max_age_seconds=HOUR, now=EXAMPLE_AUTH_DATE + 20) == user
    with pytest.raises(InitDataRejected, match="expired"):
        verified.user(EXAMPLE, EXAMPLE_TOKEN, max_age_seconds=HOUR, now=EXAMPLE_AUTH_DATE + HOUR + 1)


def test_only_genuine_data_is_remembered() -> None:
    verified = VerifiedInitData()
    now = EXAMPLE_AUTH_DATE + 10
    verified.user(EXAMPLE, EXAMPLE_TOKEN, max_age_seconds=HOUR, now=now)
    # An altered copy of remembered data, and a forgery asked twice, are checked (and refused) each time
    altered = _with(EXAMPLE, user=json.dumps({"id": 1, "first_name": "Mallory"}))
    for _attempt in range(2):
        for forged in (altered, _with(EXAMPLE, hash="0" * 64)):
            with pytest.raises(InitDataRejected, match="not signed"):
                verified.user(forged, EXAMPLE_TOKEN, max_age_seconds=HOUR, now=now)
