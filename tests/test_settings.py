"""Configuration: defaults from DESIGN.md section 7, and one clear line for a bad value."""

from __future__ import annotations

import pytest

from booking_core.settings import ConfigurationError
from roles.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "BROKER_URL", "HOLD_SECONDS", "PAYMENT_PROVIDER", "HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings()
    assert settings.DATABASE_URL == "sqlite+aiosqlite:///data/marquee.db"
    assert settings.REDIS_URL is None
    assert settings.BROKER_URL is None
    assert settings.PAYMENT_PROVIDER == "sandbox"
    assert settings.HOLD_SECONDS == 300
    assert settings.public_base_url == "http://127.0.0.1:8080"
    assert (settings.HTTP_HOST, settings.HTTP_PORT) == ("127.0.0.1", 8080)


def test_environment_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("HOLD_SECONDS", "90")
    with open(".env", "w") as dotenv:
        dotenv.write("PAYMENT_PROVIDER=stripe\n")
    settings = load_settings()
    assert settings.HOLD_SECONDS == 90
    assert settings.PAYMENT_PROVIDER == "stripe"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HOLD_SECONDS", "-5"),
        ("HOLD_SECONDS", "soon"),
        ("PAYMENT_PROVIDER", "paypal"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://db/marquee"),
        ("REDIS_URL", "localhost:6379"),
        ("HTTP_PORT", "99999"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith(f"{variable}:")
    assert "\n" not in message
