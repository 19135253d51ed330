"""The `coretelecoms` command; the demo, the generator and the bench are `coretelecoms-dev` commands (dev/)."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import sys
import warnings

from coretelecoms import pipeline
from coretelecoms.platform.settings import SettingsError, load_settings
from coretelecoms.platform.spark import VERBOSE_VARIABLE

EXIT_FAILURE, EXIT_SETTINGS = 1, 2


def iso_date(text: str) -> dt.date:
    """An argparse type: a YYYY-MM-DD date."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got '{text}'") from None


def _settings(args):
    return load_settings(env=args.env)


def cmd_jars(args) -> int:
    from coretelecoms.platform.jars import fetch_jars

    for path in fetch_jars():
        print(path)
    return 0


def cmd_db(args) -> int:
    from coretelecoms.platform.postgres import conformance_url, embedded_server, mask_dsn

    settings = _settings(args)
    if args.action == "url":
        print(mask_dsn(conformance_url(settings)))
    elif args.action == "migrate":
        from coretelecoms.conformance.database import apply_migrations

        applied = apply_migrations(conformance_url(settings))
        print(f"applied {', '.join(applied)}" if applied else "the conformance schema is up to date")
    elif args.action == "start":
        server = embedded_server(settings).start()
        print(f"embedded PostgreSQL running on 127.0.0.1:{server.port} (data in {server.data_dir})")
    elif args.action == "stop":
        if not settings.uses_embedded_postgres:
            print("a PostgreSQL connection is configured; there is no embedded server to stop")
        else:
            stopped = embedded_server(settings).stop()
            print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    return 0


def cmd_run(args) -> int:
    settings = _settings(args)
    stages = pipeline.stages_up_to(args.stage)
    print(f"run {args.date} ({', '.join(stages)}) env={settings.env}")
    try:
        result = pipeline.run(settings, args.date, stages=stages, scope=args.scope, rebuild_features=args.rebuild_features,
                              accept_shrink=args.accept_shrink)
    except pipeline.RunFailed as failed:
        if isinstance(failed.__cause__, SettingsError):  # a setting only checked when the run needs it
            raise failed.__cause__ from None
        print(failed.explained(), file=sys.stderr)
        return EXIT_FAILURE
    for outcome in result.not_ready:
        print(f"  not ready: {outcome.message}")
    for outcome in result.rejected_inputs:
        print(f"  rejected input {outcome.source} {outcome.location}: {outcome.message}\n    to fix: {outcome.fix}")
    print(f"run {result.run_id}: {result.status}; report {', '.join(result.report_html)}")
    return result.exit_code


def cmd_docs(args) -> int:
    from coretelecoms.quality.stage import publish_data_docs

    print(publish_data_docs(_settings(args)))
    return 0


def cmd_sql(args) -> int:
    from coretelecoms.explore import open_lake

    frame = open_lake(args.env).spark.sql(args.query)
    if args.json:
        for line in frame.toJSON().toLocalIterator():
            print(line)
    else:
        frame.show(args.limit, truncate=False)
    return 0


def cmd_lifecycle(args) -> int:
    from coretelecoms.reporting.complaint import complaint_story, rows_from_lake, rows_from_postgres

    settings = _settings(args)
    if settings.has_conformance_database:
        from coretelecoms.platform.postgres import conformance_url

        rows = rows_from_postgres(conformance_url(settings), args.complaint_id)
    else:
        from coretelecoms.platform.spark import spark_session

        rows = rows_from_lake(spark_session(settings, app_name="coretelecoms lifecycle"), settings, args.complaint_id)
    text, found = complaint_story(args.complaint_id, rows)
    print(text)
    return 0 if found else 1


def cmd_trace(args) -> int:
    from coretelecoms.platform.spark import spark_session
    from coretelecoms.reporting.trace import database_rows, lineage_from_lake, trace_text

    settings = _settings(args)
    database = database_rows(settings, args.complaint_id)
    lineage = lineage_from_lake(spark_session(settings, app_name="coretelecoms trace"), settings, args.complaint_id)
    text, found = trace_text(args.complaint_id, lineage, database, settings.lake)
    print(text, file=sys.stdout if found else sys.stderr)
    return 0 if found else 1


def month_start(text: str) -> dt.date:
    """An argparse type: a YYYY-MM month, as its first day."""
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month YYYY-MM, got '{text}'") from None


def cmd_features(args) -> int:
    from coretelecoms.reporting.features import features_text, rows_from_lake, rows_from_postgres

    settings = _settings(args)
    if settings.has_conformance_database:
        from coretelecoms.platform.postgres import conformance_url

        rows, source = rows_from_postgres(conformance_url(settings), args.customer_id, args.month), "conformance database"
    else:
        from coretelecoms.platform import lake
        from coretelecoms.platform.spark import spark_session
        from coretelecoms.platform.tables import COMPLAINT_FEATURES

        location = lake.gold(settings, COMPLAINT_FEATURES)
        spark = spark_session(settings, app_name="coretelecoms features")
        rows, source = rows_from_lake(spark, location, args.customer_id, args.month), location
    if not rows:
        month = f" for {args.month:%Y-%m}" if args.month else ""
        print(f"no complaint features for customer {args.customer_id}{month} in the {source}", file=sys.stderr)
        return 1
    print(features_text(args.customer_id, rows))
    return 0


def cmd_report(args) -> int:
    from coretelecoms.reporting.run_report import html_location, latest_report, summary_text

    from coretelecoms.platform import storage

    settings = _settings(args)
    storage.use_s3_settings(settings)  # reports on S3 are read with the lake bucket's credentials
    report = latest_report(settings, args.date)
    if report is None:
        print(f"no run report{' for ' + args.date.isoformat() if args.date else ''} under {settings.runs}", file=sys.stderr)
        return 1
    print(summary_text(report))
    print(f"html report: {html_location(settings, report)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coretelecoms", description="CoreTelecoms complaint pipeline")
    parser.add_argument("--env", default=None, help="conf/<env>.yaml to use (default: CORETELECOMS_ENV or local)")
    parser.add_argument("--verbose", action="store_true", help="also show Spark's warnings and Python's")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("jars", help="fetch the pinned Spark jars into the local cache").set_defaults(func=cmd_jars)

    db = commands.add_parser("db", help="the conformance database")
    db.add_argument("action", choices=("url", "migrate", "start", "stop"))
    db.set_defaults(func=cmd_db)

    run = commands.add_parser("run", help="run the pipeline for one date")
    run.add_argument("--date", type=iso_date, required=True)
    run.add_argument("--stage", default="gold", choices=pipeline.STAGES,
                     help="run up to and including this stage")
    run.add_argument("--scope", default="all", choices=pipeline.SCOPES,
                     help="which sources: a scheduler may refresh dimensions before complaints")
    run.add_argument("--rebuild-features", action="store_true",
                     help="recompute every month of complaint_features, not only the months the run touched")
    run.add_argument("--accept-shrink", action="store_true",
                     help="land a customers or agents snapshot even if it is much smaller than the last one")
    run.set_defaults(func=cmd_run)

    lifecycle = commands.add_parser("lifecycle", help="a complaint's status history and the days it spent in each status")
    lifecycle.add_argument("complaint_id")
    lifecycle.set_defaults(func=cmd_lifecycle)

    trace = commands.add_parser("trace", help="a complaint's lineage: raw rows, repairs, quarantine, statuses, "
                                                "PostgreSQL rows")
    trace.add_argument("complaint_id", help="a call id, social-media complaint id or web-form request id")
    trace.set_defaults(func=cmd_trace)

    features = commands.add_parser("features", help="a customer's complaint features, one column per month")
    features.add_argument("customer_id")
    features.add_argument("--month", type=month_start, default=None, help="only this month: YYYY-MM")
    features.set_defaults(func=cmd_features)

    report = commands.add_parser("report", help="print the summary of the latest run (of a date)")
    report.add_argument("--date", type=iso_date, default=None)
    report.set_defaults(func=cmd_report)

    docs = commands.add_parser("docs", help="build the Great Expectations Data Docs site and print its index.html")
    docs.set_defaults(func=cmd_docs)

    sql = commands.add_parser("sql", help="run Spark SQL with the cleaning functions and the lake's tables by name")
    sql.add_argument("query")
    sql.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    sql.add_argument("--limit", type=int, default=50, help="rows shown in the table form")
    sql.set_defaults(func=cmd_sql)
    return parser


# A warning raised by code under one of these packages (deprecations inside PySpark, GX, py4j).
_LIBRARY_FILE = re.compile(r"[/\\](pyspark|py4j|great_expectations)[/\\]")


def quiet_console() -> None:
    """Deprecation and future warnings raised inside the libraries we call (PySpark's own `LooseVersion`
    checks) are not the user's business; ours and any in the user's code still show.

    Dropped when shown, not by a warnings filter: importing Great Expectations puts its own
    `simplefilter("default", DeprecationWarning)` in front of every filter set before it."""
    show = warnings.showwarning

    def show_unless_a_library_deprecation(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, (DeprecationWarning, FutureWarning)) and _LIBRARY_FILE.search(filename):
            return
        show(message, category, filename, lineno, file, line)

    warnings.showwarning = show_unless_a_library_deprecation
    # Libraries' informational log records are not ours either. Python shows only warnings and errors
    # of loggers without a handler, but py4j's first `logging.info` (a failed call to the JVM, which it
    # retries) installs a root handler that shows every level, and Great Expectations sets INFO on some
    # of its loggers: its "Created temporary directory" lines then reached the console mid-run.
    if not logging.root.handlers:
        console = logging.StreamHandler()
        console.setLevel(logging.WARNING)
        logging.root.addHandler(console)


def dispatch(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Run the chosen command; a configuration error is one line and exit code 2, not a traceback.
    `--verbose` shows Spark's console warnings (its own logging defaults) and library warnings."""
    args = parser.parse_args(argv)
    if args.verbose:
        os.environ[VERBOSE_VARIABLE] = "1"  # read by platform.spark when it starts a session
    else:
        quiet_console()
    try:
        return args.func(args)
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_SETTINGS


def main(argv: list[str] | None = None) -> int:
    return dispatch(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
