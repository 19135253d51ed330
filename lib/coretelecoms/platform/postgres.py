"""PostgreSQL connections: the configured server, or the project's own embedded one.

The embedded server uses the PostgreSQL 16 binaries shipped in the `pgserver` wheel (no Docker, no
system packages), keeps its data in `postgres.embedded_dir` (var/pg), listens on 127.0.0.1 over TCP
so that JDBC works, and is reused while it runs. Local trust authentication is acceptable because it
only listens on loopback and only ever holds generated data.
"""
from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import re
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg2
from psycopg2 import sql

from coretelecoms.platform.settings import Settings

ROLE = "coretelecoms"
CONFORMANCE_DB = "coretelecoms"
SOURCE_DB = "coretelecoms_source"
# PostgreSQL refuses to run as root; when we are root the server runs as this unprivileged user.
UNPRIVILEGED_USER = "nobody"


class PostgresError(RuntimeError):
    pass


def _binaries() -> Path:
    # Located without importing pgserver, whose import has side effects we do not use.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("the `pgserver` package (embedded PostgreSQL binaries) is not installed: it is the `local` "
                            "extra, `pip install 'coretelecoms[local]'` (`make install` installs it)")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class EmbeddedPostgres:
    home: Path  # var/pg: holds data/ and server.log

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "server.log"

    @property
    def port(self) -> int:
        conf = (self.data_dir / "postgresql.auto.conf").read_text()
        return int(re.search(r"^port = '?(\d+)'?", conf, re.M).group(1))

    def url(self, database: str = CONFORMANCE_DB) -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{database}"

    def is_running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text().split()[0]), 0)
        except (ProcessLookupError, ValueError):
            return False
        except PermissionError:
            return True  # alive, owned by the unprivileged user
        return True

    def start(self, progress=print) -> EmbeddedPostgres:
        """Initialise on first use, start unless running, create the project's databases."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not (self.data_dir / "PG_VERSION").exists():
                progress(f"initialising embedded PostgreSQL in {self.data_dir}")
                self._initdb()
            if not self.is_running():
                self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start")
            self._wait_ready()
            self._create_databases()
        return self

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        return True

    @contextmanager
    def _lock(self):
        with open(self.home / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _grant_traversal(self.home)
            owner = pwd.getpwnam(UNPRIVILEGED_USER)
            for path in (self.home, self.data_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            if self.log_file.exists():
                os.chown(self.log_file, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data_dir), "-U", ROLE, "--auth=trust", "-E", "UTF8", "--locale=C")
        # postgresql.auto.conf is ours to write; the port chosen now stays for the life of the data dir.
        settings = {
            "port": str(_free_port()),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": "",
            "synchronous_commit": "off",  # dev server: may lose the last commits on an OS crash, never corrupts
            "max_wal_size": "2GB",
            "shared_buffers": "256MB",
            "max_connections": "50",
        }
        lines = "".join(f"{key} = '{value}'\n" for key, value in settings.items())
        with open(self.data_dir / "postgresql.auto.conf", "a") as conf:
            conf.write(lines)

    def _run(self, program: str, *args: str) -> None:
        demote = None
        if os.geteuid() == 0:
            owner = pwd.getpwnam(UNPRIVILEGED_USER)

            def demote():
                os.setgid(owner.pw_gid)
                os.setuid(owner.pw_uid)

        result = subprocess.run(
            [str(_binaries() / program), *args],
            preexec_fn=demote,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.home,
        )
        if result.returncode != 0:
            log_tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise PostgresError(f"embedded PostgreSQL: `{program}` failed:\n{result.stdout}\n{log_tail}")

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(self.url("postgres"), connect_timeout=3).close()
                return
            except psycopg2.OperationalError as error:
                if time.monotonic() > deadline:
                    raise PostgresError(f"embedded PostgreSQL on port {self.port} did not accept connections: {error}")
                time.sleep(0.2)

    def _create_databases(self) -> None:
        for database in (CONFORMANCE_DB, SOURCE_DB):
            create_database(self.url("postgres"), database)


def _grant_traversal(path: Path) -> None:
    """Let the unprivileged server user reach its data dir (x on each parent, no read)."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


def create_database(admin_url: str, database: str, drop_first: bool = False) -> None:
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    try:
        with connection.cursor() as cursor:
            if drop_first:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        connection.close()


def drop_database(admin_url: str, database: str) -> None:
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    finally:
        connection.close()


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(Path(settings.postgres.embedded_dir))


def conformance_url(settings: Settings) -> str:
    """The conformance database DSN: from its secret, the configured one, or the embedded server's
    (started if needed)."""
    if settings.postgres.secret_id:
        return _dsn_from_secret(settings, settings.postgres.secret_id, "postgres.secret_id")
    if settings.postgres.conformance_url:
        return settings.postgres.conformance_url
    return embedded_server(settings).start(progress=lambda _: None).url(CONFORMANCE_DB)


def source_url(settings: Settings) -> str:
    """The web-forms source database DSN (from its secret, configured, or a database on the embedded server)."""
    if settings.postgres.source_secret_id:
        return _dsn_from_secret(settings, settings.postgres.source_secret_id, "postgres.source_secret_id")
    if settings.postgres.source_url:
        return settings.postgres.source_url
    return embedded_server(settings).start(progress=lambda _: None).url(SOURCE_DB)


def _dsn_from_secret(settings: Settings, secret_id: str, setting: str) -> str:
    from coretelecoms.platform.secrets import postgres_dsn  # boto3 only where a secret is used

    return postgres_dsn(settings, secret_id, setting)


def jdbc_options(dsn: str) -> dict[str, str]:
    """Spark JDBC options for a `postgresql://user:password@host:port/db?...` DSN."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise PostgresError("a PostgreSQL DSN must look like postgresql://user@host:port/database")
    options = {
        "url": f"jdbc:postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}",
        "driver": "org.postgresql.Driver",
        "user": unquote(parts.username or ""),  # a DSN percent-encodes them; JDBC takes them verbatim
    }
    if parts.password:
        options["password"] = unquote(parts.password)
    if parts.query:
        options["url"] += "?" + parts.query
    return options


def mask_dsn(dsn: str) -> str:
    """The DSN with its password masked, for logs, in either form libpq takes.

    URL: the user info is everything before the host's `@`, the last one (a raw `@` or `:` in the
    password stays hidden), and a `password` query parameter is masked too. Key=value: the value of
    `password`, quoted or not.
    """
    if "://" not in dsn:
        return _KEYWORD_PASSWORD.sub(r"\1***", dsn)
    scheme, rest = dsn.split("://", 1)
    address, question, query = rest.partition("?")
    user_info, at, location = address.rpartition("@")
    if at and ":" in user_info:
        address = f"{user_info.split(':', 1)[0]}:***@{location}"
    return f"{scheme}://{address}{question}" + _QUERY_PASSWORD.sub(r"\1***", query)


_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
# In free text (an error message) a URL's user info runs to the last `@` before the next space.
_URL_PASSWORD_IN_TEXT = re.compile(r"(://[^:/@\s]+:)\S*@")


def mask_dsns_in_text(text: str) -> str:
    """Free text (an error, a traceback) with the password of every DSN in it masked, in either form."""
    return _KEYWORD_PASSWORD.sub(r"\1***", _URL_PASSWORD_IN_TEXT.sub(r"\1***@", text))
_QUERY_PASSWORD = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)
