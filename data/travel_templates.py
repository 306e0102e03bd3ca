"""The words and sentence shapes of the built-in travel dataset (`data.travel` generates from them).

A template is an intent and a pattern of words and slots; `{from}`, `{to}`, `{depart_date}` and the
other fields are filled with the values below and tagged with ATIS's slot names, and a `^` marks the
cue word that decides the role of a city or date:

    ("atis_flight", "i would like to ^arrive {to} {arrive_date}", ...)

Edit these tables to change what the sentences say; `data.travel` decides how they are drawn.
"""

from __future__ import annotations

# Cities in train, dev and test; every one of them appears in every role.
CITIES = (
    "boston",
    "denver",
    "dallas",
    "atlanta",
    "chicago",
    "pittsburgh",
    "baltimore",
    "philadelphia",
    "san francisco",
    "new york",
    "los angeles",
    "washington",
    "seattle",
    "miami",
    "houston",
    "phoenix",
    "detroit",
    "toronto",
    "montreal",
    "salt lake city",
    "las vegas",
    "orlando",
    "tampa",
    "memphis",
    "nashville",
    "st. louis",
    "taipei",
    "tokyo",
    "hong kong",
    "seoul",
    "singapore",
    "london",
    "paris",
    "frankfurt",
    "amsterdam",
    "sydney",
    "bangkok",
    "kuala lumpur",
    "manila",
    "shanghai",
    "beijing",
    "san diego",
)
# Cities that occur only in dev and test.
HELD_OUT_CITIES = ("oakland", "kansas city", "vancouver", "osaka", "rome", "minneapolis")

AIRLINES = (
    "united airlines",
    "american airlines",
    "delta",
    "us air",
    "continental",
    "eva air",
    "china airlines",
    "lufthansa",
    "british airways",
    "japan airlines",
    "singapore airlines",
    "cathay pacific",
    "korean air",
)
# Airlines that occur only in dev and test.
HELD_OUT_AIRLINES = ("air canada", "alaska airlines", "qantas")

# Probability that a city or an airline slot of a dev or test sentence takes a held-out name. Cities are held
# out less often: a tagger cannot know the role of a city it has never seen from the word itself, so the
# feed-forward tagger's figure on the context words stays about what the one-word-at-a-time guess is worth.
HELD_OUT_CITY_RATE = 0.1
HELD_OUT_AIRLINE_RATE = 0.25

# Share of sentences whose cue is far from the city or date it decides, and the farthest a cue may be. At 20
# words the Elman network trained with the intent head kept the cue as well as the LSTM (98.7% beyond 15 words);
# at 25 it keeps 80.5% and the gated cells 99.2-100%; at 30 the LSTM loses it too (README, travel results).
LONG_RANGE_SHARE = 0.25
MAX_CUE_DISTANCE = 25

# The recipes' demo sentences; they are never generated.
DEMO_SENTENCES = (
    "i would like to arrive taipei on november 2nd",
    "leave taipei on november 2nd",
)

MONTHS = (
    ("january", 31),
    ("february", 28),
    ("march", 31),
    ("april", 30),
    ("may", 31),
    ("june", 30),
    ("july", 31),
    ("august", 31),
    ("september", 30),
    ("october", 31),
    ("november", 30),
    ("december", 31),
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORDINAL_WORDS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
)
PERIODS = ("morning", "afternoon", "evening", "night")
CLASSES = ("first class", "business class", "economy", "economy class", "coach")
COST_RELATIVE = ("cheapest", "least expensive", "lowest")
FLIGHT_MODS = ("earliest", "latest", "first", "last")
FLIGHT_STOPS = ("nonstop", "direct")
ROUND_TRIPS = ("round trip", "one way")
TRANSPORTS = ("taxi", "limousine", "rental car", "bus", "shuttle")
OPENINGS = (
    "",
    "show me",
    "show me the",
    "list",
    "list all",
    "please list",
    "give me",
    "find",
    "what are the",
    "i need",
    "i want",
    "can you show me",
    "are there any",
    "do you have",
    "please show me",
    "which",
)

# Intent, weight, templates. `{name}` expands to tagged words; `?{name}` or `?word` is included half the time;
# `^word` is a cue (see `CUES`): the word that decides the role of a nearby city or date.
TEMPLATES = (
    (
        "atis_flight",
        0.68,
        (
            "{show} flights ^from {from} ^to {to}",
            "{show} flights ^from {from} ^to {to} {depart_date}",
            "{show} flights ^from {from} ^to {to} {depart_date} {depart_time}",
            "{show} {stop_kind} flights ^from {from} ^to {to} ?{depart_date}",
            "{show} flights on {airline} ^from {from} ^to {to} ?{depart_date}",
            "{show} {airline} flights ^from {from} ^to {to} ?{depart_time}",
            "{show} {mod} flight ^from {from} ^to {to} ?{depart_date}",
            "{show} flights ^leaving {from} {depart_time} and ^arriving in {to} {arrive_time}",
            "{show} flights ^leaving ^from {from} going ^to {to} ?{depart_date}",
            "{show} flights ^to {to} ^from {from} {depart_date}",
            "{show} flights between {from} and {to} ?{depart_date}",
            "{show} flights ^from {from} ^to {to} that arrive {arrive_time}",
            "{show} flights ^from {from} ^arriving in {to} {arrive_date}",
            "{show} flights ^arriving in {to} {arrive_date} ^from {from}",
            "{show} flights ^departing {from} ^for {to} ?{depart_date}",
            "{show} flights ^from {from} ^to {to} with a stop in {stop}",
            "{show} flights ^from {from} ^to {to} via {stop} ?{depart_date}",
            "{show} {class} flights ^from {from} ^to {to}",
            "{show} flights ^leaving {from} {depart_date}",
            "{show} flights ^arriving in {to} {arrive_time}",
            "{show} flights ^to {to} {depart_date}",
            "{show} flights ^from {from} {depart_date} ?{depart_time}",
            "{from} ^to {to} {depart_date}",
            "{from} ^to {to} ?{depart_date} {depart_time}",
            "{from} ^to {to} on {airline}",
            "i would like to ^arrive {to} {arrive_date}",
            "i would like to ^arrive in {to} {arrive_date} ?{arrive_time}",
            "i would like to ^arrive in {to} {arrive_by}",
            "i would like to ^leave {from} {depart_date}",
            "i would like to ^leave {from} {depart_date} ?{depart_time}",
            "^leave {from} {depart_date}",
            "^arrive {to} {arrive_date}",
            "i want to ^leave {from} {depart_date} and ^arrive in {to} {arrive_time}",
            "i want to ^leave {from} {depart_time} and ^arrive in {to} {arrive_date}",
            "^from {from} i want to go ^to {to} {depart_date}",
            "^from {from} i would like to fly ^to {to} ?{depart_date}",
            "i want to ^arrive in {to} {arrive_time} coming ^from {from}",
            "i need to ^be in {to} {arrive_date} ?{arrive_by}",
            "i need to ^be in {to} {arrive_by} ^leaving ^from {from}",
            "i want to fly ^from {from} ^to {to} {depart_date}",
            "i want to fly ^to {to} {depart_date} ^from {from}",
            "i need a flight ^from {from} ^to {to} with a stop in {stop}",
            "i need a {trip} flight ^from {from} ^to {to} ?{depart_date}",
            "what flights go ^from {from} ^to {to} {depart_date}",
            "what flights ^arrive in {to} ^from {from} {arrive_date}",
            "what flights ^leave {from} {depart_date} ^for {to}",
            "i am ^leaving {from} {depart_date} and want to go ^to {to}",
            "i want to go ^to {to} and i am ^leaving ^from {from} {depart_date}",
            "?please find a flight ^out of {from} ^into {to} {depart_time}",
            "my flight should ^arrive in {to} {arrive_time} and ^leave {from} {depart_date}",
            "{from} is where i am ^leaving from and {to} is where i want to ^go",
            "i want to go ^from {from} ^to {to} {depart_date} and arrive {arrive_time}",
            "is there a {stop_kind} flight ^from {from} ^to {to} ?{depart_time}",
            "flying ^from {from} ^to {to} {depart_date} on {airline}",
        ),
    ),
    (
        "atis_airfare",
        0.12,
        (
            "how much is a {class} ticket ^from {from} ^to {to}",
            "what is the {cheapest} fare ^from {from} ^to {to} ?{depart_date}",
            "{show} {trip} fares ^from {from} ^to {to}",
            "what are the fares ^from {from} ^to {to} {depart_date}",
            "how much does it cost to fly ^from {from} ^to {to} on {airline}",
            "{show} the {cheapest} flight ^from {from} ^to {to} {depart_date}",
            "what does a {trip} ticket ^to {to} ^from {from} cost",
            "how much is it to fly ^to {to} ^from {from} ?{depart_date}",
            "what is the {cheapest} way to ^arrive in {to} {arrive_date} ^from {from}",
        ),
    ),
    (
        "atis_ground_service",
        0.08,
        (
            "what ground transportation is available in {city}",
            "{show} ground transportation in {city}",
            "is there a {transport} service in {city}",
            "how do i get from the airport to downtown {city}",
            "i need a {transport} in {city}",
            "what kind of ground transportation is there in {city}",
            "can i get a {transport} from the airport in {city}",
        ),
    ),
    (
        "atis_airline",
        0.06,
        (
            "which airlines fly ^from {from} ^to {to}",
            "what airlines have flights between {from} and {to}",
            "which airline flies ^to {to} ^from {from} {depart_date}",
            "does {airline} fly ^from {from} ^to {to}",
            "what airlines go ^to {to} ?{depart_date}",
        ),
    ),
    (
        "atis_flight_time",
        0.06,
        (
            "what time does the {mod} flight ^from {from} ^to {to} leave",
            "what are the departure times ^from {from} ^to {to} ?{depart_date}",
            "when does {airline} ^leave {from} ^for {to}",
            "what time do flights ^arrive in {to} ^from {from} {arrive_date}",
            "what time does the flight ^leave {from} {depart_date}",
        ),
    ),
)

INTENTS = tuple(intent for intent, _, _ in TEMPLATES)

# Cue words (marked `^word` in a template): the role they set ("depart" or "arrive"), and whether they also
# decide dates. A preposition decides the city it stands before ("from boston", "boston to denver"); a verb
# decides cities and dates ("leave boston on monday", "arrive in denver on monday").
CUES = {
    "from": ("depart", False),
    "out": ("depart", False),
    "to": ("arrive", False),
    "for": ("arrive", False),
    "into": ("arrive", False),
    "leave": ("depart", True),
    "leaving": ("depart", True),
    "depart": ("depart", True),
    "departing": ("depart", True),
    "arrive": ("arrive", True),
    "arriving": ("arrive", True),
    "be": ("arrive", True),
    "go": ("arrive", True),
}
# Template slots whose role a cue decides, and that role.
CUED_SLOTS = {"from": "depart", "to": "arrive", "depart_date": "depart", "arrive_date": "arrive"}

# Long-range sentences: a cue verb, then a gap of fillers, then the city or date it decides; or the city or
# date first, the gap, then the cue. `{gap}` is the run of fillers, `{verb}` the cue, `{place}` the city and
# `{date}` the date (both tagged for the cue's role), `{at}` "in" or "at" (`{at_place}`: with a city after).
# What lies between the cue and the words it decides is the same for both roles, so only the cue itself tells
# them apart.
LONG_RANGE_FRAMES = (
    # cue first: "i would like to arrive , if possible on a nonstop flight with delta , at taipei on monday"
    ("{intro} {verb} , {gap} , {at} {place} ?{date}", "before"),
    ("{intro} {verb} , {gap} , {date} ?{at_place}", "before"),
    # cue last: "taipei , preferably in first class , is where i want to leave from on november 2nd"
    ("{place} , {gap} , is where {intro} {verb} ?{date}", "after"),
    ("{date} , {gap} , is when {intro} {verb}", "after"),
)
LONG_RANGE_INTROS = {
    "before": ("i would like to", "i want to", "i need to", "i would prefer to", "i have to", "we want to"),
    "after": ("i would like to", "i want to", "i need to", "we want to", "i plan to"),
}
LONG_RANGE_VERBS = {"arrive": ("arrive",), "depart": ("leave", "depart")}
# After a city that comes first, the verb reads "leave from"; the particle is past the cue, so it tells nothing
# the cue does not.
LONG_RANGE_PARTICLES = {"arrive": "", "depart": "from"}
# Fillers of a gap; none of them names a role, and their slots (airline, class, fare) are the same either way.
GAP_FILLERS = (
    "if possible",
    "if there is anything",
    "on a {stop_kind} flight",
    "with {airline}",
    "on {airline}",
    "in {class}",
    "flying {class}",
    "at the {cheapest} fare",
    "on a {trip} ticket",
    "and i do not mind a stop",
    "if the fare is reasonable",
    "with my two kids",
    "because i have a meeting",
    "on any airline",
    "no matter the fare",
    "with a window seat",
    "and my wife is coming too",
    "on a {stop_kind} one",
    "if there is a seat left",
    "ideally with {airline}",
    "i think",
)
# One-word fillers that pad a gap to its exact length.
GAP_WORDS = ("please", "preferably", "ideally", "really", "somehow", "maybe")
