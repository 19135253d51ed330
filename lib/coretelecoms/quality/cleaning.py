"""The Cleaner (SPEC §4): one rule per kind of value, as a Spark Column expression and a SQL function.

Every cleaner takes a Column (or a column name) and returns a Column, so it composes in `select`,
`withColumn` and `DataFrame.transform` pipelines::

    df.select(clean_email("email"), parse_date("DATE_of_biRTH").alias("date_of_birth"))

Every cleaner is null-safe and returns null, never an error, for values it cannot clean; the
expressions stay total with `spark.sql.ansi.enabled=true` and under any `timeParserPolicy`.

Native only. Every cleaner is built from native Spark expressions (btrim, translate, regexp_extract /
regexp_replace / rlike, lower, initcap, literal-map lookups, try_to_timestamp): they run inside whole-stage
codegen, Catalyst can optimise them, and no Python worker is involved, so none needed a pandas_udf.
`canonical_column_name` also has a plain-Python path (renaming DataFrame headers on the driver);
both paths apply the same ASCII regexes and tables, and a property test keeps them in agreement.

SQL surface. Spark 3.5 has no SQL-bodied temporary functions, and `spark.udf.register` only
accepts Python UDFs, which would mean a second, slower implementation of every rule. Instead
`register_sql_functions` puts each public name into the session's function registry with a builder
that, when the analyzer meets `clean_email(x)`, calls the Python Column function on the argument
expressions and hands back the resulting native expression. SQL and the Column API therefore run
the identical expression by construction (the tests still compare them), and a call is named like a
built-in one (`clean_email(email)`), not after its expansion. The cost: it uses Spark's
function registry through py4j and needs the driver's py4j callback server (the one Structured
Streaming's foreachBatch uses), so it works on classic sessions (local, EMR, Glue), not Spark Connect.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping

from pyspark.java_gateway import ensure_callback_server_started
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from coretelecoms.bronze.columns import LINEAGE_COLUMNS
from coretelecoms.platform.spark import sql_literal
from coretelecoms.platform.tables import ENTITIES as ENTITY_SPECS, squashed_header

ColumnOrName = Column | str

# ---------------------------------------------------------------------------------------------
# Canonical values: the checker and the Great Expectations suites import these same tuples.
# ---------------------------------------------------------------------------------------------
STATUSES = ("Resolved", "In-Progress", "Backlog", "Blocked")
CATEGORIES = ("Technician Support", "Payments", "Router Delivery", "Network Failure")
CHANNELS = ("Facebook", "Twitter", "Instagram", "LinkedIn")
EXPERIENCES = ("intern", "Junior", "Mid-level", "Senior")  # the source's casing, kept on purpose
GENDERS = ("F", "M")

STATE_NAME_BY_CODE: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri",
    "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
    "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "DC": "District of Columbia",
    # Territories and freely associated states (USPS codes that appear in generated addresses).
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands", "FM": "Federated States of Micronesia", "MH": "Marshall Islands",
    "PW": "Palau",
    # Military post offices (APO/FPO/DPO addresses).
    "AA": "Armed Forces Americas", "AE": "Armed Forces Europe", "AP": "Armed Forces Pacific",
}
STATE_CODE_BY_NAME: dict[str, str] = {name: code for code, name in STATE_NAME_BY_CODE.items()}
STATE_CODES = tuple(STATE_NAME_BY_CODE)

# ---------------------------------------------------------------------------------------------
# Small building blocks
# ---------------------------------------------------------------------------------------------
# Java's `$` also matches before a final line break; `\z` is the true end of input.
UUID_PATTERN = r"\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\z"


def _col(column: ColumnOrName) -> Column:
    return F.col(column) if isinstance(column, str) else column


def _text(column: ColumnOrName) -> Column:
    """The value as a string: casting to string never fails, even under ANSI."""
    return _col(column).cast("string")


# Every character Java's Unicode `(?U)\s` matches (the Unicode White_Space property). Trimming or
# deleting a fixed set of characters is plain string work: a third faster on a customers batch
# than the regex replacements it stands for, with the same result.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"


def _strip(column: ColumnOrName) -> Column:
    """Trim every kind of whitespace (Spark's `trim` only removes the space character)."""
    return F.btrim(_text(column), F.lit(WHITESPACE))


def _squish(column: ColumnOrName) -> Column:
    """Trim and collapse inner runs of whitespace (tabs, newlines...) to one space."""
    return _strip(F.regexp_replace(_text(column), r"(?U)\s+", " "))


# Control characters other than tab and line breaks: no source means them, and PostgreSQL cannot
# store a NUL in text.
CONTROL_CHARACTERS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"


def _where(condition: Column, text: Column) -> Column:
    """`text` where `condition` holds, else null: `F.when(condition, text)` for strings, written so
    that Spark computes `text` once. Subexpression elimination never shares a CASE branch with its
    condition, so a cleaner that checked its own result computed that result twice; every argument
    of `concat` is always evaluated, and a null one makes the result null."""
    return F.concat(text, F.when(condition, F.lit("")))


def _null_if_empty(column: Column) -> Column:
    return _where(column != "", column)


def _lookup(key: Column, table: Mapping[str, str]) -> Column:
    """`table[key]`, null when absent (also under ANSI), from one literal map.

    The map is written as SQL so it costs one call to the JVM, not two `lit`s per entry.
    """
    entries = ", ".join(f"{sql_literal(k)}, {sql_literal(v)}" for k, v in table.items())
    return F.expr(f"map({entries})")[key]


KEY_NOISE = r"[\s._-]+"  # Python's \s is Unicode-aware; Java's needs (?U)


def _match_key(column: ColumnOrName) -> Column:
    """Case-, space- and separator-insensitive key: `IN-PROGRESS`, `in progress` -> `inprogress`."""
    return F.lower(F.translate(_text(column), WHITESPACE + "._-", ""))  # KEY_NOISE, natively


def _python_match_key(value: str) -> str:
    return re.sub(KEY_NOISE, "", value).lower()


def _enumeration(canonical: Iterable[str], aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    table = {_python_match_key(value): value for value in canonical}
    return table | {_python_match_key(alias): value for alias, value in (aliases or {}).items()}


# ---------------------------------------------------------------------------------------------
# Column names
# ---------------------------------------------------------------------------------------------
SOURCE_INDEX = "source_index"  # the leaked row index of call logs and web forms: never a key
# Names outside any entity's fields: the leaked index, and a bare `id` outside agents (without it the
# camelCase rule would make `iD` into `i_d`). Every entity's field names are known too (`_known_columns`).
_EXTRA_CANONICAL_COLUMNS = (SOURCE_INDEX, "id")


# The rules are ASCII regexes shared by the Python and the Spark implementation (Java and Python
# read them alike), and ASCII like bronze's Delta-safe names, so both give the same name.
_LOWER_THEN_UPPER = r"([a-z0-9])([A-Z])"  # callLogs -> call_Logs
_ACRONYM_THEN_WORD = r"([A-Z]+)([A-Z][a-z])"  # HTTPStatus -> HTTP_Status
_NOT_ALPHANUMERIC = r"[^A-Za-z0-9]+"
# Squashed forms of the leaked index: the empty CSV header, pandas' `Unnamed: 0`, bronze's
# `unnamed_0`, the web forms' `Column1`.
_LEAKED_INDEX = r"(?:unnamed[0-9]*)?|column1"


def _known_columns() -> dict[str, str]:
    """Squashed header -> canonical name, for every field of every registered entity."""
    names = [f.name for spec in ENTITY_SPECS.values() for f in spec.fields] + list(_EXTRA_CANONICAL_COLUMNS)
    return {squashed_header(name): name for name in names}


def _entity_known_columns() -> dict[str, str]:
    """`entity:squashed header` -> canonical name, for headers whose meaning depends on the source."""
    return {f"{entity}:{key}": name for entity, spec in ENTITY_SPECS.items() for key, name in spec.header_aliases}


def _snake_case(name: str) -> str:
    """The general rule for headers never seen: split camelCase, punctuation and spaces -> `_`."""
    split = re.sub(_ACRONYM_THEN_WORD, r"\1_\2", re.sub(_LOWER_THEN_UPPER, r"\1_\2", name))
    snake = re.sub(_NOT_ALPHANUMERIC, "_", split).strip("_").lower()
    return f"c_{snake}" if snake[:1].isdigit() else snake  # the prefix bronze uses for `1st`


def _known_column_name(name: str, entity: str | None) -> str | None:
    if name in LINEAGE_COLUMNS:
        return name
    key = squashed_header(name)
    if re.fullmatch(_LEAKED_INDEX, key):
        return SOURCE_INDEX
    return _entity_known_columns().get(f"{entity}:{key}") or _known_columns().get(key)


def _canonical_column_name_column(name: Column, entity: Column) -> Column:
    """The same rules as the Python path, as one native expression."""
    key = F.lower(F.regexp_replace(name, _NOT_ALPHANUMERIC, ""))
    split = F.regexp_replace(F.regexp_replace(name, _LOWER_THEN_UPPER, "$1_$2"), _ACRONYM_THEN_WORD, "$1_$2")
    snake = F.lower(F.regexp_replace(F.regexp_replace(split, _NOT_ALPHANUMERIC, "_"), "^_+|_+$", ""))
    return F.coalesce(
        F.when(name.isin(*LINEAGE_COLUMNS), name),
        F.when(key.rlike(rf"\A(?:{_LEAKED_INDEX})\z"), F.lit(SOURCE_INDEX)),
        _lookup(F.concat(F.coalesce(entity, F.lit("")), F.lit(":"), key), _entity_known_columns()),
        _lookup(key, _known_columns()),
        F.when(snake.rlike("^[0-9]"), F.concat(F.lit("c_"), snake)).otherwise(snake),
    )


def canonical_column_name(name: str | Column, entity: str | Column | None = None) -> str | Column:
    """The canonical snake_case name of a raw, bronze-safe or already canonical header.

    A `str` gives a `str` (for renaming DataFrames); a Column of header names gives a Column (for
    SQL and notebooks). Known headers map through a table that ignores case, spaces and
    punctuation (`COMPLAINT_catego ry` -> `complaint_category`); `entity` resolves headers whose
    meaning depends on the source (`iD` in agents -> `agent_id`); other entities add no aliases.
    Unknown headers follow the general rule (`newFieldX` -> `new_field_x`, non-ASCII -> `_`) so
    a new column never crashes a run; bronze lineage columns (`_run_id`...) pass through.
    """
    if isinstance(name, Column):
        entity_column = entity if isinstance(entity, Column) else F.lit(entity)
        return _canonical_column_name_column(_text(name), _text(entity_column))
    return _known_column_name(name, entity) or _snake_case(name)


class CanonicalColumns(dict):
    """`{raw: canonical}` for one header, plus the raw names that were not in the known table."""

    def __init__(self, mapping: Mapping[str, str], unknown: Iterable[str]):
        super().__init__(mapping)
        self.unknown = tuple(unknown)


def canonical_columns(raw_names: Iterable[str], entity: str) -> CanonicalColumns:
    """Canonical names for a whole header; `.unknown` lists names the known table did not cover.

    Two raw names that land on the same canonical name get `_2`, `_3`... so a select never fails
    on ambiguous columns.
    """
    if entity not in ENTITY_SPECS:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(ENTITY_SPECS)}")
    mapping, unknown, taken = {}, [], set()
    for raw in raw_names:
        known = _known_column_name(raw, entity)
        if known is None:
            unknown.append(raw)
        candidate = known or _snake_case(raw)
        unique, suffix = candidate, 2
        while unique in taken:
            unique, suffix = f"{candidate}_{suffix}", suffix + 1
        taken.add(unique)
        mapping[raw] = unique
    return CanonicalColumns(mapping, unknown)


# ---------------------------------------------------------------------------------------------
# Emails
# ---------------------------------------------------------------------------------------------
_PROVIDER_TYPOS = {
    "gmail": ("gmai", "gmal", "gmial", "gmaill", "gamil", "gmil", "gnail", "gmali", "gmaiil", "gmaail", "gmmail"),
    "hotmail": ("hotmai", "hotmal", "hotmial", "hotmaill", "hotamil", "hotmil", "hotnail", "hotmali", "homail",
                "htmail", "hotmaiil", "hotmmail"),
    "yahoo": ("yaho", "yahooo", "yahoooo", "yhoo", "yaoo", "yahho", "yhaoo"),
}
# (Java regex, replacement) pairs applied in order by clean_email; public so that other implementations
# (the bench's pandas and Python cleaners) repair exactly the same domains. Each repair is anchored on
# the domain: after the last `@`, up to the end of the address.
DOMAIN_REPAIRS = (
    *((rf"@(?:{'|'.join(typos)})(\.[^.@]*)\z", f"@{provider}$1") for provider, typos in _PROVIDER_TYPOS.items()),
    # A truncated or fat-fingered `.com` behind a known provider (`.co` alone is a real TLD).
    (rf"@({'|'.join(_PROVIDER_TYPOS)})\.(?:om|co|cm|con|comm)\z", "@$1.com"),
    # A missing `c` in `.com`, only as the very last label: `x@foo.om`, never `john.omar@...`.
    (r"(@[^@]*\.)om\z", "$1com"),
)
# RFC 5322 atext local part (dot-separated), hostname labels, alphabetic TLD, RFC 5321 lengths.
VALID_EMAIL = (
    r"\A(?=.{3,254}\z)(?=[^@]{1,64}@)"
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\z"
)


def clean_email(column: ColumnOrName) -> Column:
    """Trimmed, lower-case address with its domain repaired; null unless the result is valid.

    Only the domain is repaired (`gmial.com`, `hotmai.com`, `GmaiL.om`, `x@foo.om` -> `x@foo.com`);
    the local part is never touched (`john.omar@gmail.com` stays) and random characters around the
    name stay (`2772brianna_schultz525@GmaiL.om` -> `2772brianna_schultz525@gmail.com`).
    """
    address = F.lower(_strip(column))
    for pattern, replacement in DOMAIN_REPAIRS:
        address = F.regexp_replace(address, pattern, replacement)
    return _where(address.rlike(VALID_EMAIL), address)


# ---------------------------------------------------------------------------------------------
# Person names
# ---------------------------------------------------------------------------------------------
WORD_JOINERS = "['\u2019-]"  # apostrophes (straight and typographic) and hyphens


def clean_person_name(column: ColumnOrName) -> Column:
    """Squished, title-cased name; also after apostrophes and hyphens (`O'Brien-Smith`).

    '' and a name with control characters (a NUL, which PostgreSQL cannot store) -> null.
    """
    name = _squish(column)
    # initcap only capitalises after a space: add one after each joiner, title-case, take it away.
    spaced = F.regexp_replace(name, f"({WORD_JOINERS})", "$1 ")
    titled = F.regexp_replace(F.initcap(spaced), f"({WORD_JOINERS}) ", "$1")
    return _where(~name.rlike(CONTROL_CHARACTERS), _null_if_empty(titled))


def clean_text(column: ColumnOrName) -> Column:
    """Free text (an address) without its outer spaces, line breaks kept; '' and control characters -> null."""
    text = F.trim(_text(column))
    return _where(~text.rlike(CONTROL_CHARACTERS), _null_if_empty(text))


# ---------------------------------------------------------------------------------------------
# Enumerations: matched ignoring case, spaces, `-`, `_` and `.`; canonical casing out; unknown -> null
# ---------------------------------------------------------------------------------------------
STATUS_KEYS = _enumeration(STATUSES)
_CATEGORY_KEYS = _enumeration(CATEGORIES)
_CHANNEL_KEYS = _enumeration(CHANNELS)
_EXPERIENCE_KEYS = _enumeration(EXPERIENCES)
_GENDER_KEYS = _enumeration(GENDERS, {"female": "F", "male": "M"})
_STATE_KEYS = _enumeration(STATE_CODES, aliases=STATE_CODE_BY_NAME)


def clean_status(column: ColumnOrName) -> Column:
    """Resolution status in STATUSES (`inprogress`, `IN-PROGRESS` -> `In-Progress`)."""
    return _lookup(_match_key(column), STATUS_KEYS)


def clean_category(column: ColumnOrName) -> Column:
    """Complaint category in CATEGORIES (`technician  support` -> `Technician Support`)."""
    return _lookup(_match_key(column), _CATEGORY_KEYS)


def clean_channel(column: ColumnOrName) -> Column:
    """Social-media channel in CHANNELS (`linkedin` -> `LinkedIn`)."""
    return _lookup(_match_key(column), _CHANNEL_KEYS)


def clean_experience(column: ColumnOrName) -> Column:
    """Agent experience in EXPERIENCES, in the source's casing (`INTERN` -> `intern`)."""
    return _lookup(_match_key(column), _EXPERIENCE_KEYS)


def clean_gender(column: ColumnOrName) -> Column:
    """Gender in GENDERS (`f`, `female` -> `F`; `m`, `male` -> `M`)."""
    return _lookup(_match_key(column), _GENDER_KEYS)


# ---------------------------------------------------------------------------------------------
# Dates and timestamps
# ---------------------------------------------------------------------------------------------
# The accepted shapes, checked before parsing: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, ISO `T`,
# optional fraction.
DATETIME_SHAPE = r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?)?\z"
# Years a source date can mean. Outside them a value is a defect, and a harmful one: Delta refuses to
# write years before 1582 (WRITE_ANCIENT_DATETIME) and year 0000 cannot be read back by Python.
SANE_YEARS = (1900, 2100)


def _any_year_timestamp(column: ColumnOrName) -> Column:
    text = _strip(column)
    return F.when(text.rlike(DATETIME_SHAPE), F.try_to_timestamp(text))


def parse_timestamp(column: ColumnOrName) -> Column:
    """TimestampType from the accepted shapes within SANE_YEARS; `''`, garbage, impossible and
    out-of-range values -> null.

    `try_to_timestamp` without a pattern is a try-cast: it never raises (ANSI or not) and, unlike
    pattern parsing, ignores `timeParserPolicy`, whose default EXCEPTION raises even in try_ mode.
    The shape check in front keeps the cast from accepting more than the formats above.
    """
    parsed = _any_year_timestamp(column)
    return F.when(F.year(parsed).between(*SANE_YEARS), parsed)


def out_of_range_datetime(column: ColumnOrName) -> Column:
    """True for a well-formed date or timestamp whose year is outside SANE_YEARS (`0001-01-01`)."""
    return ~F.year(_any_year_timestamp(column)).between(*SANE_YEARS)


def parse_date(column: ColumnOrName) -> Column:
    """DateType from the same shapes as parse_timestamp; a timestamp string gives its date."""
    return F.to_date(parse_timestamp(column))


# ---------------------------------------------------------------------------------------------
# Addresses and states
# ---------------------------------------------------------------------------------------------
# The address ends with `<code> <zip>[-plus4]`: `Darrenland, NY 13297`, `APO AA 12094`.
_STATE_AND_ZIP = r"(?:\A|[\s,])([A-Za-z]{2})[\s,]+([0-9]{5})(?:-[0-9]{4})?\s*\z"


def state_name(column: ColumnOrName) -> Column:
    """Full name of a state code (`NY` -> `New York`, `AE` -> `Armed Forces Europe`), else null."""
    return _lookup(F.upper(_strip(column)), STATE_NAME_BY_CODE)


def address_state_code(column: ColumnOrName) -> Column:
    """Upper-case state code from the end of a US address, null unless it is in STATE_CODES."""
    code = F.upper(F.regexp_extract(_text(column), _STATE_AND_ZIP, 1))
    return _where(state_name(code).isNotNull(), code)


def address_zip(column: ColumnOrName) -> Column:
    """Five-digit ZIP following the state code at the end of a US address (ZIP+4 -> its ZIP)."""
    return _null_if_empty(F.regexp_extract(_text(column), _STATE_AND_ZIP, 2))


def state_code(column: ColumnOrName) -> Column:
    """Code of a full state name or a code, ignoring case and spaces (`new york`, `NY` -> `NY`).

    Agents carry full state names: `state_name(state_code(x))` is their canonical spelling.
    """
    return _lookup(_match_key(column), _STATE_KEYS)


# ---------------------------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------------------------
def clean_id(column: ColumnOrName) -> Column:
    """Trimmed id; empty -> null. Call, complaint and request ids keep their case."""
    return _null_if_empty(_strip(column))


# Call, social-media and web-form ids: letters and digits around the customer's dashless UUID.
COMPLAINT_ID_PATTERN = r"\A[0-9A-Za-z]{50,56}\z"


def clean_complaint_id(column: ColumnOrName) -> Column:
    """Trimmed complaint id, case kept; null unless it has the sources' shape (50-56 letters and digits).

    Anything else (an injection string, 5,000 characters, an emoji, a NUL) is not an id of ours.
    """
    complaint_id = _strip(column)
    return _where(complaint_id.rlike(COMPLAINT_ID_PATTERN), complaint_id)


def is_uuid(column: ColumnOrName) -> Column:
    """True for a canonical 8-4-4-4-12 hex UUID (any case, nothing around it); null for null."""
    return _text(column).rlike(UUID_PATTERN)


def clean_customer_id(column: ColumnOrName) -> Column:
    """Trimmed, lower-case customer UUID; null unless it is a UUID."""
    customer_id = F.lower(_strip(column))
    return _where(is_uuid(customer_id), customer_id)


def clean_agent_id(column: ColumnOrName) -> Column:
    """IntegerType agent id from digits (`" 1035 "`); `1035.0` (a spreadsheet's rendering) too.

    Anything else (`10x`, `1035.5`, `-1`, `1e3`) is null, and so are more than nine significant
    digits, which keeps the cast from ever overflowing.
    """
    digits = F.regexp_extract(_strip(column), r"\A0*([0-9]{1,9})(?:\.0+)?\z", 1)
    return F.when(digits != "", digits.cast("int"))


def id_embeds_customer(id_column: ColumnOrName, customer_column: ColumnOrName) -> Column:
    """True when the complaint id contains the customer UUID without dashes, ignoring case.

    Null when either side is null or the customer id is blank.
    """
    undashed = _null_if_empty(F.lower(F.regexp_replace(_strip(customer_column), "-", "")))
    return F.lower(_text(id_column)).contains(undashed)


# ---------------------------------------------------------------------------------------------
# SQL registration
# ---------------------------------------------------------------------------------------------
SQL_FUNCTIONS: tuple[Callable[..., Column], ...] = (
    canonical_column_name,
    clean_email, clean_person_name, clean_text,
    clean_status, clean_category, clean_channel, clean_experience, clean_gender,
    parse_date, parse_timestamp,
    address_state_code, address_zip, state_name, state_code,
    clean_id, clean_complaint_id, is_uuid, clean_customer_id, clean_agent_id, id_embeds_customer,
)


class _ColumnFunctionBuilder:
    """A Catalyst FunctionBuilder (`Seq[Expression] => Expression`) implemented in Python.

    The analyzer calls `apply` on the driver, once per call site: the argument expressions become
    Columns, the Python cleaner builds its expression, and that native expression replaces the call.
    """

    def __init__(self, function: Callable[..., Column], jvm):
        self._function, self._jvm = function, jvm
        self._signature = inspect.signature(function)
        self.usage = f"{function.__name__}({', '.join(self._signature.parameters)})"

    def apply(self, arguments):
        expressions = [arguments.apply(i) for i in range(arguments.size())]
        try:
            self._signature.bind(*expressions)
        except TypeError as error:
            raise TypeError(f"{self.usage}: {error}") from None
        cleaned = self._function(*(Column(self._jvm.org.apache.spark.sql.Column(self._unaliased(e))) for e in expressions))
        # Named like a built-in call (`clean_email(email)`), not after the whole expanded expression.
        name = f"{self._function.__name__}({', '.join(self._pretty(e) for e in expressions)})"
        return cleaned.alias(name)._jc.expr()

    @staticmethod
    def _is_alias(expression) -> bool:  # only a nested cleaner's result: SQL has no `f(x AS y)`
        return expression.getClass().getSimpleName() == "Alias"

    def _unaliased(self, expression):
        return expression.child() if self._is_alias(expression) else expression

    def _pretty(self, expression) -> str:
        if self._is_alias(expression):
            return expression.name()
        return self._jvm.org.apache.spark.sql.catalyst.util.package.toPrettySQL(expression)

    class Java:
        implements = ["scala.Function1"]


def register_sql_functions(spark: SparkSession) -> tuple[str, ...]:
    """Register every cleaner as a temporary SQL function of `spark` under its public name.

    Like `spark.udf.register`, the functions belong to this session; registering again replaces
    them. Returns the registered names.
    """
    jvm = spark.sparkContext._jvm
    ensure_callback_server_started(spark.sparkContext._gateway)
    registry = spark._jsparkSession.sessionState().functionRegistry()
    for function in SQL_FUNCTIONS:
        name, builder = function.__name__, _ColumnFunctionBuilder(function, jvm)
        summary = inspect.getdoc(function).splitlines()[0]
        info = jvm.org.apache.spark.sql.catalyst.expressions.ExpressionInfo(
            f"{__name__}.{name}", None, name, f"{builder.usage} - {summary}", "", "", "", "", "", "", "python_udf"
        )
        registry.registerFunction(jvm.org.apache.spark.sql.catalyst.FunctionIdentifier(name), info, builder)
    return tuple(function.__name__ for function in SQL_FUNCTIONS)
