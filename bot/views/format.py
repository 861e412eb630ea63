"""Small formatting rules every screen shares: days, times, runtimes, languages, countdowns.

Times are always shown on the cinema's clock; "today" and "tomorrow" are the cinema's days too.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from booking_core.tickets.content import compact_seats, format_money, format_show_time

__all__ = [
    "compact_seats",
    "countdown",
    "day_label",
    "format_money",
    "format_show_time",
    "language_label",
    "local",
    "runtime_label",
    "short_day",
    "show_label",
]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# ISO 639-1 codes of the languages films are most often shown in; others are shown as the code.
_LANGUAGES = {
    "ar": "Arabic",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fi": "Finnish",
    "fr": "French",
    "hi": "Hindi",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "sv": "Swedish",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "zh": "Chinese",
}


def local(moment: datetime, timezone: str) -> datetime:
    """An aware moment on the clock of `timezone`."""
    return moment.astimezone(ZoneInfo(timezone))


def short_day(day: date) -> str:
    """A day as "Fri 14 Mar"."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def day_label(day: date, today: date) -> str:
    """A day relative to `today`: "Today, Fri 14 Mar", "Tomorrow, Sat 15 Mar", or "Sun 16 Mar"."""
    offset = (day - today).days
    if offset == 0:
        return f"Today, {short_day(day)}"
    if offset == 1:
        return f"Tomorrow, {short_day(day)}"
    return short_day(day)


def show_label(starts_local: datetime, today: date) -> str:
    """A show's start for lists: "Today 19:30", "Tomorrow 13:30", "Sun 16 Mar 21:45"."""
    offset = (starts_local.date() - today).days
    if offset == 0:
        return f"Today {starts_local:%H:%M}"
    if offset == 1:
        return f"Tomorrow {starts_local:%H:%M}"
    return f"{short_day(starts_local.date())} {starts_local:%H:%M}"


def runtime_label(minutes: int) -> str:
    """A runtime as "1h 58m" (or "45m")."""
    hours, rest = divmod(max(0, minutes), 60)
    return f"{hours}h {rest:02d}m" if hours else f"{rest}m"


def language_label(code: str) -> str:
    """A language code as its English name ("de" → "German"); unknown codes upper-cased."""
    return _LANGUAGES.get(code.strip().lower(), code.strip().upper() or "?")


def countdown(until: datetime, now: datetime) -> str:
    """Time left until `until` in whole minutes, rounded up: "5 min", "1 min"; "less than a minute"."""
    seconds = (until - now).total_seconds()
    if seconds < 60:
        return "less than a minute"
    return f"{int(-(-seconds // 60))} min"
