"""The folders the package needs besides its code, `conf/` and `expectations/`, as real directories.

In a checkout they are the repository's own folders. The wheel carries a copy inside the package
(setup.py maps them there); under Glue the wheel is imported straight from its zip (`--extra-py-files`),
so the copy is written out once to a temporary folder, because the settings and Great Expectations
read plain files.
"""
from __future__ import annotations

import functools
import tempfile
from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]  # lib/coretelecoms/packaged.py -> the repository


@functools.cache
def folder(name: str) -> Path:
    """`conf` or `expectations`: the checkout's folder, else the wheel's copy."""
    if (CHECKOUT / "setup.py").is_file() and (CHECKOUT / name).is_dir():
        return CHECKOUT / name
    packaged = resources.files(__package__).joinpath(name)
    if isinstance(packaged, Path):
        return packaged
    unpacked = Path(tempfile.mkdtemp(prefix=f"coretelecoms-{name}-"))
    for entry in packaged.iterdir():
        (unpacked / entry.name).write_bytes(entry.read_bytes())
    return unpacked
