"""Configuration: defaults from DESIGN.md section 7, and one clear line for a bad value."""

from __future__ import annotations

import pytest

from booking_core.redis_url import parse_redis_url
from booking_core.settings import ConfigurationError
from roles.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "BROKER_URL",
        "HOLD_SECONDS",
        "PAYMENT_PROVIDER",
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "HTTP_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings()
    assert settings.DATABASE_URL == "sqlite+aiosqlite:///data/marquee.db"
    assert settings.REDIS_URL is None
    assert settings.BROKER_URL is None
    assert settings.PAYMENT_PROVIDER == "stripe"
    assert (settings.STRIPE_API_KEY, settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_API_BASE) == (
        None,
        None,
        None,
    )
    assert settings.HOLD_SECONDS == 300
    assert settings.public_base_url == "http://127.0.0.1:8080"
    assert (settings.HTTP_HOST, settings.HTTP_PORT) == ("127.0.0.1", 8080)


def test_environment_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("HOLD_SECONDS", "90")
    with open(".env", "w") as dotenv:
        dotenv.write("STRIPE_API_BASE=http://127.0.0.1:12111\n")
    settings = load_settings()
    assert settings.HOLD_SECONDS == 90
    assert settings.STRIPE_API_BASE == "http://127.0.0.1:12111"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HOLD_SECONDS", "-5"),
        ("HOLD_SECONDS", "soon"),
        ("PAYMENT_PROVIDER", "paypal"),
        ("PAYMENT_PROVIDER", "sandbox"),  # the demo's provider of old: a demo pays through Stripe's stand-in
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://db/marquee"),
        ("REDIS_URL", "localhost:6379"),
        ("REDIS_URL", "redis+cluster://"),
        ("REDIS_URL", "redis+cluster://10.0.0.1:6379/2"),
        ("REDIS_URL", "redis+sentinel://10.0.0.1:26379"),
        ("REDIS_URL", "redis+sentinel://10.0.0.1:port/marquee"),
        ("BROKER_URL", "redis+cluster://10.0.0.1:6379?max_connections=0"),
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


def test_cluster_and_sentinel_urls_name_their_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a Sentinel URL with credentials and a Cluster URL with a pool size
    monkeypatch.setenv(
        "REDIS_URL", "rediss+sentinel://app:s%40cret@s1:26380,s2/marquee/3?sentinel_password=x"
    )
    monkeypatch.setenv("BROKER_URL", "redis+cluster://n1:7000,n2:7001,n3?max_connections=20")
    # When the settings are read, Then both are accepted and mean what they say
    settings = load_settings()
    assert settings.REDIS_URL is not None and settings.BROKER_URL is not None
    sentinel = parse_redis_url(settings.REDIS_URL)
    assert (sentinel.mode, sentinel.tls, sentinel.service, sentinel.db) == ("sentinel", True, "marquee", 3)
    assert sentinel.nodes == (("s1", 26380), ("s2", 26379))
    assert (sentinel.username, sentinel.password, sentinel.sentinel_password) == ("app", "s@cret", "x")
    cluster = parse_redis_url(settings.BROKER_URL)
    assert (cluster.mode, cluster.tls, cluster.max_connections) == ("cluster", False, 20)
    assert cluster.nodes == (("n1", 7000), ("n2", 7001), ("n3", 6379))
    assert parse_redis_url("unix:///run/redis.sock?db=0").mode == "server"
