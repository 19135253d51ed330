"""The layering is a checked contract: import-linter's layers (.importlinter), no module importing another
package's private names, and every lake location built in platform/lake.py alone."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

PACKAGES = (PROJECT_ROOT / "lib" / "coretelecoms", PROJECT_ROOT / "dev" / "coretelecoms_dev")
LAKE_MODULE = PROJECT_ROOT / "lib" / "coretelecoms" / "platform" / "lake.py"
LAKE_FOLDERS = {"bronze", "silver", "gold", "_runs", "_manifests", "_quality", "_state", "_data_docs"}


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in package.rglob("*.py"))


def package_of(module: str) -> str:
    return module.rsplit(".", 1)[0]


def dotted(path: Path) -> str:
    root = path.parents[len(path.relative_to(PROJECT_ROOT).parts) - 2]  # lib/ or dev/
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def test_imports_follow_the_layers():
    lint = Path(sys.executable).with_name("lint-imports")
    checked = subprocess.run([str(lint)], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 broken" in checked.stdout


def test_no_module_imports_a_private_name_of_another_package():
    found = []
    for path in modules():
        importer = dotted(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coretelecoms"):
                if package_of(node.module) != package_of(importer) and node.module != package_of(importer):
                    found += [f"{importer}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert found == []


def test_lake_locations_are_built_only_in_platform_lake():
    """No call or f-string outside platform/lake.py puts a lake folder name next to the lake root."""
    found = []
    for path in modules():
        if path == LAKE_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                parts = node.args
            elif isinstance(node, ast.JoinedStr):
                parts = node.values
            else:
                continue
            names_the_lake = any(isinstance(p, ast.Attribute) and p.attr == "lake" for p in ast.walk(node))
            folders = {p.value.strip("/") for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)}
            if names_the_lake and folders & LAKE_FOLDERS:
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert found == []
