"""`make dist`: the wheel, the requirement lists of each platform, the manifest, and what README's
Deployment section tells an operator to upload."""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from coretelecoms import dist as packaging
from coretelecoms.dist import distribution_name

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def setup_py_value(name: str):
    """A literal assigned in setup.py, read rather than imported (importing it would run setup())."""
    tree = ast.parse((PROJECT_ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
        if isinstance(node, ast.keyword) and node.arg == name:
            return ast.literal_eval(node.value)
    raise LookupError(name)


RUNTIME_PINS = setup_py_value("RUNTIME")
LOCAL_PINS = setup_py_value("LOCAL")
VERSION = setup_py_value("version")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """dist/ as `make dist` builds it, from a copy of the sources so the repository stays untouched
    (dev/ included: the development package lies next to the shipped one and must stay out of it)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(PROJECT_ROOT / "setup.py", source)
    for folder in ("lib", "conf", "expectations", "dev"):
        shutil.copytree(PROJECT_ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(source),
                    "-w", str(out)], check=True, cwd=source)
    (out / "jobs").mkdir()
    shutil.copy(PROJECT_ROOT / "jobs" / "run_pipeline.py", out / "jobs")
    packaging.write_dist(out)
    return out


def wheel_of(built: Path) -> Path:
    return built / f"coretelecoms-{VERSION}-py3-none-any.whl"


def test_the_wheel_carries_setup_py_pins_exactly(built):
    assert packaging.runtime_requirements(wheel_of(built)) == RUNTIME_PINS


def test_the_wheel_carries_no_development_tools(built):
    with zipfile.ZipFile(wheel_of(built)) as archive:
        files = archive.namelist()
        importing_dev = [name for name in files if name.endswith(".py") and b"coretelecoms_dev" in archive.read(name)]
    assert [name for name in files if "coretelecoms_dev" in name or "pgserver" in name] == []
    assert [name for name in files if name.rsplit("/", 1)[-1] in ("generator.py", "bench.py")] == []
    assert importing_dev == []  # the shipped package never reaches for the development one


def test_pgserver_is_required_only_by_the_local_extra(built):
    metadata = packaging.wheel_metadata(wheel_of(built))
    pgserver = [requirement.split(";") for requirement in metadata.get_all("Requires-Dist", [])
                if distribution_name(requirement) == "pgserver"]
    assert [(pin.strip(), marker.strip()) for pin, marker in pgserver] == [(LOCAL_PINS[0], 'extra == "local"')]
    assert "local" in metadata.get_all("Provides-Extra", [])


def test_no_cloud_install_list_names_pgserver_or_the_development_package(built):
    for name in (packaging.GLUE_MODULES, packaging.EMR_REQUIREMENTS, packaging.EMR_BUILD_SCRIPT, packaging.MANIFEST):
        text = (built / name).read_text()
        assert "pgserver" not in text and "coretelecoms_dev" not in text and "coretelecoms-dev" not in text, name


def test_glue_modules_are_the_pins_minus_what_glue_brings(built):
    excluded = packaging.PLATFORM_PROVIDED.keys() | packaging.GLUE_PROVIDED.keys()
    line = (built / packaging.GLUE_MODULES).read_text()
    assert line.endswith("\n") and "\n" not in line.rstrip("\n")
    assert line.rstrip("\n").split(",") == [pin for pin in RUNTIME_PINS if distribution_name(pin) not in excluded]
    numpy = next(pin for pin in RUNTIME_PINS if distribution_name(pin) == "numpy")
    assert numpy in line  # Glue's NumPy 2 is replaced, not kept


def test_the_emr_environment_installs_every_pin_but_what_emr_brings(built):
    requirements = (built / packaging.EMR_REQUIREMENTS).read_text().split()
    script = (built / packaging.EMR_BUILD_SCRIPT).read_text()
    no_deps = re.search(r"pip install --quiet --no-deps (.+)", script).group(1).split()
    assert sorted(requirements + no_deps[:-1]) == sorted(
        pin for pin in RUNTIME_PINS if distribution_name(pin) not in packaging.PLATFORM_PROVIDED)
    assert no_deps[-1] == f"../{wheel_of(built).name}"
    assert os.access(built / packaging.EMR_BUILD_SCRIPT, os.X_OK)
    subprocess.run(["bash", "-n", str(built / packaging.EMR_BUILD_SCRIPT)], check=True)


def test_every_exclusion_is_a_pinned_package_with_its_reason():
    pinned = {distribution_name(pin) for pin in RUNTIME_PINS}
    for exclusions in (packaging.PLATFORM_PROVIDED, packaging.GLUE_PROVIDED, dict.fromkeys(packaging.WITHOUT_DEPENDENCIES, "-")):
        assert exclusions.keys() <= pinned
        assert all(reason.strip() for reason in exclusions.values())


def test_the_manifest_checks_every_artifact(built):
    header, *lines = (built / packaging.MANIFEST).read_text().splitlines()
    assert f"coretelecoms {VERSION}" in header
    listed = dict(reversed(line.split("  ", 1)) for line in lines)
    produced = {str(path.relative_to(built)) for path in built.rglob("*") if path.is_file()} - {packaging.MANIFEST}
    assert listed.keys() == produced
    for name, digest in listed.items():
        assert hashlib.sha256((built / name).read_bytes()).hexdigest() == digest, name


def test_what_the_deployment_section_uploads_is_what_make_dist_builds(built):
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n## Deployment\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"(?<![/\w])dist/([\w./-]+\w)", section))
    built_elsewhere = {"emr-serverless/pyspark_venv.tar.gz"}  # by build-venv.sh on Amazon Linux, not here
    assert {name for name in named if not (built / name).is_file()} == built_elsewhere
    assert len(named) > len(built_elsewhere)


def test_the_wheel_imported_as_a_zip_finds_its_conf_and_expectations(built):
    """As under Glue, where --extra-py-files puts the wheel itself on the Python path."""
    probe = ("import json, coretelecoms, coretelecoms.packaged as p\n"
             "print(json.dumps([coretelecoms.__file__, {name: sorted(f.name for f in p.folder(name).iterdir())"
             " for name in ('conf', 'expectations')}, (p.folder('conf') / 'glue.yaml').read_text()]))")
    environment = {**os.environ, "PYTHONPATH": str(wheel_of(built))}
    done = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True,
                          cwd=built)
    module_file, folders, glue_yaml = json.loads(done.stdout)
    assert module_file.startswith(str(wheel_of(built)))
    assert folders == {"conf": sorted(p.name for p in (PROJECT_ROOT / "conf").glob("*.yaml")),
                       "expectations": sorted(p.name for p in (PROJECT_ROOT / "expectations").glob("*.json"))}
    assert glue_yaml == (PROJECT_ROOT / "conf" / "glue.yaml").read_text()
