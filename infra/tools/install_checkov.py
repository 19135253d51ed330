"""Install checkov, pinned, into its own virtual environment (default var/tools/checkov).

    python infra/tools/install_checkov.py [VENV_DIR]

checkov cannot live in the project's .venv: it pins boto3 1.35.49 (the project pins 1.35.99) and
brings its own HCL parser under the module name `hcl2`, which clashes with python-hcl2. So it gets
an environment of its own, installed from infra/tools/checkov-requirements.txt (the whole dependency
set, pinned) with --no-deps, and stamped with that file's hash: a changed pin reinstalls, an
unchanged one costs nothing. Prints the checkov executable's path. Needs PyPI the first time.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).with_name("checkov-requirements.txt")
DEFAULT_VENV = ROOT / "var" / "tools" / "checkov"
STAMP = ".installed"


def requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def checkov_path(venv_dir: Path) -> Path:
    return venv_dir / "bin" / "checkov"


def is_current(venv_dir: Path) -> bool:
    stamp = venv_dir / STAMP
    return checkov_path(venv_dir).exists() and stamp.is_file() and stamp.read_text().strip() == requirements_hash()


def install(venv_dir: Path = DEFAULT_VENV) -> Path:
    """The checkov executable of `venv_dir`, (re)installed first unless it matches the pins.

    The stamp is written last, so an interrupted install is redone from scratch next time."""
    venv_dir = venv_dir.resolve()
    if is_current(venv_dir):
        return checkov_path(venv_dir)
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    pip = [str(venv_dir / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "--no-deps", "-r", str(REQUIREMENTS)], check=True,
                   env={**os.environ, "PIP_NO_INPUT": "1"})
    (venv_dir / STAMP).write_text(requirements_hash() + "\n")
    return checkov_path(venv_dir)


if __name__ == "__main__":
    print(install(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_VENV))
