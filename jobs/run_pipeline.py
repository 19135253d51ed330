"""spark-submit entry point: run the pipeline for one date.

    spark-submit jobs/run_pipeline.py --date 2025-06-01 [--stage bronze] [--env emr]

Exit codes: 0 success, 1 failure, 2 bad settings, 3 an input is not ready yet (not a failure).
"""
import argparse
import datetime as dt
import sys

from coretelecoms import pipeline
from coretelecoms.cli import EXIT_SETTINGS
from coretelecoms.platform.settings import SettingsError, load_settings


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--stage", default=pipeline.STAGES[-1], choices=pipeline.STAGES, help="run up to and including this stage")
    parser.add_argument("--env", default=None)
    return parser.parse_args(argv)


def main(argv):
    args = parse_arguments(argv)
    try:
        settings = load_settings(env=args.env)
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_SETTINGS
    stages = pipeline.stages_up_to(args.stage)
    result = pipeline.run(settings, args.date, stages=stages)
    print(f"run {result.run_id}: {result.status}")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
