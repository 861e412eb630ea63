"""A theatre's premiere (an on-sale time and a queue in its schedule) reaches our catalogue as such."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.theatre.wire import parse_schedule, rfc3339
from booking_core.catalogue import parse_catalogue
from booking_core.schedule_sync import schedule_catalogue

STARTS = datetime(2026, 12, 24, 19, 0, tzinfo=UTC)


def _schedule(**sale: object) -> dict[str, object]:
    return {
        "cinemas": [
            {
                "id": "c1",
                "name": "Northlight",
                "city": "Oslo",
                "latitude": 59.9,
                "longitude": 10.7,
                "timezone": "Europe/Oslo",
                "address": "1 Karl Johans gate",
            }
        ],
        "halls": [
            {
                "id": "h1",
                "cinema": "c1",
                "name": "Hall 1",
                "rows": [
                    {"label": "A", "index": 0, "seats": [{"number": 1, "column": 1, "category": "standard"}]}
                ],
            }
        ],
        "movies": [
            {"id": "m1", "title": "Premiere", "runtime_minutes": 120, "age_rating": "12", "language": "en"}
        ],
        "shows": [
            {
                "id": "s1",
                "cinema": "c1",
                "hall": "h1",
                "movie": "m1",
                "starts_at": rfc3339(STARTS),
                "prices": {"standard": 1500},
                "currency": "NOK",
                **sale,
            }
        ],
    }


def test_the_theatres_on_sale_time_and_queue_are_carried_into_the_catalogue() -> None:
    opens = STARTS - timedelta(days=7)
    schedule = parse_schedule(_schedule(on_sale_at=rfc3339(opens), queue=True))
    (show,) = parse_catalogue(schedule_catalogue("northlight", schedule, {})).shows
    assert show.on_sale_at == opens and show.queue
    # A show the theatre sells as usual stays as it was.
    (plain,) = parse_catalogue(schedule_catalogue("northlight", parse_schedule(_schedule()), {})).shows
    assert plain.on_sale_at is None and not plain.queue
