"""The `coretelecoms` command."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from coretelecoms.platform.settings import SettingsError, load_settings

EXIT_SETTINGS = 2


def _date(text: str) -> dt.date:
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


def _generate(settings, start_date: dt.date, days: int, scale: float, seed: int) -> dict:
    from coretelecoms.platform.postgres import source_url
    from coretelecoms.sources.generator import GeneratorConfig, generate

    if settings.landing.startswith("s3a://"):
        raise SettingsError("generate writes a local landing folder; set 'landing' to a folder")
    config = GeneratorConfig(start_date=start_date, days=days, scale=scale, seed=seed)
    return generate(config, Path(settings.landing), source_url(settings), progress=lambda line: print(f"  {line}"))


def cmd_generate(args) -> int:
    settings = _settings(args)
    started = time.monotonic()
    _generate(settings, args.start_date, args.days, args.scale, args.seed)
    print(f"generated {args.days} day(s) at scale {args.scale} in {time.monotonic() - started:.1f}s into {settings.landing}")
    print(f"ground truth: {Path(settings.landing) / 'ground_truth.json'}")
    return 0


def cmd_publish(args) -> int:
    from coretelecoms.sources.generator import publish

    settings = _settings(args)
    publish(Path(settings.landing), args.date)
    return 0


def cmd_run(args) -> int:
    from coretelecoms import pipeline

    settings = _settings(args)
    stages = pipeline.stages_up_to(args.stage)
    print(f"run {args.date} ({', '.join(stages)}) env={settings.env}")
    result = pipeline.run(settings, args.date, stages=stages, scope=args.scope)
    for outcome in result.not_ready:
        print(f"  not ready: {outcome.message}")
    print(f"run {result.run_id}: {result.status}; report {', '.join(result.report_html)}")
    return result.exit_code


def _reset_demo_state(settings) -> None:
    """Each demo starts from an empty lake and conformance database, so its summary is the same every time."""
    import shutil

    from coretelecoms.platform.postgres import CONFORMANCE_DB, create_database, embedded_server

    for folder in (settings.lake, settings.runs, settings.data_docs):
        shutil.rmtree(folder, ignore_errors=True)
    server = embedded_server(settings).start(progress=lambda line: print(f"  {line}"))
    create_database(server.url("postgres"), CONFORMANCE_DB, drop_first=True)
    print(f"0/2 reset the demo's lake ({settings.lake}) and conformance database")


def cmd_demo(args) -> int:
    from coretelecoms import pipeline
    from coretelecoms.platform.spark import spark_session
    from coretelecoms.platform import storage
    from coretelecoms.platform.postgres import conformance_url, mask_dsn
    from coretelecoms.reporting.summary import (
        bronze_summary,
        conformance_summary,
        gold_summary,
        most_travelled_complaint,
        quality_summary,
    )
    from coretelecoms.sources.generator import publish

    settings = _settings(args)
    if not settings.uses_embedded_postgres or settings.lake.startswith("s3a://"):
        raise SettingsError("the demo runs on the embedded default: a local lake and no postgres.conformance_url")
    _reset_demo_state(settings)
    print(f"1/2 generating {args.days} day(s) of sources at scale {args.scale} into {settings.landing}")
    truth = _generate(settings, args.start_date, args.days, args.scale, args.seed)
    print("2/2 running the pipeline for each day")
    spark = spark_session(settings, app_name="coretelecoms demo")
    results = []
    for day in truth["dates"]:
        run_date = dt.date.fromisoformat(day)
        publish(Path(settings.landing), run_date)  # the upstream overwrites the customers object
        print(f"run {day}")
        results.append(pipeline.run(settings, run_date, spark=spark))
    print()
    print("bronze: rows landed per source and day, against the generator's ground truth")
    print(bronze_summary(settings, results, truth))
    print()
    print("silver quality: where every row went (in = clean + repaired + rejected + duplicates)")
    print(quality_summary(results))
    print()
    print("conformance database: complaints loaded and updated, quarantined orphans, replays, status transitions")
    print(conformance_summary(results))
    print(f"conformance database: {mask_dsn(conformance_url(settings))}  (psql \"$(.venv/bin/coretelecoms db url)\")")
    print(f"dq_issues: {storage.join(settings.lake, 'silver', 'dq_issues')}  "
          f"(coretelecoms sql \"SELECT entity, rule, count(*) FROM dq_issues GROUP BY 1, 2\")")
    print()
    print("gold: complaint_lifecycle rows changed and status transitions per day")
    print(gold_summary(results))
    example = most_travelled_complaint(truth)
    if example:
        print(f"one complaint's lifecycle: .venv/bin/coretelecoms lifecycle {example}")
    print(f"last run's report: {results[-1].report_html[-1] if results[-1].report_html else '-'}"
          "   (.venv/bin/coretelecoms report)")
    return 0


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
    from coretelecoms.platform.spark import spark_session
    from coretelecoms.reporting.complaint import complaint_story

    settings = _settings(args)
    text, found = complaint_story(spark_session(settings, app_name="coretelecoms lifecycle"), settings, args.complaint_id)
    print(text)
    return 0 if found else 1


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


def cmd_bench(args) -> int:
    from coretelecoms.bench import run_bench

    run_bench(_settings(args), args.part, scale=args.scale, values=args.values)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coretelecoms", description="CoreTelecoms complaint pipeline")
    parser.add_argument("--env", default=None, help="conf/<env>.yaml to use (default: CORETELECOMS_ENV or local)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("jars", help="fetch the pinned Spark jars into the local cache").set_defaults(func=cmd_jars)

    db = commands.add_parser("db", help="the conformance database")
    db.add_argument("action", choices=("url", "migrate", "start", "stop"))
    db.set_defaults(func=cmd_db)

    generate = commands.add_parser("generate", help="write realistic raw sources into the landing")
    generate.add_argument("--start-date", type=_date, default=dt.date(2025, 6, 1))
    generate.add_argument("--days", type=int, default=3)
    generate.add_argument("--scale", type=float, default=0.01, help="1 = real volumes (2.5M customers, 380k calls/day)")
    generate.add_argument("--seed", type=int, default=7)
    generate.set_defaults(func=cmd_generate)

    publish = commands.add_parser("publish", help="make the generated customers file current as of a date")
    publish.add_argument("--date", type=_date, required=True)
    publish.set_defaults(func=cmd_publish)

    run = commands.add_parser("run", help="run the pipeline for one date")
    run.add_argument("--date", type=_date, required=True)
    run.add_argument("--stage", default="gold", choices=("bronze", "silver", "conformance", "gold"),
                     help="run up to and including this stage")
    run.add_argument("--scope", default="all", choices=("all", "dimensions", "complaints"),
                     help="which sources: a scheduler may refresh dimensions before complaints")
    run.set_defaults(func=cmd_run)

    lifecycle = commands.add_parser("lifecycle", help="a complaint's status history and the days it spent in each status")
    lifecycle.add_argument("complaint_id")
    lifecycle.set_defaults(func=cmd_lifecycle)

    report = commands.add_parser("report", help="print the summary of the latest run (of a date)")
    report.add_argument("--date", type=_date, default=None)
    report.set_defaults(func=cmd_report)

    docs = commands.add_parser("docs", help="build the Great Expectations Data Docs site and print its index.html")
    docs.set_defaults(func=cmd_docs)

    sql = commands.add_parser("sql", help="run Spark SQL with the cleaning functions and the lake's tables by name")
    sql.add_argument("query")
    sql.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    sql.add_argument("--limit", type=int, default=50, help="rows shown in the table form")
    sql.set_defaults(func=cmd_sql)

    bench = commands.add_parser("bench", help="measure the pipeline (results under var/bench/)")
    bench.add_argument("part", nargs="?", default="all", choices=("all", "volume", "micro"),
                       help="volume: the dimension load, a daily run and the next day end to end, each next to "
                            "its floor; micro: the cleaners native vs pandas_udf vs Python udf; all (default): both")
    bench.add_argument("--scale", type=float, default=1.0, help="volume: 1 = real volumes (inputs cached per scale)")
    bench.add_argument("--values", type=int, default=1_000_000, help="micro: values per cleaner")
    bench.set_defaults(func=cmd_bench)

    demo = commands.add_parser("demo", help="generate data and run every day on the embedded default")
    demo.add_argument("--start-date", type=_date, default=dt.date(2025, 6, 1))
    demo.add_argument("--days", type=int, default=3)
    demo.add_argument("--scale", type=float, default=0.01)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_SETTINGS


if __name__ == "__main__":
    sys.exit(main())
