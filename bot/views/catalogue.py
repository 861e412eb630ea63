"""Finding a show: the welcome, the cities, the movies of a city, and a movie's shows day by day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from telegram import InlineKeyboardButton, KeyboardButton, ReplyKeyboardMarkup

from booking_core.catalogue.views import CinemaSchedule, CityInfo, MovieInfo, NearestCity, ShowTime
from bot.codec import Action
from bot.views.format import day_label, language_label, runtime_label, short_day
from bot.views.screen import MAX_BUTTONS, Screen, button, esc, hall_app_url, in_rows, keyboard, web_app_button

SHARE_LOCATION = "📍 Share location"
NEAREST_CITY = "📍 Nearest city"
# Beyond this a list would outgrow one keyboard (100 buttons) and one screen.
MAX_MOVIES = 40
MAX_CITIES = 60
TIMES_PER_ROW = 3
# Shows listed (and given buttons) per day: with cinema labels and paging, within Telegram's 100 buttons.
MAX_SHOWS_PER_DAY = 60


@dataclass(frozen=True)
class ShowsDay:
    """One local day of a movie's shows in a city, and the days before and after it that have shows."""

    day: date
    cinemas: tuple[tuple[CinemaSchedule, tuple[ShowTime, ...]], ...]
    previous_day: date | None
    next_day: date | None


def welcome_screen(first_name: str, cities: Sequence[CityInfo]) -> Screen:
    """The /start greeting with the cities as buttons and a button to find the nearest one (one message)."""
    name = esc(first_name.strip()) or "there"
    greeting = f"👋 Hi {name}! I'm <b>Marquee</b>: I find what's on and book your cinema seats.\n\n"
    listed = cities_screen(cities)
    if listed.keyboard is None:
        return Screen(greeting + listed.text)
    nearest = [button(NEAREST_CITY, Action.LOCATION_ASK)]
    return Screen(
        f"{greeting}Choose your city, or tap <b>{NEAREST_CITY}</b> and share your location.",
        keyboard([*listed.keyboard.inline_keyboard, nearest]),
    )


def location_prompt() -> Screen:
    """The request to share a location, sent with the location keyboard."""
    return Screen(f"Tap <b>{SHARE_LOCATION}</b> below and I'll pick the nearest city with cinemas.")


def location_keyboard() -> ReplyKeyboardMarkup:
    """A one-tap keyboard that shares the user's location (hidden again once used)."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(SHARE_LOCATION, request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder="Share your location or pick a city",
    )


def cities_screen(cities: Sequence[CityInfo]) -> Screen:
    """The cities that have cinemas, as buttons."""
    if not cities:
        return Screen("🎬 No cinemas are listed yet. Please check back soon.")
    shown = cities[:MAX_CITIES]
    buttons = [button(city.name, Action.CITY, city.id) for city in shown]
    return Screen("🏙 <b>Choose your city</b>", keyboard(in_rows(buttons, 2)))


def nearest_city_line(nearest: NearestCity) -> str:
    """Which city a shared location picked, and how far away it is."""
    distance = nearest.distance_km
    far = f"{distance:.0f} km" if distance >= 10 else f"{distance:.1f} km"
    return f"📍 Nearest city with cinemas: <b>{esc(nearest.city.name)}</b> ({far} away)"


def movie_facts(movie: MovieInfo) -> str:
    """Runtime, age rating and language on one line."""
    return " · ".join(
        [runtime_label(movie.runtime_minutes), esc(movie.age_rating), language_label(movie.language)]
    )


def movies_screen(city: CityInfo, movies: Sequence[MovieInfo], heading: str | None = None) -> Screen:
    """The movies showing in a city, each with its facts; a button per movie."""
    top = f"{heading}\n\n" if heading else ""
    back = [button("⬅️ Cities", Action.CITIES)]
    if not movies:
        text = f"{top}🎬 Nothing is showing in <b>{esc(city.name)}</b> right now. Try another city."
        return Screen(text, keyboard([back]))
    shown = movies[:MAX_MOVIES]
    lines = [f"{top}🎬 <b>Now showing in {esc(city.name)}</b>", ""]
    lines += [f"<b>{esc(movie.title)}</b>\n{movie_facts(movie)}" for movie in shown]
    buttons = [[button(f"🎬 {movie.title}", Action.MOVIE, city.id, movie.id)] for movie in shown]
    return Screen("\n".join(lines), keyboard([*buttons, back]))


def days_with_shows(schedules: Sequence[CinemaSchedule]) -> list[date]:
    """Every local day on which some cinema shows the movie, in order."""
    return sorted({show_day.day for schedule in schedules for show_day in schedule.days})


def pick_day(schedules: Sequence[CinemaSchedule], wanted: date | None) -> ShowsDay | None:
    """The shows of `wanted` (or the first day with shows when it has none any more); None if no shows."""
    days = days_with_shows(schedules)
    if not days:
        return None
    day = wanted if wanted in days else days[0]
    index = days.index(day)
    cinemas = tuple(
        (schedule, show_day.shows)
        for schedule in schedules
        for show_day in schedule.days
        if show_day.day == day
    )
    return ShowsDay(
        day=day,
        cinemas=cinemas,
        previous_day=days[index - 1] if index > 0 else None,
        next_day=days[index + 1] if index + 1 < len(days) else None,
    )


def day_code(day: date) -> int:
    """A day as the integer the SHOWS_DAY button carries (yyyymmdd)."""
    return day.year * 10_000 + day.month * 100 + day.day


def day_from_code(code: int) -> date | None:
    """The day of a yyyymmdd integer; None when it is no date."""
    try:
        return date(code // 10_000, code // 100 % 100, code % 100)
    except ValueError:
        return None


def free_label(free: int | None) -> str:
    """How many seats are free, for a show time."""
    if free is None:
        return ""
    return "sold out" if free == 0 else f"{free} free"


def shows_screen(
    city_id: int,
    movie: MovieInfo,
    day: ShowsDay,
    free: Mapping[int, int | None],
    today: date,
    miniapp_url: str | None = None,
    now: datetime | None = None,
) -> Screen:
    """A movie's shows on one day, by cinema: times with free seats, buttons to the seat map, day paging.

    A show not on sale yet (before `now` reaches its on_sale_at) says when it goes on sale; its button
    joins its queue when it has one.
    """
    lines = [
        f"🎬 <b>{esc(movie.title)}</b>",
        movie_facts(movie),
        "",
        f"📅 <b>{day_label(day.day, today)}</b>",
    ]
    rows: list[list[InlineKeyboardButton]] = []
    several = len(day.cinemas) > 1
    room = MAX_SHOWS_PER_DAY
    shown = min(room, sum(len(shows) for _, shows in day.cinemas))
    # A 🗺 whole-hall button under each time, while the keyboard stays within Telegram's 100 buttons.
    hall_pages = miniapp_url if 2 * shown + len(day.cinemas) + 3 <= MAX_BUTTONS else None
    left_out = 0
    for schedule, all_shows in day.cinemas:
        shows, room = all_shows[:room], max(0, room - len(all_shows))
        left_out += len(all_shows) - len(shows)
        if not shows:
            continue
        cinema = schedule.cinema
        lines += ["", f"🏛 <b>{esc(cinema.name)}</b>"]
        for show in shows:
            opens = _opens_at(show, now)
            seats = f"on sale at {opens:%H:%M}" if opens else free_label(free.get(show.show_id))
            detail = f" · {seats}" if seats else ""
            lines.append(f"  {show.local_starts_at:%H:%M}  {esc(show.hall_name)}{detail}")
        if several:
            rows.append([button(f"🏛 {cinema.name}", Action.NOOP)])
        times = [_time_button_for(show, free.get(show.show_id), now) for show in shows]
        rows += in_rows(times, TIMES_PER_ROW)
        if hall_pages:
            halls = [
                web_app_button(f"🗺 {show.local_starts_at:%H:%M}", hall_app_url(hall_pages, show.show_id))
                for show in shows
            ]
            rows += in_rows(halls, TIMES_PER_ROW)
    if left_out:
        lines += ["", f"…and {left_out} later shows this day."]
    rows.append(_day_paging(city_id, movie.id, day))
    rows.append([button("⬅️ Movies", Action.CITY, city_id)])
    lines += [
        "",
        "Tap a time to choose your seats" + (", or 🗺 to see the whole hall." if hall_pages else "."),
    ]
    return Screen("\n".join(lines), keyboard(rows))


def _day_paging(city_id: int, movie_id: int, day: ShowsDay) -> list[InlineKeyboardButton]:
    paging = []
    if day.previous_day is not None:
        label = f"◀️ {short_day(day.previous_day)}"
        paging.append(button(label, Action.SHOWS_DAY, city_id, movie_id, day_code(day.previous_day)))
    if day.next_day is not None:
        label = f"{short_day(day.next_day)} ▶️"
        paging.append(button(label, Action.SHOWS_DAY, city_id, movie_id, day_code(day.next_day)))
    return paging


def no_shows_screen(city: CityInfo, movies: Sequence[MovieInfo]) -> Screen:
    """A movie with no shows left: say so over the city's current movies."""
    return movies_screen(city, movies, heading="🎬 That movie has no more shows here.")


def _opens_at(show: ShowTime, now: datetime | None) -> datetime | None:
    """When a show not on sale yet goes on sale (the cinema's clock); None once it is on sale."""
    opens = show.local_on_sale_at()
    return opens if opens is not None and now is not None and opens > now else None


def _time_button_for(show: ShowTime, free: int | None, now: datetime | None) -> InlineKeyboardButton:
    opens = _opens_at(show, now)
    if opens is not None and show.sale_queue:
        return button(f"🎟 {show.local_starts_at:%H:%M} · Join the queue", Action.QUEUE_JOIN, show.show_id, 0)
    if opens is not None:
        return button(f"{show.local_starts_at:%H:%M} · on sale {opens:%H:%M}", Action.SHOW, show.show_id, 0)
    return button(_time_button(show, free), Action.SHOW, show.show_id, 0)


def _time_button(show: ShowTime, free: int | None) -> str:
    label = f"{show.local_starts_at:%H:%M}"
    if free == 0:
        return f"{label} · sold out"
    return f"{label} · {free}" if free is not None else label
