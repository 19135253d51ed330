"""The `coretelecoms-dev` command: generate sources, publish a customers version, the demo, the bench."""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from pathlib import Path

from coretelecoms.cli import dispatch, iso_date
from coretelecoms.platform.settings import SettingsError, load_settings


def _settings(args):
    return load_settings(env=args.env)


def _generate(settings, start_date: dt.date, days: int, scale: float, seed: int) -> dict:
    from coretelecoms.platform.postgres import source_url
    from coretelecoms_dev.generator import GeneratorConfig, generate

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
    from coretelecoms_dev.generator import publish

    settings = _settings(args)
    publish(Path(settings.landing), args.date)
    return 0


def _reset_demo_state(settings) -> None:
    """Each demo starts from an empty lake and conformance database, so its summary is the same every time."""
    from coretelecoms.platform.postgres import CONFORMANCE_DB, create_database, embedded_server

    for folder in (settings.lake, settings.runs, settings.data_docs):
        shutil.rmtree(folder, ignore_errors=True)
    server = embedded_server(settings).start(progress=lambda line: print(f"  {line}"))
    create_database(server.url("postgres"), CONFORMANCE_DB, drop_first=True)
    print(f"1. reset the demo's lake ({settings.lake}) and conformance database")


def cmd_demo(args) -> int:
    from coretelecoms import pipeline
    from coretelecoms.platform import lake
    from coretelecoms.platform.postgres import conformance_url, mask_dsn
    from coretelecoms.platform.spark import spark_session
    from coretelecoms.platform.tables import DQ_ISSUES
    from coretelecoms_dev.generator import publish
    from coretelecoms_dev.summary import (
        bronze_summary,
        conformance_summary,
        features_sample,
        gold_summary,
        most_travelled_complaint,
        quality_summary,
    )

    settings = _settings(args)
    if not settings.uses_embedded_postgres or settings.lake.startswith("s3a://"):
        raise SettingsError("the demo runs on the embedded default: a local lake and no postgres.conformance_url")
    _reset_demo_state(settings)
    print(f"2. generating {args.days} day(s) of sources at scale {args.scale} into {settings.landing}")
    truth = _generate(settings, args.start_date, args.days, args.scale, args.seed)
    print("3. running the pipeline for each day")
    spark = spark_session(settings, app_name="coretelecoms demo")
    results = []
    for day in truth["dates"]:
        run_date = dt.date.fromisoformat(day)
        publish(Path(settings.landing), run_date)  # the upstream overwrites the customers object
        print(f"run {day}")
        results.append(pipeline.run(settings, run_date, spark=spark))
    print()
    print("4. summary tables")
    print("bronze: rows landed per source and day, against the generator's ground truth")
    print(bronze_summary(settings, results, truth))
    print()
    print("silver quality: where every row went (in = clean + repaired + rejected + duplicates)")
    print(quality_summary(results))
    print()
    print("conformance database: complaints loaded and updated, quarantined orphans, replays, status transitions")
    print(conformance_summary(results))
    print(f"conformance database: {mask_dsn(conformance_url(settings))}  (psql \"$(.venv/bin/coretelecoms db url)\")")
    print(f"dq_issues: {lake.silver(settings, DQ_ISSUES)}  "
          f"(coretelecoms sql \"SELECT entity, rule, count(*) FROM dq_issues GROUP BY 1, 2\")")
    print()
    print("gold: complaint_lifecycle, complaints and complaint_features rows changed, status transitions per day")
    print(gold_summary(results))
    print()
    sample = features_sample(spark, settings)
    if sample:
        print(sample)
    example = most_travelled_complaint(truth)
    if example:
        print(f"one complaint's lifecycle: .venv/bin/coretelecoms lifecycle {example}")
    print(f"5. last run's report: {results[-1].report_html[-1] if results[-1].report_html else '-'}"
          "   (.venv/bin/coretelecoms report)")
    return 0


def cmd_bench(args) -> int:
    from coretelecoms_dev.bench import run_bench

    run_bench(_settings(args), args.part, scale=args.scale, values=args.values)
    return 0


def _add_generation_arguments(command: argparse.ArgumentParser, scale_help: str | None = None) -> None:
    # The default days span a month end, so complaint_features shows a month without complaints.
    command.add_argument("--start-date", type=iso_date, default=dt.date(2025, 5, 31))
    command.add_argument("--days", type=int, default=3)
    command.add_argument("--scale", type=float, default=0.01, help=scale_help)
    command.add_argument("--seed", type=int, default=7)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coretelecoms-dev",
                                     description="CoreTelecoms development tools: generated sources, the demo, the bench")
    parser.add_argument("--env", default=None, help="conf/<env>.yaml to use (default: CORETELECOMS_ENV or local)")
    parser.add_argument("--verbose", action="store_true", help="also show Spark's warnings and Python's")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write realistic raw sources into the landing")
    _add_generation_arguments(generate, scale_help="1 = real volumes (2.5M customers, 380k calls/day)")
    generate.set_defaults(func=cmd_generate)

    publish = commands.add_parser("publish", help="make the generated customers file current as of a date")
    publish.add_argument("--date", type=iso_date, required=True)
    publish.set_defaults(func=cmd_publish)

    bench = commands.add_parser("bench", help="measure the pipeline (results under var/bench/)")
    bench.add_argument("part", nargs="?", default="all", choices=("all", "volume", "micro"),
                       help="volume: the dimension load, a daily run and the next day end to end, each next to "
                            "its floor; micro: the cleaners native vs pandas_udf vs Python udf; all (default): both")
    bench.add_argument("--scale", type=float, default=1.0, help="volume: 1 = real volumes (inputs cached per scale)")
    bench.add_argument("--values", type=int, default=1_000_000, help="micro: values per cleaner")
    bench.set_defaults(func=cmd_bench)

    demo = commands.add_parser("demo", help="generate data and run every day on the embedded default")
    _add_generation_arguments(demo)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    return dispatch(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
