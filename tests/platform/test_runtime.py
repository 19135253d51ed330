"""Java, jars and the embedded PostgreSQL: the runtime a local run needs, and its clear errors."""
import os
import stat
import time

import psycopg2
import pytest

from coretelecoms.platform.jars import PINNED_JARS, MissingJarsError, cached_jars
from coretelecoms.platform.postgres import CONFORMANCE_DB, SOURCE_DB, EmbeddedPostgres, jdbc_options, mask_dsn
from coretelecoms.platform.spark import JavaNotFoundError, check_java


def test_missing_jars_are_named_with_the_fix(tmp_path):
    (tmp_path / PINNED_JARS[0].file_name).write_bytes(b"jar")
    with pytest.raises(MissingJarsError) as error:
        cached_jars(tmp_path)
    message = str(error.value)
    assert "io.delta:delta-storage:3.3.2" in message and "make jars" in message
    assert "delta-spark_2.12:3.3.2" not in message  # present, so not reported


def test_wrong_java_fails_with_the_version_found(tmp_path, monkeypatch):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(JavaNotFoundError, match=r'Java 17 is required, found: openjdk version "11.0.2"'):
        check_java()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(JavaNotFoundError, match="no `java` was found"):
        check_java()


def test_the_machine_java_is_17():
    assert os.path.basename(check_java()) == "java"


def test_embedded_server_starts_is_reused_and_stops(tmp_path):
    server = EmbeddedPostgres(tmp_path / "pg").start(progress=lambda _: None)
    try:
        pid = (server.data_dir / "postmaster.pid").read_text().split()[0]
        assert server.url().startswith("postgresql://coretelecoms@127.0.0.1:")
        again = EmbeddedPostgres(tmp_path / "pg").start(progress=lambda _: None)
        assert (again.port, (again.data_dir / "postmaster.pid").read_text().split()[0]) == (server.port, pid)
        for database in (CONFORMANCE_DB, SOURCE_DB):
            with psycopg2.connect(server.url(database)) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT inet_server_addr()::text")
                assert cursor.fetchone()[0] == "127.0.0.1/32"  # TCP on loopback, as JDBC needs
    finally:
        assert server.stop()
    assert not server.is_running()
    assert not server.stop()


@pytest.mark.parametrize(("dsn", "masked"), [
    ("postgresql://etl:s3cret@db.internal:6543/coretelecoms?sslmode=require",
     "postgresql://etl:***@db.internal:6543/coretelecoms?sslmode=require"),
    ("postgresql://etl:p@ssw0rd@db:5432/ct", "postgresql://etl:***@db:5432/ct"),  # a raw @ in the password
    ("postgresql://etl:a:b/c@db/ct", "postgresql://etl:***@db/ct"),
    ("postgresql://etl@db/ct?sslmode=require&password=s3cret", "postgresql://etl@db/ct?sslmode=require&password=***"),
    ("postgresql://db/ct", "postgresql://db/ct"),
    ("host=db port=5432 user=etl password=s3cret dbname=ct", "host=db port=5432 user=etl password=*** dbname=ct"),
    ("host=db PASSWORD = 'with \\' quote and spaces' dbname=ct", "host=db PASSWORD = *** dbname=ct"),
])
def test_a_dsn_is_shown_without_its_password_in_either_form(dsn, masked):
    assert mask_dsn(dsn) == masked
    assert "s3cret" not in mask_dsn(dsn) and "ssw0rd" not in mask_dsn(dsn)


def test_dsn_helpers_keep_secrets_out_of_logs():
    dsn = "postgresql://etl:s3cret@db.internal:6543/coretelecoms?sslmode=require"
    assert jdbc_options(dsn) == {
        "url": "jdbc:postgresql://db.internal:6543/coretelecoms?sslmode=require",
        "driver": "org.postgresql.Driver", "user": "etl", "password": "s3cret",
    }


def test_the_local_driver_jvm_runs_with_two_malloc_arenas(spark):
    """Measured at full volume: glibc's default arenas put the driver's resident memory over 4 GiB."""
    jvm_pid = spark._jvm.java.lang.ProcessHandle.current().pid()
    with open(f"/proc/{jvm_pid}/environ", "rb") as environ:
        variables = dict(entry.split(b"=", 1) for entry in environ.read().split(b"\0") if b"=" in entry)
    assert variables.get(b"MALLOC_ARENA_MAX") == b"2"


def test_without_the_ui_the_local_driver_keeps_only_the_latest_jobs(spark):
    """Measured: the status of 1,000 jobs and SQL executions held a gigabyte of the local driver's heap."""
    for _ in range(120):
        spark.range(1).collect()
    context = spark.sparkContext
    context._jsc.sc().listenerBus().waitUntilEmpty()
    deadline = time.monotonic() + 30  # the status store drops old entries on a thread of its own
    while len(context.statusTracker().getJobIdsForGroup(None)) > 50 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert 0 < len(context.statusTracker().getJobIdsForGroup(None)) <= 50
