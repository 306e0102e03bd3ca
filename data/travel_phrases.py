"""The phrases of the built-in travel dataset: dates, times and tagged words (`data.travel` puts them in sentences).

Each maker draws from the generator's random stream and returns (word, tag) pairs, tagged with ATIS's
slot names for the role it is given:

    date_phrase(rng, "arrive")  ->  [("on", "O"), ("november", "B-arrive_date.month_name"),
                                     ("2nd", "B-arrive_date.day_number")]
    time_phrase(rng, "depart")  ->  [("before", "B-depart_time.time_relative"), ("10", "B-depart_time.time"),
                                     ("am", "I-depart_time.time")]

The words they choose from (months, weekdays, periods of the day) are in `data.travel_templates`.
"""

from __future__ import annotations

from data._random import StableRandom
from data.travel_templates import MONTHS, ORDINAL_WORDS, PERIODS, WEEKDAYS


def tagged(text: str, slot: str | None) -> list[tuple[str, str]]:
    """Words of `text` tagged B-/I-`slot` (or O when `slot` is None)."""
    words = text.split()
    if slot is None:
        return [(word, "O") for word in words]
    return [(word, ("B-" if position == 0 else "I-") + slot) for position, word in enumerate(words)]


def day_number(rng: StableRandom, day: int) -> str:
    """`2nd` or `second`; `twenty second` for days past twenty."""
    if rng.chance(0.5):
        suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        return f"{day}{suffix}"
    if day <= 20:
        return ORDINAL_WORDS[day - 1]
    if day == 30:
        return "thirtieth"
    tens = "twenty" if day < 30 else "thirty"
    return f"{tens} {ORDINAL_WORDS[day % 10 - 1]}"


def date_phrase(rng: StableRandom, role: str) -> list[tuple[str, str]]:
    """A date for `role` ("depart" or "arrive"): "on november 2nd", "on the 2nd of november", "on monday", ..."""
    slot = f"{role}_date"
    month, length = rng.choice(MONTHS)
    day = day_number(rng, rng.integer(1, length))
    form = rng.weighted((0.40, 0.15, 0.25, 0.10, 0.05, 0.05))
    if form == 0:
        return tagged("on", None) + tagged(month, f"{slot}.month_name") + tagged(day, f"{slot}.day_number")
    if form == 1:
        return (
            tagged("on the", None)
            + tagged(day, f"{slot}.day_number")
            + tagged("of", None)
            + tagged(month, f"{slot}.month_name")
        )
    if form == 2:
        return tagged("on", None) + tagged(rng.choice(WEEKDAYS), f"{slot}.day_name")
    if form == 3:
        return tagged(month, f"{slot}.month_name") + tagged(day, f"{slot}.day_number")
    if form == 4:
        return tagged("next", f"{slot}.date_relative") + tagged(rng.choice(WEEKDAYS), f"{slot}.day_name")
    return tagged(rng.choice(("tomorrow", "today")), f"{slot}.today_relative")


def clock_time(rng: StableRandom) -> str:
    """`8 am`, `830 pm` or `noon`."""
    if rng.chance(0.08):
        return "noon"
    hour = rng.integer(1, 12)
    minutes = rng.choice(("", "", "", "15", "30", "45"))
    return f"{hour}{minutes} {rng.choice(('am', 'pm'))}"


def time_phrase(rng: StableRandom, role: str) -> list[tuple[str, str]]:
    """A time for `role`: "at 8 am", "before 10 am", "in the morning", ..."""
    slot = f"{role}_time"
    form = rng.weighted((0.3, 0.3, 0.4))
    if form == 0:
        return tagged("at", None) + tagged(clock_time(rng), f"{slot}.time")
    if form == 1:
        relation = rng.choice(("before", "after", "around"))
        return tagged(relation, f"{slot}.time_relative") + tagged(clock_time(rng), f"{slot}.time")
    return tagged(rng.choice(("in the", "in the", "early in the", "late in the")), None) + tagged(
        rng.choice(PERIODS), f"{slot}.period_of_day"
    )
