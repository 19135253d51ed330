"""Run the pipeline for one date: the one entry script of `spark-submit` (local, an EMR step, an EMR
Serverless job run) and of the AWS Glue 5.1 jobs, with the same arguments everywhere.

    spark-submit jobs/run_pipeline.py --date 2025-06-01 [--stage gold] [--scope all] [--env emr] \\
        [--settings '{"lake": "s3a://bucket/lake", "postgres": {"secret_id": "coretelecoms/conformance"}}']

Exit codes: 0 success, 1 failure, 2 configuration error, 3 an input is not ready yet (not a failure),
4 an input was refused (wrong structure, or a dimension snapshot that shrank too much; the rest loaded).
`--accept-shrink` lands a snapshot however much it shrank; under Glue, whose job arguments all take a
value, pass `--settings '{"bronze": {"max_snapshot_shrink": 1}}'` instead.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import sys
from pathlib import Path

from coretelecoms import packaged, pipeline
from coretelecoms.cli import quiet_console
from coretelecoms.platform.settings import SettingsError, find_conf_dir, load_settings

EXIT_FAILURE, EXIT_CONFIGURATION = 1, 2
ENVIRONMENTS = ("local", "test", "emr", "glue")
OPTIONAL = ("stage", "env", "scope", "settings")  # --date is the one required argument
DAYS_BACK = {"today": 0, "yesterday": 1}  # the words a schedule uses instead of a date (UTC)


def run_date(text: str) -> dt.date:
    if text in DAYS_BACK:
        return dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=DAYS_BACK[text])
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, today or yesterday, got '{text}'") from None


def setting_overrides(text: str) -> dict[str, str]:
    """A JSON object nested like conf/<env>.yaml, as the dotted overrides of load_settings:
    `{"postgres": {"secret_id": "x"}}` -> `{"postgres.secret_id": "x"}`."""
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None
    if not isinstance(tree, dict):
        raise argparse.ArgumentTypeError("expected a JSON object of settings, nested like conf/<env>.yaml")
    return dict(_flatten(tree))


def _flatten(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        dotted = prefix + key
        if isinstance(value, dict):
            yield from _flatten(value, dotted + ".")
        elif isinstance(value, str):
            yield dotted, value
        elif isinstance(value, (bool, int, float)):
            yield dotted, json.dumps(value)  # true, 8, 0.5: as the YAML would spell them
        else:
            raise argparse.ArgumentTypeError(f"setting '{dotted}' must be a string, number or boolean")


def on_glue() -> bool:
    return importlib.util.find_spec("awsglue") is not None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run_pipeline.py", description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, type=run_date, help="the run date: YYYY-MM-DD, today or yesterday (UTC)")
    parser.add_argument("--stage", default=pipeline.STAGES[-1], choices=pipeline.STAGES,
                        help="run up to and including this stage (default: all of them)")
    parser.add_argument("--env", choices=ENVIRONMENTS,
                        default=os.environ.get("CORETELECOMS_ENV") or ("glue" if on_glue() else "local"),
                        help="conf/<env>.yaml (default: CORETELECOMS_ENV, else glue under Glue, else local)")
    parser.add_argument("--scope", default="all", choices=pipeline.SCOPES,
                        help="all sources, or only the dimensions or only the complaints")
    parser.add_argument("--accept-shrink", action="store_true",
                        help="land a customers or agents snapshot even if it is much smaller than the last one")
    parser.add_argument("--settings", type=setting_overrides, default={},
                        help="JSON object of setting overrides, nested like the YAML (secret ids, never secrets)")
    return parser


def glue_arguments(argv: list[str]) -> list[str]:
    """Our options out of everything a Glue job run passes (--JOB_NAME, --TempDir, ...), through Glue's
    own resolver, which insists on every name it is given: only the optional ones present are asked for."""
    from awsglue.utils import GlueArgumentError, getResolvedOptions

    wanted = ["date", *(name for name in OPTIONAL if _given(name, argv))]
    try:
        resolved = getResolvedOptions(["run_pipeline.py", *argv], wanted)
    except GlueArgumentError as error:
        raise SettingsError(f"job arguments: {error}") from None
    return [item for name in wanted for item in (f"--{name}", resolved[name])]


def _given(name: str, argv: list[str]) -> bool:
    return any(arg == f"--{name}" or arg.startswith(f"--{name}=") for arg in argv)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """The same validation everywhere; under Glue the values come through Glue's resolver first."""
    return build_parser().parse_args(glue_arguments(argv) if on_glue() else argv)


def conf_dir() -> Path:
    """The checkout's conf/ (or CORETELECOMS_CONF_DIR); on a cluster there is none: the wheel's copy."""
    try:
        return find_conf_dir()
    except SettingsError:
        return packaged.folder("conf")


def main(argv: list[str]) -> int:
    quiet_console()  # the log carries our messages, not PySpark's own deprecation warnings
    try:
        args = parse_arguments(argv)
        settings = load_settings(args.env, conf_dir=conf_dir(), overrides=args.settings)
    except SystemExit as exit:  # argparse has printed the usage and what is wrong with the arguments
        return exit.code
    except SettingsError as error:
        return configuration_error(error)
    try:
        result = pipeline.run(settings, args.date, stages=pipeline.stages_up_to(args.stage), scope=args.scope,
                              accept_shrink=args.accept_shrink)
    except SettingsError as error:  # before the run started
        return configuration_error(error)
    except pipeline.RunFailed as failed:  # one masked line with the root cause; the masked trace is in its log
        if isinstance(failed.__cause__, SettingsError):  # a setting only checked when the run needs it
            return configuration_error(failed.__cause__)
        print(failed.explained(), file=sys.stderr)
        if not failed.result.trace_locations:  # the log could not be written (a read-only lake): show it here
            print(failed.result.trace, file=sys.stderr)
        return EXIT_FAILURE
    for outcome in result.rejected_inputs:
        print(f"rejected input {outcome.source} {outcome.location}: {outcome.message}; to fix: {outcome.fix}")
    print(f"run {result.run_id}: {result.status}; report {', '.join(result.report_html) or '(not written)'}")
    return result.exit_code


def configuration_error(error: SettingsError) -> int:
    print(f"configuration error: {error}", file=sys.stderr)
    return EXIT_CONFIGURATION


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
