"""What `make dist` writes next to the wheel: the Python packages each cloud platform must install,
and a manifest of every artifact.

The requirement lists are read from the wheel's own metadata (setup.py's pins, as built), minus what
a platform already brings, so they cannot drift from the pins. Run as
`python -m coretelecoms.dist DIST_DIR` once DIST_DIR holds the wheel and the entry script.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import sys
import zipfile
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from coretelecoms.platform.jars import PINNED_JARS, cached_jars

GLUE_MODULES = "glue-additional-python-modules.txt"
EMR_REQUIREMENTS = "emr-serverless/requirements.txt"
EMR_BUILD_SCRIPT = "emr-serverless/build-venv.sh"
ENTRY_SCRIPT = "jobs/run_pipeline.py"
# The pinned PostgreSQL JDBC driver (platform/jars.py), passed with --jars / --extra-jars: whether a platform
# has one of its own on the classpath is not something to rely on.
JDBC_JAR = next(jar for jar in PINNED_JARS if jar.artifact == "postgresql")
JDBC_DRIVER = f"jars/{JDBC_JAR.file_name}"
MANIFEST = "MANIFEST.txt"
VENV_PACK = "venv-pack==0.2.0"  # the version AWS's EMR Serverless samples pack with

# Never installed on a cloud platform: the platform brings its own. (pgserver, the embedded PostgreSQL of
# local runs, is no runtime requirement but the `local` extra; no extra is ever in these lists.)
PLATFORM_PROVIDED = {
    "pyspark": "EMR 7.12 and Glue 5.1 run their own Spark 3.5.6",
}
# Glue 5.1 ships these (AWS Glue docs, "Python modules already provided in AWS Glue", 5.1). It ships
# numpy too, but 2.3.4, and Spark 3.5's Python side does not support NumPy 2 (SPEC §1): our pin stays
# in the list and replaces it.
GLUE_PROVIDED = {
    "delta-spark": "`--datalake-formats delta` brings Delta Lake 3.3.2 and its Python library",
    "boto3": "Glue 5.1 ships boto3 1.40.61",
    "pandas": "Glue 5.1 ships pandas 2.3.3 (used only inside Great Expectations)",
    "pyarrow": "Glue 5.1 ships pyarrow 22.0.0 (the jobs have no Arrow-backed UDFs)",
}
# EMR ships the Delta 3.3.2 jars (/usr/share/aws/delta/lib/); the packed environment carries the matching
# Python package for `import delta`, installed without its dependency on pyspark.
WITHOUT_DEPENDENCIES = ("delta-spark",)


def distribution_name(requirement: str) -> str:
    return re.split(r"[=<>!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(entry for entry in archive.namelist() if entry.endswith(".dist-info/METADATA"))
        return message_from_bytes(archive.read(name))


def runtime_requirements(wheel: Path) -> list[str]:
    """The wheel's install requirements, each pinned exactly; extras (`dev`, `local`) are not the cloud's."""
    requirements = [r for r in wheel_metadata(wheel).get_all("Requires-Dist", []) if "extra ==" not in r]
    loose = [r for r in requirements if not re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", r)]
    if loose:
        raise ValueError(f"runtime requirements must be pinned exactly (name==version): {', '.join(loose)}")
    return requirements


def _without(requirements: list[str], *excluded: dict | tuple) -> list[str]:
    names = {name for group in excluded for name in group}
    return [r for r in requirements if distribution_name(r) not in names]


def glue_modules(requirements: list[str]) -> list[str]:
    """The value of Glue's `--additional-python-modules` (comma-separated)."""
    return _without(requirements, PLATFORM_PROVIDED, GLUE_PROVIDED)


def emr_requirements(requirements: list[str]) -> list[str]:
    """What the EMR Serverless environment installs with their dependencies."""
    return _without(requirements, PLATFORM_PROVIDED, WITHOUT_DEPENDENCIES)


def emr_without_dependencies(requirements: list[str]) -> list[str]:
    return [r for r in requirements if distribution_name(r) in WITHOUT_DEPENDENCIES]


def build_venv_script(requirements: list[str], wheel_name: str) -> str:
    no_deps = " ".join([*emr_without_dependencies(requirements), f"../{wheel_name}"])
    return f"""#!/usr/bin/env bash
# The Python environment of an EMR Serverless 7.12 job run (AWS: "Using Python libraries with EMR
# Serverless"): a virtualenv with this project and its requirements, packed with venv-pack. Build it on
# Amazon Linux 2023 with the application's CPU architecture (x86_64 or arm64) and Python 3.11, e.g.
#   docker run --rm --platform linux/amd64 -v "$PWD/dist:/dist" -w /dist/emr-serverless \\
#     public.ecr.aws/amazonlinux/amazonlinux:2023 ./build-venv.sh
# It writes pyspark_venv.tar.gz here: upload it and pass spark.archives=s3://.../pyspark_venv.tar.gz#environment.
set -euo pipefail
cd "$(dirname "$0")"
command -v python3.11 >/dev/null || dnf install -y python3.11
rm -rf build-venv pyspark_venv.tar.gz
python3.11 -m venv build-venv
build-venv/bin/pip install --quiet {VENV_PACK}
build-venv/bin/pip install --quiet -r requirements.txt
# pyspark is the platform's: these are installed without their dependency on it.
build-venv/bin/pip install --quiet --no-deps {no_deps}
build-venv/bin/venv-pack --prefix build-venv --output pyspark_venv.tar.gz
rm -rf build-venv
"""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest(dist: Path, wheel: Path, artifacts: list[str]) -> str:
    """`sha256  path` lines (the format of `sha256sum -c`), under a header naming the version."""
    version = wheel_metadata(wheel)["Version"]
    lines = [f"# coretelecoms {version}: check with `cd dist && sha256sum -c MANIFEST.txt`"]
    lines += [f"{sha256(dist / name)}  {name}" for name in artifacts]
    return "\n".join(lines) + "\n"


def write_dist(dist: Path) -> list[str]:
    """Add the JDBC driver, the requirement lists, the venv recipe and the manifest; return every artifact."""
    wheel = _single_wheel(dist)
    requirements = runtime_requirements(wheel)
    (dist / JDBC_DRIVER).parent.mkdir(parents=True, exist_ok=True)
    cache = {path.name: path for path in cached_jars()}  # a missing jar stops here, naming the fix
    shutil.copyfile(cache[JDBC_JAR.file_name], dist / JDBC_DRIVER)
    generated = {
        GLUE_MODULES: ",".join(glue_modules(requirements)) + "\n",
        EMR_REQUIREMENTS: "\n".join(emr_requirements(requirements)) + "\n",
        EMR_BUILD_SCRIPT: build_venv_script(requirements, wheel.name),
    }
    for name, text in generated.items():
        (dist / name).parent.mkdir(parents=True, exist_ok=True)
        (dist / name).write_text(text)
    (dist / EMR_BUILD_SCRIPT).chmod(0o755)
    artifacts = [wheel.name, ENTRY_SCRIPT, JDBC_DRIVER, *generated]
    missing = [name for name in artifacts if not (dist / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{dist} lacks {', '.join(missing)} (make dist puts them there)")
    (dist / MANIFEST).write_text(manifest(dist, wheel, artifacts))
    return [*artifacts, MANIFEST]


def _single_wheel(dist: Path) -> Path:
    wheels = sorted(dist.glob("coretelecoms-*.whl"))
    if len(wheels) != 1:
        raise FileNotFoundError(f"expected exactly one coretelecoms wheel in {dist}, found {len(wheels)}")
    return wheels[0]


def main(argv: list[str]) -> int:
    dist = Path(argv[0] if argv else "dist")
    for name in write_dist(dist):
        print(dist / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
