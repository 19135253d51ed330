"""Settings: one YAML file per environment in conf/, overridden by environment variables.

An override is `CORETELECOMS__<SECTION>__<KEY>` (double underscores between levels), for example
`CORETELECOMS__POSTGRES__CONFORMANCE_URL` or `CORETELECOMS__LAKE`. Secrets are only ever taken from
the environment (or AWS Secrets Manager in the cloud), never from the files: the files name secrets
by id (`postgres.secret_id`, `postgres.source_secret_id`, `agents.service_account_secret_id`).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from coretelecoms.platform.lake import default_data_docs, default_runs

ENV_PREFIX = "CORETELECOMS__"
PLATFORMS = ("local", "emr", "glue")
AGENT_READERS = ("csv", "sheets")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
ENDPOINT = re.compile(r"https?://[^/\s]+/?")


class SettingsError(ValueError):
    """A missing or invalid setting; the message names the key and where it came from."""


@dataclass(frozen=True)
class SparkSettings:
    master: str
    shuffle_partitions: int
    driver_memory: str
    ui: bool


@dataclass(frozen=True)
class PostgresSettings:
    required: bool  # False: without a conformance database a run builds the lake and skips the load
    conformance_url: str
    source_url: str
    embedded_dir: str
    secret_id: str  # Secrets Manager id of the conformance DB's RDS-shaped secret; wins over conformance_url
    source_secret_id: str  # the same for the web-forms source database; wins over source_url


@dataclass(frozen=True)
class JdbcSettings:
    read_partitions: int
    fetch_size: int
    write_partitions: int  # parallel connections COPYing into the staging tables


@dataclass(frozen=True)
class AgentsSettings:
    reader: str
    csv_key: str
    spreadsheet_id: str
    worksheet: str
    api_endpoint: str
    service_account_file: str
    service_account_secret_id: str  # Secrets Manager id of the service-account key JSON; wins over the file


@dataclass(frozen=True)
class S3Settings:
    endpoint: str  # empty: AWS; else an S3-compatible server, addressed path-style, SSL per its scheme
    region: str  # empty: the SDK's own resolution (AWS_REGION, the platform's metadata)
    landing_role_arn: str  # role assumed for the landing (source) bucket; empty: the default credentials
    lake_role_arn: str  # role assumed for the lake and runs buckets; empty: the default credentials


@dataclass(frozen=True)
class SecretsManagerSettings:
    endpoint: str  # empty: AWS
    region: str  # empty: the SDK's own resolution


@dataclass(frozen=True)
class BronzeSettings:
    max_snapshot_shrink: float  # a dimension snapshot this share smaller than the last one landed is refused


@dataclass(frozen=True)
class GoldSettings:
    sla_days: int  # a complaint resolved within this many days of its request met the SLA


@dataclass(frozen=True)
class NotificationSettings:
    on_success: bool  # failures are always notified when a webhook is configured
    slack_webhook_secret_id: str  # Secrets Manager id of the webhook URL; else CORETELECOMS_SLACK_WEBHOOK_URL
    cloudwatch_namespace: str  # where run metrics go (reporting/metrics.py); empty: not published


@dataclass(frozen=True)
class Settings:
    env: str
    platform: str
    spark: SparkSettings
    landing: str
    lake: str
    runs: str
    postgres: PostgresSettings
    jdbc: JdbcSettings
    agents: AgentsSettings
    bronze: BronzeSettings
    gold: GoldSettings
    notifications: NotificationSettings
    data_docs: str  # the Great Expectations Data Docs site: a folder or s3a:// URI
    s3: S3Settings
    secrets_manager: SecretsManagerSettings
    project_root: Path

    @property
    def uses_embedded_postgres(self) -> bool:
        return not (self.postgres.conformance_url or self.postgres.secret_id)

    @property
    def has_conformance_database(self) -> bool:
        """A database to load: a secret, a DSN, or (locally) the embedded server's folder."""
        return not self.uses_embedded_postgres or bool(self.platform == "local" and self.postgres.embedded_dir)

    def s3_bucket_roles(self) -> dict[str, str]:
        """{bucket: role ARN ('' for the default credentials)} of every s3a location."""
        return s3_bucket_roles(self.landing, self.lake, self.runs, self.data_docs, self.s3)


def bucket_of(location: str) -> str:
    """The bucket of an s3a:// location."""
    return location[len("s3a://"):].split("/", 1)[0]


def s3_bucket_roles(landing: str, lake: str, runs: str, data_docs: str, s3: S3Settings) -> dict[str, str]:
    """Credentials are chosen per bucket (by S3A and by boto3 alike), so two locations in one bucket
    must use the same role. The pipeline's outputs (lake, runs, data_docs) use the lake's."""
    roles: dict[str, tuple[str, str]] = {}  # bucket -> (role, the setting that chose it)
    for name, location, role_key in (
        ("landing", landing, "landing_role_arn"),
        ("lake", lake, "lake_role_arn"),
        ("runs", runs, "lake_role_arn"),
        ("data_docs", data_docs, "lake_role_arn"),
    ):
        if not location.startswith("s3a://"):
            continue
        bucket, role = bucket_of(location), getattr(s3, role_key)
        chosen, chosen_by = roles.setdefault(bucket, (role, role_key))
        if chosen != role:
            raise SettingsError(
                f"setting '{name}' is in bucket '{bucket}' whose role is set by 's3.{chosen_by}', but "
                f"'s3.{role_key}' differs: credentials are chosen per bucket, so use one bucket per role or one role"
            )
    return {bucket: role for bucket, (role, _) in roles.items()}


def find_conf_dir(start: Path | None = None) -> Path:
    """conf/ from CORETELECOMS_CONF_DIR, else the nearest conf/ above the working directory."""
    if os.environ.get("CORETELECOMS_CONF_DIR"):
        return Path(os.environ["CORETELECOMS_CONF_DIR"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "conf" / "local.yaml").is_file():
            return folder / "conf"
    raise SettingsError(
        f"no conf/ directory found above {here}; run from the project folder or set CORETELECOMS_CONF_DIR"
    )


def load_settings(env: str | None = None, conf_dir: Path | None = None, overrides: dict[str, str] | None = None) -> Settings:
    """Read conf/<env>.yaml, apply environment overrides (then `overrides`), and validate every key."""
    env = env or os.environ.get("CORETELECOMS_ENV", "local")
    conf_dir = conf_dir or find_conf_dir()
    path = conf_dir / f"{env}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in conf_dir.glob("*.yaml"))
        raise SettingsError(f"unknown environment '{env}': {path} does not exist (known: {', '.join(known)})")
    with path.open() as handle:
        raw = yaml.safe_load(handle) or {}
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: the top level must be a mapping of keys")
    for dotted, value in {**_env_overrides(os.environ), **(overrides or {})}.items():
        _set_dotted(raw, dotted, value, path)
    return _build(raw, env=env, source=str(path), project_root=conf_dir.parent)


def _env_overrides(environ: os._Environ | dict[str, str]) -> dict[str, str]:
    return {
        name[len(ENV_PREFIX):].lower().replace("__", "."): value
        for name, value in environ.items()
        if name.startswith(ENV_PREFIX)
    }


def _set_dotted(tree: dict, dotted: str, value: str, source: Path) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            raise SettingsError(f"override '{dotted}': '{part}' is not a section of {source}")
        node = child
    if leaf not in node:
        raise SettingsError(f"override '{dotted}': no such key in {source}")
    node[leaf] = value


class _Reader:
    """Typed access to one YAML mapping that names the full key in every error."""

    def __init__(self, tree: Any, prefix: str, source: str):
        if not isinstance(tree, dict):
            raise SettingsError(f"{source}: '{prefix or 'top level'}' must be a mapping")
        self.tree, self.prefix, self.source = tree, prefix, source

    def _key(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def _get(self, key: str) -> Any:
        if key not in self.tree:
            raise SettingsError(f"{self.source}: missing setting '{self._key(key)}'")
        return self.tree[key]

    def section(self, key: str) -> _Reader:
        return _Reader(self._get(key), self._key(key), self.source)

    def text(self, key: str, required: bool = False, choices: tuple[str, ...] | None = None) -> str:
        value = self._get(key)
        value = "" if value is None else str(value).strip()
        if required and not value:
            env_name = ENV_PREFIX + self._key(key).upper().replace(".", "__")
            raise SettingsError(f"{self.source}: setting '{self._key(key)}' is required (set it there or in {env_name})")
        if choices and value not in choices:
            raise SettingsError(f"{self.source}: setting '{self._key(key)}' is '{value}', expected one of {', '.join(choices)}")
        return value

    def integer(self, key: str, minimum: int = 1) -> int:
        value = self._get(key)
        try:
            number = int(str(value))
        except ValueError:
            raise SettingsError(f"{self.source}: setting '{self._key(key)}' must be an integer, got '{value}'") from None
        if number < minimum:
            raise SettingsError(f"{self.source}: setting '{self._key(key)}' must be at least {minimum}, got {number}")
        return number

    def fraction(self, key: str) -> float:
        value = self._get(key)
        try:
            number = float(str(value))
        except ValueError:
            raise SettingsError(f"{self.source}: setting '{self._key(key)}' must be a number, got '{value}'") from None
        if not 0 <= number <= 1:
            raise SettingsError(f"{self.source}: setting '{self._key(key)}' must be between 0 and 1, got {number}")
        return number

    def one_of(self, *keys: str, reason: str) -> str:
        """The first of `keys` that is set; an error naming them all when none is."""
        for key in keys:
            value = self.text(key)
            if value:
                return value
        env_name = ENV_PREFIX + self._key(keys[0]).upper().replace(".", "__")
        names = " or ".join(f"'{self._key(key)}'" for key in keys)
        raise SettingsError(f"{self.source}: setting {names} is required {reason} (set it there or in {env_name})")

    def matching(self, key: str, pattern: re.Pattern, example: str) -> str:
        value = self.text(key)
        if value and not pattern.fullmatch(value):
            raise SettingsError(f"{self.source}: setting '{self._key(key)}' is '{value}', expected the form {example}")
        return value.rstrip("/")

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off", ""):
            return False
        raise SettingsError(f"{self.source}: setting '{self._key(key)}' must be true or false, got '{value}'")


def _location(reader: _Reader, key: str, project_root: Path, required: bool = True) -> str:
    """A folder (relative to the project root) or an s3a:// URI, returned absolute."""
    value = reader.text(key, required=required)
    if not value:
        return ""
    if value.startswith(("s3://", "s3n://")):
        raise SettingsError(f"{reader.source}: setting '{reader._key(key)}' must use the s3a:// scheme, got '{value}'")
    if value.startswith("s3a://"):
        return value.rstrip("/")
    if "://" in value:
        raise SettingsError(f"{reader.source}: setting '{reader._key(key)}' must be a folder or an s3a:// URI, got '{value}'")
    path = Path(value)
    return str(path if path.is_absolute() else (project_root / path).resolve())


def _build(raw: dict, env: str, source: str, project_root: Path) -> Settings:
    top = _Reader(raw, "", source)
    platform = top.text("platform", required=True, choices=PLATFORMS)
    spark = top.section("spark")
    postgres = top.section("postgres")
    jdbc = top.section("jdbc")
    agents = top.section("agents")
    bronze = top.section("bronze")
    gold = top.section("gold")
    notifications = top.section("notifications")
    s3 = _s3_settings(top.section("s3"))
    secrets_manager = top.section("secrets_manager")
    landing = _location(top, "landing", project_root)
    lake = _location(top, "lake", project_root)
    runs = _location(top, "runs", project_root, required=False) or default_runs(lake)
    data_docs = _location(top, "data_docs", project_root, required=False) or default_data_docs(lake)
    s3_bucket_roles(landing, lake, runs, data_docs, s3)  # fails now, naming the keys, when a bucket has two roles
    agents_reader = agents.text("reader", required=True, choices=AGENT_READERS)
    conformance_url = postgres.text("conformance_url")
    secret_id = postgres.text("secret_id")
    external = bool(conformance_url or secret_id)
    required = postgres.flag("required")
    embedded_dir = _location(postgres, "embedded_dir", project_root, required=False) if platform == "local" else ""
    if required and not (external or embedded_dir):  # the embedded server is for local runs only
        keys = ("secret_id", "conformance_url") + (("embedded_dir",) if platform == "local" else ())
        postgres.one_of(*keys, reason=f"on {platform} while 'postgres.required' is true")
    source_secret_id = postgres.text("source_secret_id")
    source_url = postgres.text("source_url")
    if (external or not embedded_dir) and not source_secret_id:
        reason = "with an external conformance database" if external else "without an embedded server"
        source_url = postgres.one_of("source_secret_id", "source_url", reason=reason)
    return Settings(
        env=env,
        platform=platform,
        spark=SparkSettings(
            master=spark.text("master", required=platform == "local"),
            shuffle_partitions=spark.integer("shuffle_partitions"),
            driver_memory=spark.text("driver_memory"),
            ui=spark.flag("ui"),
        ),
        landing=landing,
        lake=lake,
        runs=runs,
        data_docs=data_docs,
        postgres=PostgresSettings(
            required=required,
            conformance_url=conformance_url,
            source_url=source_url,
            embedded_dir=embedded_dir,
            secret_id=secret_id,
            source_secret_id=source_secret_id,
        ),
        jdbc=JdbcSettings(
            read_partitions=jdbc.integer("read_partitions"),
            fetch_size=jdbc.integer("fetch_size"),
            write_partitions=jdbc.integer("write_partitions"),
        ),
        agents=AgentsSettings(
            reader=agents_reader,
            csv_key=agents.text("csv_key", required=agents_reader == "csv"),
            spreadsheet_id=agents.text("spreadsheet_id", required=agents_reader == "sheets"),
            worksheet=agents.text("worksheet", required=agents_reader == "sheets"),
            api_endpoint=agents.text("api_endpoint"),
            service_account_file=agents.text("service_account_file"),
            service_account_secret_id=agents.text("service_account_secret_id"),
        ),
        bronze=BronzeSettings(max_snapshot_shrink=bronze.fraction("max_snapshot_shrink")),
        gold=GoldSettings(sla_days=gold.integer("sla_days", minimum=0)),
        notifications=NotificationSettings(
            on_success=notifications.flag("on_success"),
            slack_webhook_secret_id=notifications.text("slack_webhook_secret_id"),
            cloudwatch_namespace=notifications.text("cloudwatch_namespace"),
        ),
        s3=s3,
        secrets_manager=SecretsManagerSettings(
            endpoint=secrets_manager.matching("endpoint", ENDPOINT, "http(s)://host:port"),
            region=secrets_manager.text("region"),
        ),
        project_root=project_root,
    )


def _s3_settings(s3: _Reader) -> S3Settings:
    role_form = "arn:aws:iam::<12-digit account>:role/<name>"
    return S3Settings(
        endpoint=s3.matching("endpoint", ENDPOINT, "http(s)://host:port"),
        region=s3.text("region"),
        landing_role_arn=s3.matching("landing_role_arn", ROLE_ARN, role_form),
        lake_role_arn=s3.matching("lake_role_arn", ROLE_ARN, role_form),
    )
