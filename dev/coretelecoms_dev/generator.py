"""Realistic raw data for the five CoreTelecoms sources (SPEC §2), with hazards and their ground truth.

The files and tables copy the real feeds' layout (leaked index columns, odd header casing, a
column-oriented JSON document, text-only web-form tables) and value shapes (ids embedding the
customer UUID, dirty emails, multi-line and military addresses). Known hazards are injected at
small rates and every one is written to `ground_truth.json`, so tests can check the pipeline
against exact answers.

All rows are built with numpy/pandas array operations. Every random number comes from a numpy
Generator seeded by (seed, stream, keys...), so one seed gives byte-identical files and tables.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import filecmp
import functools
import io
import json
import operator
import os
import pathlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import psycopg2
from psycopg2 import sql

from coretelecoms.sources.catalog import (
    AGENTS,
    CALL_LOGS,
    CUSTOMERS,
    CUSTOMERS_KEY,
    SM_COMPLAINTS,
    WEB_COMPLAINTS,
    WEB_FORMS_SCHEMA,
    call_logs_key,
    sm_complaints_key,
    web_forms_table,
)

COMPLAINTS = (CALL_LOGS, SM_COMPLAINTS, WEB_COMPLAINTS)  # the three real feeds this generator makes


@dataclass(frozen=True)
class Hazards:
    """Rates of the problems injected into the sources; all on by default at small rates."""

    orphan_customer: float = 0.003  # complaint customer id that never exists
    orphan_agent: float = 0.002  # agent id outside 1000-1099 that never exists
    late_customer: float = 0.004  # complaint whose customer first appears in a newer customers file k=1..2 days later
    lifecycle_update: float = 0.03  # share of complaints that come back on a later day with a new state
    duplicate_row: float = 0.002  # exact duplicate rows inside a daily input
    malformed: float = 0.002  # per row: one malformed value
    missing_daily_input: bool = True  # exactly one daily input (source, day) is omitted, never day 1


@dataclass(frozen=True)
class GeneratorConfig:
    start_date: dt.date
    days: int
    scale: float
    seed: int
    hazards: Hazards = Hazards()

    @property
    def dates(self) -> list[dt.date]:
        return [self.start_date + dt.timedelta(days=offset) for offset in range(self.days)]


# --- raw layout --------------------------------------------------------------------------------

CUSTOMER_COLUMNS = ["customer_id", "name", "Gender", "DATE of biRTH", "signup_date", "email", "address"]
AGENT_COLUMNS = ["iD", "NamE", "experience", "state"]
CALL_LOG_COLUMNS = ["call ID", "customeR iD", "COMPLAINT_catego ry", "agent ID", "call_start_time",
                    "call_end_time", "resolutionstatus", "callLogsGenerationDate"]  # after the leaked index
SM_COLUMNS = ["complaint_id", "customeR iD", "COMPLAINT_catego ry", "agent ID", "resolutionstatus",
              "request_date", "resolution_date", "media_channel", "MediaComplaintGenerationDate"]
WEB_COLUMNS = ["Column1", "request_id", "customeR iD", "COMPLAINT_catego ry", "agent ID", "resolutionstatus",
               "request_date", "resolution_date", "webFormGenerationDate"]
ID_COLUMN = {CALL_LOGS: "call ID", SM_COMPLAINTS: "complaint_id", WEB_COMPLAINTS: "request_id"}

AGENTS_CSV_KEY = "agents/agents.csv"
AGENTS_SHEET_KEY = "agents/agents_sheet.json"
UPCOMING_CUSTOMERS = "_upcoming/customers"
GROUND_TRUTH_KEY = "ground_truth.json"

BASE_VOLUMES = {CUSTOMERS: 2_500_000, CALL_LOGS: 380_000, WEB_COMPLAINTS: 70_000, SM_COMPLAINTS: 9_500}
AGENT_COUNT, FIRST_AGENT_ID = 100, 1000


def input_location(source: str, day: dt.date) -> str:
    """Where a daily input lives: a key under the landing folder, or `schema.table` for web forms."""
    if source == CALL_LOGS:
        return call_logs_key(day)
    if source == SM_COMPLAINTS:
        return sm_complaints_key(day)
    return f"{WEB_FORMS_SCHEMA}.{web_forms_table(day)}"


def volume(source: str, scale: float) -> int:
    return max(1, int(BASE_VOLUMES[source] * scale + 0.5))


# --- vocabularies and mixes ---------------------------------------------------------------------

STATUSES = np.array(["Backlog", "In-Progress", "Blocked", "Resolved"], dtype=object)  # in lifecycle order
BACKLOG, IN_PROGRESS, BLOCKED, RESOLVED = range(4)
STATUS_P = [0.22, 0.27, 0.13, 0.38]
# Row = current status, column = next: a complaint only moves forward, and Resolved is final.
NEXT_STATUS_P = np.array([[0.0, 0.45, 0.15, 0.40], [0.0, 0.0, 0.30, 0.70], [0.0, 0.0, 0.0, 1.0]])
CATEGORIES = np.array(["Technician Support", "Payments", "Router Delivery", "Network Failure"], dtype=object)
CATEGORY_P = [0.31, 0.22, 0.17, 0.30]
MEDIA_CHANNELS = np.array(["Facebook", "Twitter", "Instagram", "LinkedIn"], dtype=object)
MEDIA_CHANNEL_P = [0.30, 0.38, 0.24, 0.08]
EXPERIENCE = np.array(["intern", "Junior", "Mid-level", "Senior"], dtype=object)
EXPERIENCE_P = [0.12, 0.28, 0.38, 0.22]

FEMALE_NAMES = (
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra "
    "Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Rebecca Sharon "
    "Laura Cynthia Dorothy Amy Kathleen Angela Shannon Brenda Pamela Nicole Anna Samantha Katherine "
    "Christine Debra Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria Ruth "
    "Virginia Lauren Kelly Christina Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha "
    "Madison Teresa Gloria Sara Janice Ann Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia "
    "Grace Amber Denise Danielle Marilyn Beverly Charlotte Natalie Theresa Diana Brianna April Rhonda "
    "Tina Allison Leah Kristen Erin Tiffany Vanessa Monica Erica Tammy Wendy Crystal Alexis Holly"
).split()
MALE_NAMES = (
    "James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew "
    "Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian George Timothy Ronald Jason Edward "
    "Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel "
    "Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary "
    "Douglas Peter Kyle Noah Ethan Jeremy Walter Christian Keith Roger Terry Austin Sean Gerald Carl "
    "Harold Dylan Arthur Lawrence Jordan Jesse Bryan Billy Bruce Gabriel Joe Logan Alan Juan Albert Willie "
    "Elijah Wayne Randy Vincent Mason Roy Ralph Bobby Russell Bradley Philip Eugene Brent Corey Derek "
    "Travis Shawn Darren Marcus Victor Luis Craig Curtis Dustin Troy Cody Mario Manuel Ricardo"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
    "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez "
    "Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole "
    "Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens "
    "Harrison Fernandez Mcdonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker "
    "Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz "
    "Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice "
    "Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley "
    "Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan "
    "Armstrong Hudson Carroll Lane Riley Andrews Ray Berry Perkins Hoffman Johnston Matthews Pena "
    "Richards Contreras Willis Carpenter Lawrence Sandoval Schultz Saunders Crane Roman Abbott Adkins "
    "Robbins Carlson Campbell Wagner Lynch Mccoy Bishop Frazier Hale Stanley Farmer Brennan Obrien"
).split()
FIRST_NAMES = np.array(FEMALE_NAMES + MALE_NAMES, dtype=object)  # codes below len(FEMALE_NAMES) are F
FIRST_LOWER = np.array([name.lower() for name in FIRST_NAMES], dtype=object)
LAST_LOWER = np.array([name.lower() for name in LAST_NAMES], dtype=object)
SURNAMES = np.array(LAST_NAMES, dtype=object)

STATE_POPULATIONS = {  # millions, 2020 census, rounded: weights for plausible (not uniform) mixes
    "Alabama": 5.0, "Alaska": 0.7, "Arizona": 7.2, "Arkansas": 3.0, "California": 39.5, "Colorado": 5.8,
    "Connecticut": 3.6, "Delaware": 1.0, "Florida": 21.5, "Georgia": 10.7, "Hawaii": 1.5, "Idaho": 1.8,
    "Illinois": 12.8, "Indiana": 6.8, "Iowa": 3.2, "Kansas": 2.9, "Kentucky": 4.5, "Louisiana": 4.7,
    "Maine": 1.4, "Maryland": 6.2, "Massachusetts": 7.0, "Michigan": 10.1, "Minnesota": 5.7,
    "Mississippi": 3.0, "Missouri": 6.2, "Montana": 1.1, "Nebraska": 2.0, "Nevada": 3.1,
    "New Hampshire": 1.4, "New Jersey": 9.3, "New Mexico": 2.1, "New York": 20.2, "North Carolina": 10.4,
    "North Dakota": 0.8, "Ohio": 11.8, "Oklahoma": 4.0, "Oregon": 4.2, "Pennsylvania": 13.0,
    "Rhode Island": 1.1, "South Carolina": 5.1, "South Dakota": 0.9, "Tennessee": 6.9, "Texas": 29.1,
    "Utah": 3.3, "Vermont": 0.6, "Virginia": 8.6, "Washington": 7.7, "West Virginia": 1.8,
    "Wisconsin": 5.9, "Wyoming": 0.6,
}
STATE_NAMES = np.array(list(STATE_POPULATIONS), dtype=object)
STATE_ABBRS = np.array(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
    "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS FM GU MH MP PR PW VI".split(), dtype=object)


def _population_mix(weights: list[float], flattening: float = 0.5) -> np.ndarray:
    """Population shares blended with uniform: big states dominate but small ones still show up."""
    share = np.asarray(weights) / np.sum(weights)
    mixed = (1 - flattening) * share + flattening / len(share)
    return mixed / mixed.sum()


STATE_P = _population_mix(list(STATE_POPULATIONS.values()))
STATE_ABBR_P = _population_mix(list(STATE_POPULATIONS.values()) + [0.7] + [0.1] * 8)

STREET_SUFFIXES = np.array(
    "Turnpike Crescent Highway Creek Glens Views Cliff Forks Street Avenue Road Lane Drive Court Place "
    "Way Trail Parkway Circle Square Ridge Harbor Valley Hills Springs Meadows Village Park Pass Ports "
    "Ranch Shoals Shores Station Summit Terrace Track Union Ville Walk Well Wells Manor Mill Mission Mount "
    "Oval Plains Point Prairie Radial Rapid Rest Route Run Skyway Spur Stream Throughway Tunnel".split(),
    dtype=object)
CITY_PREFIXES = np.array(["North ", "South ", "East ", "West ", "New ", "Lake ", "Port "], dtype=object)
CITY_SUFFIXES = np.array(
    "land haven town borough burgh berg ville mouth side view bury chester fort furt shire stad port ton "
    "field".split(), dtype=object)
MILITARY_CODES = np.array(["AA", "AE", "AP"], dtype=object)
SHIP_PREFIXES = np.array(["USNS ", "USS ", "USNV ", "USCGC "], dtype=object)

EMAIL_DOMAINS = np.array(["gmail.com", "GmaiL.om", "gmial.com", "yahoo.com", "yaho.com", "Yahoo.com",
                          "hotmail.com", "hotmai.com", "HotMail.com", "outlook.com"], dtype=object)
EMAIL_DOMAIN_P = [0.27, 0.12, 0.05, 0.18, 0.05, 0.03, 0.12, 0.08, 0.03, 0.07]
EMAIL_SEPARATORS = np.array([".", "_", "-"], dtype=object)

ID_SEPARATORS = np.array(["K", "Q", "X"], dtype=object)
ID_ENDINGS = np.array(["ak", "gd", "ad", "wq"], dtype=object)
NAME3 = {CALL_LOGS: np.array([name[:3] for name in FIRST_NAMES], dtype=object),
         SM_COMPLAINTS: np.array([name[:3].lower() for name in FIRST_NAMES], dtype=object)}
NAME2 = np.array([name[:2].lower() for name in FIRST_NAMES], dtype=object)

BAD_TIMESTAMPS = np.array(["not-a-date", "2025-13-45 99:00:00", "2025/02/30 25:61:00"], dtype=object)
BAD_DATES = np.array(["not-a-date", "1985-02-30", "1990-13-45"], dtype=object)

DAY_SECONDS = 86_400
NO_TIME = np.iinfo(np.int64).min  # reads as NaT once viewed as datetime64
OPEN_REVISIT_P = 0.5  # a complaint still open after coming back comes back again with this chance
REASSIGN_ONLY_P = 0.15  # a complaint coming back with the same status, only another agent
REASSIGN_P = 0.3  # a status change that also moves the complaint to another agent
UPDATED_CUSTOMER_SHARE, SIGNUP_SHARE = 2e-5, 1e-5  # per customers version
CUSTOMER_CHUNK = 250_000  # customers are built and written in chunks to bound memory

# Numbered sub-streams of the seed: (seed, stream, keys...) seeds one numpy Generator.
(_AGENTS_STREAM, _CUSTOMERS_STREAM, _PLAN_STREAM, _DAILY_STREAM, _LATE_STREAM,
 _VERSION_STREAM, _ID_STREAM) = range(1, 8)


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def _stochastic_round(rng: np.random.Generator, expected: float) -> int:
    """An integer whose mean is `expected`: small rates still happen at small scales."""
    whole = int(np.floor(expected))
    return whole + int(rng.random() < expected - whole)


# --- vectorised text building --------------------------------------------------------------------

HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype="S1")
UUID_HEX_POSITIONS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _cat(*parts) -> np.ndarray:
    """Element-wise concatenation of object arrays and plain strings."""
    arrays = [part.astype(object) if isinstance(part, np.ndarray) else part for part in parts]
    return functools.reduce(operator.add, arrays)


def _chars_to_text(chars: np.ndarray) -> np.ndarray:
    """(n, width) single bytes -> n strings."""
    width = chars.shape[1]
    return np.ascontiguousarray(chars).view(f"S{width}").ravel().astype(f"U{width}").astype(object)


def _hex(values: np.ndarray, width: int) -> np.ndarray:
    shifts = 4 * np.arange(width - 1, -1, -1)
    return _chars_to_text(HEX_DIGITS[(values.astype(np.int64)[:, None] >> shifts) & 15])


@functools.cache
def _number_texts(width: int) -> np.ndarray:
    """Text of 0 .. 10**width - 1, zero-padded to `width` (width 0: not padded, up to 99,999).

    Looking numbers up is several times faster than formatting them for every row.
    """
    text = np.arange(10 ** (width or 5)).astype(str)
    return (np.char.zfill(text, width) if width else text).astype(object)


def _zero_padded(values: np.ndarray, width: int) -> np.ndarray:
    return _number_texts(width)[values % 10**width]


def _numbers(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.int64)
    if len(values) and values.max() < 10**5:
        return _number_texts(0)[values]
    return values.astype(str).astype(object)


def _uuid4(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as 36-byte strings (compact: 36 bytes a customer in memory)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2], nibbles[:, 1::2] = raw >> 4, raw & 0x0F
    chars = np.full((n, 36), b"-", dtype="S1")
    chars[:, UUID_HEX_POSITIONS] = HEX_DIGITS[nibbles]
    return chars.view("S36").ravel()


def _uuid_text(uuids: np.ndarray) -> np.ndarray:
    return uuids.astype("U36").astype(object)


def _uuid_hex_chars(uuids: np.ndarray) -> np.ndarray:
    """(n, 32) bytes: each UUID without its dashes."""
    return uuids.view("S1").reshape(-1, 36)[:, UUID_HEX_POSITIONS]


@functools.cache
def _clock_texts() -> np.ndarray:
    """'HH:MM:SS' for every second of a day, looked up rather than formatted per row."""
    seconds = np.arange(DAY_SECONDS)
    return _cat(_zero_padded(seconds // 3600, 2), ":", _zero_padded(seconds // 60 % 60, 2), ":",
                _zero_padded(seconds % 60, 2))


def _dates(days: np.ndarray) -> np.ndarray:
    """Epoch days -> 'YYYY-MM-DD' (each distinct day formatted once)."""
    distinct, inverse = np.unique(days, return_inverse=True)
    return np.datetime_as_string(distinct.astype("datetime64[D]")).astype(object)[inverse]


def _timestamps(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds -> 'YYYY-MM-DD HH:MM:SS'; NO_TIME -> ''."""
    known = seconds != NO_TIME
    days, clock = np.divmod(seconds[known], DAY_SECONDS)
    text = np.full(len(seconds), "", dtype=object)
    text[known] = _cat(_dates(days), " ", _clock_texts()[clock])
    return text


def _epoch_day(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def _pick(rng: np.random.Generator, values: np.ndarray, n: int, p=None) -> np.ndarray:
    return values[rng.choice(len(values), size=n, p=p)]


# --- customers -----------------------------------------------------------------------------------

@dataclass
class CustomerRows:
    """Customers as raw text columns plus the compact keys complaints need."""

    columns: dict[str, np.ndarray]
    uuids: np.ndarray  # S36
    first: np.ndarray  # codes into FIRST_NAMES
    last: np.ndarray  # codes into SURNAMES


def _emails(rng: np.random.Generator, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Dirty emails like the real ones: '2772brianna_schultz525@GmaiL.om', 'f963brian.wagner016@hotmai.com'."""
    n = len(first)
    lead = _hex(rng.integers(0, 16**4, n), 4)
    short = rng.random(n) < 0.25
    lead[short] = _hex(rng.integers(0, 16**3, int(short.sum())), 3)
    tail = _hex(rng.integers(0, 16**3, n), 3)
    return _cat(lead, FIRST_LOWER[first], _pick(rng, EMAIL_SEPARATORS, n), LAST_LOWER[last], tail, "@",
                _pick(rng, EMAIL_DOMAINS, n, EMAIL_DOMAIN_P))


def _cities(rng: np.random.Generator, n: int) -> np.ndarray:
    """Faker-style towns: 'Darrenland', 'New Tylerbury', 'North Tyler', 'Lynchberg'."""
    base = np.where(rng.random(n) < 0.5, _pick(rng, FIRST_NAMES, n), _pick(rng, SURNAMES, n))
    prefix = np.where(rng.random(n) < 0.2, _pick(rng, CITY_PREFIXES, n), "").astype(object)
    suffix = np.where(rng.random(n) < 0.75, _pick(rng, CITY_SUFFIXES, n), "").astype(object)
    return _cat(prefix, base, suffix)


def _civilian_addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    """'317 Paul Turnpike\nDarrenland, NY 13297', '690 Lewis Views Apt. 370\nHarperburgh, MD 77036'."""
    secondary = np.where(rng.random(n) < 0.5, " Apt. ", " Suite ").astype(object)
    secondary = np.where(rng.random(n) < 0.35, _cat(secondary, _zero_padded(rng.integers(0, 1000, n), 3)), "")
    street = np.where(rng.random(n) < 0.5, _pick(rng, FIRST_NAMES, n), _pick(rng, SURNAMES, n))
    low = 10 ** (rng.integers(3, 6, n) - 1)  # 3 to 5 digits, like '317', '6879', '63925'
    building = low + (rng.random(n) * 9 * low).astype(np.int64)
    return _cat(_numbers(building), " ", street, " ", _pick(rng, STREET_SUFFIXES, n),
                secondary.astype(object), "\n", _cities(rng, n), ", ", _pick(rng, STATE_ABBRS, n, STATE_ABBR_P),
                " ", _zero_padded(rng.integers(501, 100_000, n), 5))


def _military_addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    """'PSC 2383, Box 3666\nAPO AA 12094', 'Unit 1234 Box 5678\nDPO AE 12345', 'USNS Smith\nFPO AP 12345'."""
    kind = rng.integers(0, 3, n)
    psc, unit, ship = (int(count) for count in np.bincount(kind, minlength=3))
    lines = np.empty(n, dtype=object)
    lines[kind == 0] = _cat("PSC ", _zero_padded(rng.integers(0, 10_000, psc), 4), ", Box ",
                            _zero_padded(rng.integers(0, 10_000, psc), 4), "\nAPO ")
    lines[kind == 1] = _cat("Unit ", _zero_padded(rng.integers(0, 10_000, unit), 4), " Box ",
                            _zero_padded(rng.integers(0, 10_000, unit), 4), "\nDPO ")
    lines[kind == 2] = _cat(_pick(rng, SHIP_PREFIXES, ship), _pick(rng, SURNAMES, ship), "\nFPO ")
    return _cat(lines, _pick(rng, MILITARY_CODES, n), " ", _zero_padded(rng.integers(0, 100_000, n), 5))


def _addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Two-line US addresses, about 15% of them military (APO/DPO/FPO)."""
    military = rng.random(n) < 0.15
    addresses = np.empty(n, dtype=object)
    addresses[~military] = _civilian_addresses(rng, int((~military).sum()))
    addresses[military] = _military_addresses(rng, int(military.sum()))
    return addresses


def _customer_rows(rng: np.random.Generator, n: int, as_of: dt.date) -> CustomerRows:
    female = rng.random(n) < 0.51
    first = np.where(female, rng.integers(0, len(FEMALE_NAMES), n),
                     len(FEMALE_NAMES) + rng.integers(0, len(MALE_NAMES), n))
    last = rng.integers(0, len(SURNAMES), n)
    uuids = _uuid4(rng, n)
    oldest_birth, youngest_birth = _epoch_day(dt.date(1935, 1, 1)), _epoch_day(dt.date(2006, 12, 31))
    first_signup = _epoch_day(dt.date(2010, 1, 1))
    columns = {
        "customer_id": _uuid_text(uuids),
        "name": _cat(FIRST_NAMES[first], " ", SURNAMES[last]),
        "Gender": np.where(female, "F", "M").astype(object),
        "DATE of biRTH": _dates(rng.integers(oldest_birth, youngest_birth + 1, n)),
        "signup_date": _dates(rng.integers(first_signup, _epoch_day(as_of), n)),
        "email": _emails(rng, first, last),
        "address": _addresses(rng, n),
    }
    return CustomerRows(columns, uuids, first, last)


@dataclass(frozen=True)
class _Malformation:
    column: str
    kind: str
    make: Callable[[np.random.Generator, dict, np.ndarray], np.ndarray]  # (rng, columns, rows) -> values
    needs_resolution: bool = False  # only applies to rows with a resolution date


def _constant(value: str):
    return lambda rng, columns, rows: np.full(len(rows), value, dtype=object)


def _one_of(values: np.ndarray):
    return lambda rng, columns, rows: _pick(rng, values, len(rows))


def _without_at(rng, columns, rows):
    return pd.Series(columns["email"][rows]).str.replace("@", "", regex=False).to_numpy(object)


def _before(reference: str, max_minutes: int):
    """A valid timestamp 1..max_minutes before the row's `reference` timestamp."""
    def make(rng, columns, rows):
        stamps = pd.to_datetime(pd.Series(columns[reference][rows]), format="%Y-%m-%d %H:%M:%S")
        minutes = pd.to_timedelta(rng.integers(1, max_minutes + 1, len(rows)), unit="min")
        return (stamps - minutes).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(object)
    return make


CUSTOMER_MALFORMATIONS = [
    _Malformation("email", "bad_email", _without_at),
    _Malformation("DATE of biRTH", "bad_date", _one_of(BAD_DATES)),
    _Malformation("signup_date", "bad_date", _one_of(BAD_DATES)),
    _Malformation("Gender", "unknown_enum", _constant("Unknown")),
]
_COMPLAINT_MALFORMATIONS = [
    _Malformation("customeR iD", "empty", _constant("")),
    _Malformation("resolutionstatus", "unknown_enum", _constant("Pending??")),
    _Malformation("COMPLAINT_catego ry", "unknown_enum", _constant("Unknown")),
]
MALFORMATIONS = {
    CALL_LOGS: _COMPLAINT_MALFORMATIONS + [
        _Malformation("call_start_time", "bad_timestamp", _one_of(BAD_TIMESTAMPS)),
        _Malformation("call_end_time", "bad_timestamp", _one_of(BAD_TIMESTAMPS)),
        _Malformation("call_end_time", "end_before_start", _before("call_start_time", 30)),
    ],
    SM_COMPLAINTS: _COMPLAINT_MALFORMATIONS + [
        _Malformation("request_date", "bad_timestamp", _one_of(BAD_TIMESTAMPS)),
        _Malformation("resolution_date", "bad_timestamp", _one_of(BAD_TIMESTAMPS), needs_resolution=True),
        _Malformation("resolution_date", "resolution_before_request", _before("request_date", 14 * 1440),
                      needs_resolution=True),
        _Malformation("media_channel", "unknown_enum", _constant("MySpace")),
    ],
}
MALFORMATIONS[WEB_COMPLAINTS] = MALFORMATIONS[SM_COMPLAINTS][:-1]
_FALLBACK_MALFORMATION = 3  # request/start timestamp: applies to every complaint row


def _malform(rng: np.random.Generator, columns: dict[str, np.ndarray], rows: np.ndarray,
             kinds: list[_Malformation], resolved: np.ndarray | None = None) -> pd.DataFrame:
    """Breaks one value in each of `rows` (in place) and says which (row, column, kind, value)."""
    codes = rng.integers(0, len(kinds), len(rows))
    if resolved is not None:
        needs = np.array([kind.needs_resolution for kind in kinds])
        codes = np.where(needs[codes] & ~resolved[rows], _FALLBACK_MALFORMATION, codes)
    records = []
    for code, kind in enumerate(kinds):  # one pass per kind of damage, not per row
        chosen = rows[codes == code]
        values = kind.make(rng, columns, chosen)
        columns[kind.column][chosen] = values
        records.append(pd.DataFrame({"row": chosen, "column": kind.column, "kind": kind.kind, "value": values}))
    return pd.concat(records, ignore_index=True).sort_values("row", kind="stable", ignore_index=True)


def _customer_chunk(config: GeneratorConfig, index: int, size: int) -> tuple[CustomerRows, pd.DataFrame]:
    """One chunk of the base customers file; rebuilt identically whenever a version is written."""
    rng = _rng(config.seed, _CUSTOMERS_STREAM, index)
    rows = _customer_rows(rng, size, config.start_date)
    broken = rng.choice(size, _stochastic_round(rng, config.hazards.malformed * size), replace=False)
    malformed = _malform(rng, rows.columns, np.sort(broken), CUSTOMER_MALFORMATIONS)
    malformed["row"] += index * CUSTOMER_CHUNK
    return rows, malformed


@dataclass
class BaseCustomers:
    """What complaints and later versions need to know about the base customers file."""

    uuids: np.ndarray
    first: np.ndarray
    last: np.ndarray
    malformed: pd.DataFrame  # row, column, kind, value; plus customer id


def _write_customers(path: pathlib.Path, config: GeneratorConfig, overrides: pd.DataFrame,
                     appended: list[dict[str, np.ndarray]]) -> BaseCustomers:
    """Writes one version of the customers file: the base rows (with `overrides`), then `appended`."""
    total = volume(CUSTOMERS, config.scale)
    uuids, firsts, lasts, malformed = [], [], [], []
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as out:
        for index, start in enumerate(range(0, total, CUSTOMER_CHUNK)):
            size = min(CUSTOMER_CHUNK, total - start)
            rows, broken = _customer_chunk(config, index, size)
            in_chunk = overrides[(overrides["row"] >= start) & (overrides["row"] < start + size)]
            for column, changes in in_chunk.groupby("column", sort=True):
                rows.columns[column][changes["row"].to_numpy() - start] = changes["value"].to_numpy(object)
            pd.DataFrame(rows.columns).to_csv(out, header=index == 0, index=False, lineterminator="\n")
            broken["id"] = rows.columns["customer_id"][broken["row"].to_numpy() - start]
            uuids.append(rows.uuids), firsts.append(rows.first), lasts.append(rows.last), malformed.append(broken)
        for columns in appended:
            pd.DataFrame(columns).to_csv(out, header=False, index=False, lineterminator="\n")
    return BaseCustomers(np.concatenate(uuids), np.concatenate(firsts), np.concatenate(lasts),
                         pd.concat(malformed, ignore_index=True))


# --- agents --------------------------------------------------------------------------------------

def _agents(config: GeneratorConfig) -> pd.DataFrame:
    rng = _rng(config.seed, _AGENTS_STREAM)
    first = rng.integers(0, len(FIRST_NAMES), AGENT_COUNT)
    return pd.DataFrame({
        "iD": _numbers(FIRST_AGENT_ID + np.arange(AGENT_COUNT)),
        "NamE": _cat(FIRST_NAMES[first], " ", _pick(rng, SURNAMES, AGENT_COUNT)),
        "experience": _pick(rng, EXPERIENCE, AGENT_COUNT, EXPERIENCE_P),
        "state": _pick(rng, STATE_NAMES, AGENT_COUNT, STATE_P),
    })


def _agent_workload(config: GeneratorConfig) -> np.ndarray:
    """Some agents take many more complaints than others."""
    weights = _rng(config.seed, _AGENTS_STREAM, 1).gamma(2.0, 1.0, AGENT_COUNT)
    return weights / weights.sum()


def _spreadsheet_id(config: GeneratorConfig) -> str:
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    return "1" + "".join(_rng(config.seed, _AGENTS_STREAM, 2).choice(alphabet, 43))


def _write_agents(landing: pathlib.Path, config: GeneratorConfig) -> int:
    agents = _agents(config)
    (landing / AGENTS_CSV_KEY).parent.mkdir(parents=True, exist_ok=True)
    agents.to_csv(landing / AGENTS_CSV_KEY, index=False, lineterminator="\n")
    sheet = {
        "spreadsheet_id": _spreadsheet_id(config),
        "title": "CoreTelecoms agents",
        "worksheets": [{"title": "agents", "values": [AGENT_COLUMNS] + agents.to_numpy(str).tolist()}],
    }
    (landing / AGENTS_SHEET_KEY).write_text(json.dumps(sheet) + "\n", encoding="utf-8")
    return len(agents)


# --- complaints ----------------------------------------------------------------------------------

# A batch of complaints is a dict of equal-length arrays:
#   id (str), customer (S36 UUID), category, agent, status, start, end (epoch seconds), channel.
# `end` is the call end for calls and the resolution time (NO_TIME when open) for the others.
Batch = dict[str, np.ndarray]


def _take(batch: Batch, rows: np.ndarray) -> Batch:
    return {key: values[rows] for key, values in batch.items()}


def _join(*batches: Batch) -> Batch:
    return {key: np.concatenate([batch[key] for batch in batches]) for key in batches[0]}


ID_SPACE = {CALL_LOGS: 65_536 * 9_900, SM_COMPLAINTS: 65_536 * 9_900, WEB_COMPLAINTS: 256 * 99_900}
ID_MULTIPLIER = 2_654_435_761  # prime, so s -> (A*s + B) mod space is a bijection: ids never repeat


def _complaint_ids(rng: np.random.Generator, source: str, serials: np.ndarray, customers: np.ndarray,
                   seed: int) -> np.ndarray:
    """Ids shaped like the real ones, embedding the customer's UUID without dashes.

    Calls `Mar0979K65d79202...39ce1476b1aeb39ceKak` (55-56 chars), social media the same with a
    lower-case name (`dan8e7eX...`), web forms `nnc0ddcdX7446ddcd...3779611Qgd` (52-54 chars). The
    hex and number parts are a bijection of a per-channel serial, so an id is never reused; the
    shapes differ per channel, so ids are unique across channels too.
    """
    space = ID_SPACE[source]
    if len(serials) and serials[-1] >= space:
        raise ValueError(f"{source}: more complaints than distinct ids ({space:,})")
    offset = int(_rng(seed, _ID_STREAM, COMPLAINTS.index(source)).integers(0, space))
    code = (serials.astype(np.int64) * (ID_MULTIPLIER % space) + offset) % space
    chars = _uuid_hex_chars(customers)
    compact = _chars_to_text(chars)
    n = len(serials)
    names = rng.integers(0, len(FIRST_NAMES), n)
    separators = _pick(rng, ID_SEPARATORS, n), _pick(rng, ID_SEPARATORS, n)
    ending = _pick(rng, ID_ENDINGS, n)
    if source == WEB_COMPLAINTS:
        return _cat(NAME2[names], _hex(code % 256, 2), _chars_to_text(chars[:, 4:8]), separators[0], compact,
                    _numbers(100 + code // 256), _chars_to_text(chars[:, 21:26]), separators[1], ending)
    return _cat(NAME3[source][names], _hex(code % 65_536, 4), separators[0], compact,
                _numbers(100 + code // 65_536), _chars_to_text(chars[:, 23:]), separators[1], ending)


def _fresh_complaints(rng: np.random.Generator, source: str, n: int, day: dt.date, customers: np.ndarray,
                      workload: np.ndarray) -> Batch:
    """New complaints from existing customers; events back-dated 1-10 months before the file date."""
    status = rng.choice(4, n, p=STATUS_P)
    start = _epoch_day(day) * DAY_SECONDS - rng.integers(30 * DAY_SECONDS, 300 * DAY_SECONDS, n)
    if source == CALL_LOGS:
        end = start + 60 * rng.integers(3, 16, n)  # calls last minutes
    else:
        end = np.where(status == RESOLVED, start + 60 * rng.integers(60, 20 * 1440, n), NO_TIME)
    return {
        "id": np.empty(n, dtype=object),
        "customer": customers[rng.integers(0, len(customers), n)],
        "category": rng.choice(4, n, p=CATEGORY_P),
        "agent": FIRST_AGENT_ID + rng.choice(AGENT_COUNT, n, p=workload),
        "status": status,
        "start": start,
        "end": end,
        "channel": rng.choice(4, n, p=MEDIA_CHANNEL_P) if source == SM_COMPLAINTS else np.full(n, -1),
    }


def _render(source: str, batch: Batch, day: dt.date) -> dict[str, np.ndarray]:
    """Raw text columns of a batch, in file order (without the leaked index)."""
    common = {
        ID_COLUMN[source]: batch["id"],
        "customeR iD": _uuid_text(batch["customer"]),
        "COMPLAINT_catego ry": CATEGORIES[batch["category"]],
        "agent ID": _numbers(batch["agent"]),
    }
    status, generated = STATUSES[batch["status"]], np.full(len(batch["id"]), day.isoformat(), dtype=object)
    if source == CALL_LOGS:
        return {**common, "call_start_time": _timestamps(batch["start"]), "call_end_time": _timestamps(batch["end"]),
                "resolutionstatus": status, "callLogsGenerationDate": generated}
    dates = {"resolutionstatus": status, "request_date": _timestamps(batch["start"]),
             "resolution_date": _timestamps(batch["end"])}
    if source == SM_COMPLAINTS:
        return {**common, **dates, "media_channel": MEDIA_CHANNELS[batch["channel"]],
                "MediaComplaintGenerationDate": generated}
    return {**common, **dates, "webFormGenerationDate": generated}


def _other_agents(rng: np.random.Generator, agents: np.ndarray, workload: np.ndarray) -> np.ndarray:
    drawn = FIRST_AGENT_ID + rng.choice(AGENT_COUNT, len(agents), p=workload)
    return np.where(drawn == agents, FIRST_AGENT_ID + (agents - FIRST_AGENT_ID + 1) % AGENT_COUNT, drawn)


def _advance(rng: np.random.Generator, source: str, batch: Batch, workload: np.ndarray) -> Batch:
    """The next observation of open complaints: a later status and/or another agent."""
    n = len(batch["id"])
    cumulative = NEXT_STATUS_P.cumsum(axis=1)[batch["status"]]
    moved = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), RESOLVED)
    reassign_only = rng.random(n) < REASSIGN_ONLY_P
    status = np.where(reassign_only, batch["status"], moved)
    reassign = reassign_only | (rng.random(n) < REASSIGN_P)
    advanced = {**batch, "status": status,
                "agent": np.where(reassign, _other_agents(rng, batch["agent"], workload), batch["agent"])}
    if source != CALL_LOGS:
        resolved_now = (status == RESOLVED) & (batch["end"] == NO_TIME)
        resolution = batch["start"] + 60 * rng.integers(60, 20 * 1440, n)
        advanced["end"] = np.where(resolved_now, resolution, batch["end"])
    return advanced


def _observations(source: str, batch: Batch, days: np.ndarray, dates: list[dt.date]) -> pd.DataFrame:
    """Transition records: one per observed state of a complaint."""
    resolution = _timestamps(batch["end"]) if source != CALL_LOGS else np.full(len(days), None, dtype=object)
    return pd.DataFrame({
        "source": source, "id": batch["id"], "date": np.array([d.isoformat() for d in dates], dtype=object)[days],
        "status": STATUSES[batch["status"]], "agent_id": _numbers(batch["agent"]), "resolution_date": resolution,
    })


@dataclass
class _Schedule:
    """Complaints due to come back: their last observed state, the day seen, the day due."""

    batch: Batch
    seen: np.ndarray
    due: np.ndarray
    recorded: np.ndarray  # their earlier observation is already in the transitions


def _empty_schedule() -> _Schedule:
    empty = {key: np.empty(0, dtype=object if key == "id" else np.int64) for key in
             ("id", "category", "agent", "status", "start", "end", "channel")}
    empty["customer"] = np.empty(0, dtype="S36")
    return _Schedule(empty, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool))


def _schedule_more(schedule: _Schedule, batch: Batch, day_index: int, due: np.ndarray,
                   recorded: np.ndarray) -> _Schedule:
    return _Schedule(_join(schedule.batch, batch), np.concatenate([schedule.seen, np.full(len(due), day_index)]),
                     np.concatenate([schedule.due, due]), np.concatenate([schedule.recorded, recorded]))


@dataclass
class _DailyTruth:
    """Hazards of one daily input, as tables ready for the ground truth."""

    orphans: pd.DataFrame
    late: pd.DataFrame  # customer_id, arrives_on (day index), source, date, id
    transitions: pd.DataFrame
    duplicates: pd.DataFrame
    malformed: pd.DataFrame


@dataclass
class _Run:
    """State carried from one day to the next while generating."""

    config: GeneratorConfig
    customers: BaseCustomers
    workload: np.ndarray
    serials: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPLAINTS, 0))
    schedules: dict[str, _Schedule] = field(default_factory=lambda: {s: _empty_schedule() for s in COMPLAINTS})
    late_customers: dict[int, list[CustomerRows]] = field(default_factory=dict)  # by arrival day index


def _choose(rng: np.random.Generator, candidates: np.ndarray, rate: float, n: int) -> np.ndarray:
    """About rate*n distinct rows out of `candidates`."""
    count = min(_stochastic_round(rng, rate * n), len(candidates))
    return np.sort(rng.choice(candidates, count, replace=False))


def _due_complaints(rng: np.random.Generator, run: _Run, source: str, day_index: int) -> tuple[Batch, pd.DataFrame]:
    """Complaints coming back today with their new state, and the earlier observations not yet recorded.

    Complaints due on a missing day wait for the next input of their channel.
    """
    schedule = run.schedules[source]
    due = schedule.due <= day_index
    previous = _take(schedule.batch, due)
    unrecorded = ~schedule.recorded[due]
    earlier = _observations(source, _take(previous, unrecorded), schedule.seen[due][unrecorded], run.config.dates)
    run.schedules[source] = _Schedule(_take(schedule.batch, ~due), schedule.seen[~due], schedule.due[~due],
                                      schedule.recorded[~due])
    return _advance(rng, source, previous, run.workload), earlier


def _schedule_comebacks(rng: np.random.Generator, run: _Run, source: str, day_index: int, batch: Batch,
                        rows: np.ndarray, recorded: bool) -> None:
    """`rows` of today's batch will be seen again 1-5 days later."""
    due = day_index + rng.integers(1, 6, len(rows))
    run.schedules[source] = _schedule_more(run.schedules[source], _take(batch, rows), day_index, due,
                                           np.full(len(rows), recorded))


def _late_arrivals(rng: np.random.Generator, run: _Run, source: str, day_index: int,
                   count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` new customers whose complaints come today but who reach the customers file 1-2 days later."""
    config = run.config
    newcomers = _customer_rows(_rng(config.seed, _LATE_STREAM, COMPLAINTS.index(source), day_index), count,
                               config.dates[day_index])
    arrives = day_index + rng.integers(1, min(2, config.days - 1 - day_index) + 1, count) if count else np.empty(0, int)
    for arrival in np.unique(arrives):  # at most two arrival days
        run.late_customers.setdefault(int(arrival), []).append(_subset(newcomers, arrives == arrival))
    return newcomers.uuids, arrives


def _daily_input(run: _Run, source: str, day_index: int) -> tuple[pd.DataFrame, _DailyTruth]:
    """One daily input: fresh complaints, complaints coming back, and this input's hazards."""
    config, hazards = run.config, run.config.hazards
    day = config.dates[day_index]
    rng = _rng(config.seed, _DAILY_STREAM, COMPLAINTS.index(source), day_index)
    target = volume(source, config.scale)

    returning, earlier = _due_complaints(rng, run, source, day_index)
    copies = 2 + (rng.random(_stochastic_round(rng, hazards.duplicate_row * target)) < 0.1)
    n_fresh = max(0, target - len(returning["id"]) - int((copies - 1).sum()))
    fresh = _fresh_complaints(rng, source, n_fresh, day, run.customers.uuids, run.workload)

    # Hazards on fresh rows: orphans may be both kinds at once; late and malformed rows are distinct.
    everyone = np.arange(n_fresh)
    orphan_customer = _choose(rng, everyone, hazards.orphan_customer, n_fresh)
    orphan_agent = _choose(rng, everyone, hazards.orphan_agent, n_fresh)
    clean = np.setdiff1d(everyone, np.union1d(orphan_customer, orphan_agent))
    late_rate = hazards.late_customer if day_index < config.days - 1 else 0.0  # must arrive within the run
    late = _choose(rng, clean, late_rate, n_fresh)
    clean = np.setdiff1d(clean, late)
    malformed_rows = _choose(rng, clean, hazards.malformed, n_fresh)
    clean = np.setdiff1d(clean, malformed_rows)
    fresh["customer"][orphan_customer] = _uuid4(rng, len(orphan_customer))
    fresh["agent"][orphan_agent] = rng.integers(FIRST_AGENT_ID + AGENT_COUNT, FIRST_AGENT_ID + 2 * AGENT_COUNT,
                                                len(orphan_agent))
    fresh["customer"][late], arrives = _late_arrivals(rng, run, source, day_index, len(late))
    fresh["id"] = _complaint_ids(rng, source, run.serials[source] + everyone, fresh["customer"], config.seed)
    run.serials[source] += n_fresh

    # Some clean, open complaints come back on a later day; so may those coming back today still open.
    comeback = _choose(rng, clean[fresh["status"][clean] != RESOLVED], hazards.lifecycle_update, n_fresh)
    _schedule_comebacks(rng, run, source, day_index, fresh, comeback, recorded=False)
    still_open = (returning["status"] != RESOLVED) & (rng.random(len(returning["id"])) < OPEN_REVISIT_P)
    _schedule_comebacks(rng, run, source, day_index, returning, np.flatnonzero(still_open), recorded=True)

    batch = _join(fresh, returning)
    originals = np.setdiff1d(np.arange(len(batch["id"])), malformed_rows)
    copies = copies[:len(originals)]
    duplicated = np.sort(rng.choice(originals, len(copies), replace=False))
    batch = _join(batch, _take(batch, np.repeat(duplicated, copies - 1)))
    columns = _render(source, batch, day)
    broken = _malform(rng, columns, malformed_rows, MALFORMATIONS[source],
                      resolved=batch["end"] != NO_TIME if source != CALL_LOGS else None)

    order = rng.permutation(len(batch["id"]))  # fresh, returning and duplicated rows mixed like a real export
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    frame = pd.DataFrame({column: values[order] for column, values in columns.items()})

    ids, date = batch["id"], day.isoformat()
    orphans = np.union1d(orphan_customer, orphan_agent)
    reason = np.where(np.isin(orphans, orphan_customer),
                      np.where(np.isin(orphans, orphan_agent), "both", "missing_customer"), "missing_agent")
    truth = _DailyTruth(
        orphans=pd.DataFrame({"source": source, "date": date, "id": ids[orphans],
                              "customer_id": _uuid_text(batch["customer"][orphans]),
                              "agent_id": _numbers(batch["agent"][orphans]), "reason": reason}),
        late=pd.DataFrame({"customer_id": _uuid_text(batch["customer"][late]), "arrives_on": arrives,
                           "source": source, "date": date, "id": ids[late]}),
        transitions=pd.concat([earlier, _observations(source, returning, np.full(len(returning["id"]), day_index),
                                                      config.dates)]),
        duplicates=pd.DataFrame({"source": source, "date": date, "id": ids[duplicated], "copies": copies}),
        malformed=pd.DataFrame({"source": source, "date": date, "id": ids[broken["row"].to_numpy()],
                                "row": position[broken["row"].to_numpy()], "column": broken["column"],
                                "kind": broken["kind"], "value": broken["value"]}).sort_values("row"),
    )
    return frame, truth


def _subset(rows: CustomerRows, mask: np.ndarray) -> CustomerRows:
    return CustomerRows({key: values[mask] for key, values in rows.columns.items()},
                        rows.uuids[mask], rows.first[mask], rows.last[mask])


# --- writers -------------------------------------------------------------------------------------

def _write_call_logs(path: pathlib.Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=True, lineterminator="\n")  # the unnamed index is the real files' leaked column


def _write_sm_complaints(path: pathlib.Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_json(path, orient="columns")


def _web_table(day: dt.date) -> sql.Composed:
    return sql.Identifier(WEB_FORMS_SCHEMA, web_forms_table(day))


def _write_web_forms(conn, day: dt.date, frame: pd.DataFrame) -> None:
    """Drops and recreates the day's table (all text columns) and loads it with COPY."""
    frame = frame.copy()
    frame.insert(0, "Column1", _numbers(np.arange(len(frame))))
    names = sql.SQL(", ").join(map(sql.Identifier, WEB_COLUMNS))
    definitions = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in WEB_COLUMNS)
    data = io.StringIO()
    frame.to_csv(data, index=False, header=False, lineterminator="\n")
    data.seek(0)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(WEB_FORMS_SCHEMA)))
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_web_table(day)))
        cur.execute(sql.SQL("CREATE TABLE {} ({})").format(_web_table(day), definitions))
        # FORCE_NOT_NULL: an empty field is the empty string the source holds (open requests), not NULL.
        copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({}))")
        cur.copy_expert(copy.format(_web_table(day), names, names).as_string(conn), data)
    conn.commit()


def _drop_missing_input(landing: pathlib.Path, conn, source: str, day: dt.date) -> None:
    """A re-generation must not leave an older copy of the input that is meant to be missing."""
    if source == WEB_COMPLAINTS:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_web_table(day)))
        conn.commit()
    else:
        (landing / input_location(source, day)).unlink(missing_ok=True)


def _missing_input(config: GeneratorConfig) -> tuple[str, int] | None:
    if not config.hazards.missing_daily_input or config.days < 2:
        return None
    rng = _rng(config.seed, _PLAN_STREAM)
    return COMPLAINTS[int(rng.integers(0, len(COMPLAINTS)))], int(rng.integers(1, config.days))


# --- customers versions --------------------------------------------------------------------------

def _customer_versions(run: _Run) -> list[dict]:
    """The customers files after the start date: late customers arrive, a few others change.

    The upstream overwrites the object on every day a late customer arrives, and at least once
    (on day 2) when the run spans more than one day. Each version also brings a few sign-ups and a
    few changed emails/addresses, so a newer copy always has inserts and updates.
    """
    config, base = run.config, run.customers
    days = sorted(set(run.late_customers) | ({1} if config.days > 1 else set()))
    changeable = np.setdiff1d(np.arange(len(base.uuids)), base.malformed["row"].to_numpy())
    versions = []
    for day_index in days:  # one version per overwrite day
        day = config.dates[day_index]
        rng = _rng(config.seed, _VERSION_STREAM, day_index)
        signups = _customer_rows(rng, max(1, int(len(base.uuids) * SIGNUP_SHARE + 0.5)), day)
        arrivals = run.late_customers.get(day_index, []) + [signups]
        count = min(len(changeable), max(1, int(len(base.uuids) * UPDATED_CUSTOMER_SHARE + 0.5)))
        updated = np.sort(rng.choice(changeable, count, replace=False))
        change = rng.integers(0, 3, count)  # 0 email, 1 address, 2 both
        emails = _emails(rng, base.first[updated], base.last[updated])
        addresses = _addresses(rng, count)
        overrides = pd.concat([
            pd.DataFrame({"row": updated[change != 1], "column": "email", "value": emails[change != 1]}),
            pd.DataFrame({"row": updated[change != 0], "column": "address", "value": addresses[change != 0]}),
        ], ignore_index=True)
        versions.append({"day_index": day_index, "added": [rows.columns for rows in arrivals],
                         "updated": _uuid_text(base.uuids[updated]), "overrides": overrides})
    return versions


def _write_customer_versions(landing: pathlib.Path, run: _Run, progress) -> list[dict]:
    """Writes every newer customers file under _upcoming/ and says what each one holds."""
    config, base = run.config, run.customers
    overrides, appended, truth = [], [], []
    for version in _customer_versions(run):
        day = config.dates[version["day_index"]]
        overrides.append(version["overrides"])
        appended.extend(version["added"])
        # Later overrides of the same value win: keep the last per (row, column).
        current = pd.concat(overrides, ignore_index=True).drop_duplicates(["row", "column"], keep="last")
        location = f"{UPCOMING_CUSTOMERS}/{day.isoformat()}/{CUSTOMERS_KEY.rsplit('/', 1)[-1]}"
        _write_customers(landing / location, config, current, appended)
        rows = len(base.uuids) + sum(len(columns["customer_id"]) for columns in appended)
        truth.append({"date": day.isoformat(), "location": location, "rows": rows,
                      "added": [i for columns in version["added"] for i in columns["customer_id"].tolist()],
                      "updated": version["updated"].tolist()})
        progress(f"customers {day}: {rows:,} rows written (upcoming version)")
    return truth


def publish(landing_dir: pathlib.Path, run_date: dt.date) -> str | None:
    """Simulates the upstream overwrite: the newest customers version dated <= run_date becomes current.

    Returns the date of the version now current, or None when no version is that old. Copying to a
    temporary name and renaming never modifies a published file in place (like an S3 PUT).
    """
    landing_dir = pathlib.Path(landing_dir)
    upcoming = landing_dir / UPCOMING_CUSTOMERS
    dated = sorted(p.name for p in upcoming.iterdir() if p.name <= run_date.isoformat()) if upcoming.exists() else []
    if not dated:
        return None
    source, target = upcoming / dated[-1] / CUSTOMERS_KEY.rsplit("/", 1)[-1], landing_dir / CUSTOMERS_KEY
    if not (target.exists() and filecmp.cmp(source, target, shallow=False)):
        staging = target.with_name(target.name + ".publishing")
        shutil.copyfile(source, staging)
        os.replace(staging, target)
    return dated[-1]


# --- the whole run -------------------------------------------------------------------------------

ORPHAN_KEYS = ["source", "date", "id", "customer_id", "agent_id", "reason"]
TRANSITION_KEYS = ["source", "id", "date", "status", "agent_id", "resolution_date"]
DUPLICATE_KEYS = ["source", "date", "id", "copies"]
MALFORMED_KEYS = ["source", "date", "id", "row", "column", "kind", "value"]


def _records(frames: list[pd.DataFrame], columns: list[str], sort_by: list[str]) -> list[dict]:
    frames = [frame[columns] for frame in frames if len(frame)]
    if not frames:
        return []
    return pd.concat(frames, ignore_index=True).sort_values(sort_by, kind="stable").to_dict("records")


def _late_customer_truth(frames: list[pd.DataFrame], dates: list[dt.date]) -> list[dict]:
    late = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if late.empty:
        return []
    late["arrives_on"] = np.array([d.isoformat() for d in dates], dtype=object)[late["arrives_on"].to_numpy()]
    complaints = late[["source", "date", "id"]].to_dict("records")
    return [{"customer_id": c, "arrives_on": a, "complaints": [complaint]}
            for c, a, complaint in zip(late["customer_id"], late["arrives_on"], complaints)]


def generate(config: GeneratorConfig, landing_dir: pathlib.Path, source_dsn: str,
             progress: Callable[[str], None] = print) -> dict:
    """Writes all five sources for `config` and returns (and writes) the ground truth."""
    landing = pathlib.Path(landing_dir)
    landing.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(landing / UPCOMING_CUSTOMERS, ignore_errors=True)  # versions of an earlier generation
    dates = config.dates

    agents = _write_agents(landing, config)
    progress(f"agents: {agents} rows written")
    base = _write_customers(landing / CUSTOMERS_KEY, config, pd.DataFrame(columns=["row", "column", "value"]), [])
    start_location = f"{UPCOMING_CUSTOMERS}/{config.start_date.isoformat()}/{CUSTOMERS_KEY.rsplit('/', 1)[-1]}"
    (landing / start_location).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(landing / CUSTOMERS_KEY, landing / start_location)  # so publish() can go back to it
    progress(f"customers {config.start_date}: {len(base.uuids):,} rows written")

    run = _Run(config, base, _agent_workload(config))
    missing = _missing_input(config)
    counts = {source: {} for source in COMPLAINTS}
    inputs, parts = [], []
    conn = psycopg2.connect(source_dsn)
    try:
        for day_index, day in enumerate(dates):
            for source in COMPLAINTS:
                location = input_location(source, day)
                if missing == (source, day_index):
                    _drop_missing_input(landing, conn, source, day)
                    counts[source][day.isoformat()] = None
                    inputs.append({"source": source, "date": day.isoformat(), "location": location,
                                   "rows": None, "missing": True})
                    progress(f"{source} {day}: left missing on purpose")
                    continue
                frame, truth = _daily_input(run, source, day_index)
                if source == CALL_LOGS:
                    _write_call_logs(landing / location, frame)
                elif source == SM_COMPLAINTS:
                    _write_sm_complaints(landing / location, frame)
                else:
                    _write_web_forms(conn, day, frame)
                counts[source][day.isoformat()] = len(frame)
                inputs.append({"source": source, "date": day.isoformat(), "location": location,
                               "rows": len(frame), "missing": False})
                parts.append(truth)
                progress(f"{source} {day}: {len(frame):,} rows written")
    finally:
        conn.close()

    versions = [{"date": config.start_date.isoformat(), "location": CUSTOMERS_KEY, "rows": len(base.uuids),
                 "added": [], "updated": []}] + _write_customer_versions(landing, run, progress)
    customer_malformed = [base.malformed.assign(source=CUSTOMERS, date=version["date"]) for version in versions]
    truth = {
        "config": {"start_date": config.start_date.isoformat(), "days": config.days, "scale": config.scale,
                   "seed": config.seed, "hazards": dataclasses.asdict(config.hazards)},
        "dates": [day.isoformat() for day in dates],
        "counts": {CUSTOMERS: {v["date"]: v["rows"] for v in versions}, AGENTS: agents, **counts},
        "inputs": inputs,
        "missing_inputs": [{"source": i["source"], "date": i["date"]} for i in inputs if i["missing"]],
        "customer_versions": versions,
        "orphans": _records([p.orphans for p in parts], ORPHAN_KEYS, ["date", "source", "id"]),
        "late_customers": _late_customer_truth([p.late for p in parts], dates),
        "transitions": _records([p.transitions for p in parts], TRANSITION_KEYS, ["source", "id", "date"]),
        "duplicates": _records([p.duplicates for p in parts], DUPLICATE_KEYS, ["date", "source", "id"]),
        "malformed": _records(customer_malformed + [p.malformed for p in parts], MALFORMED_KEYS,
                              ["date", "source", "row"]),
    }
    (landing / GROUND_TRUTH_KEY).write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    progress(f"ground truth written to {landing / GROUND_TRUTH_KEY}")
    return truth
