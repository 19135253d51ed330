"""A failed run told to a person: one line with its root cause, and the whole trace for a log file.

Both are masked (DSN passwords, emails, addresses) and bounded: an offending value may be huge.
"""
from __future__ import annotations

import traceback

from coretelecoms.platform.postgres import mask_dsns_in_text
from coretelecoms.reporting.notify import mask_personal_data

LINE_LIMIT = 500


def _masked(text: str) -> str:
    return mask_personal_data(mask_dsns_in_text(text))


def _java_root(error: BaseException) -> str | None:
    """`Class: message` of the innermost cause of a JVM error, which names the real problem
    (`IOException: Mkdirs failed to create ...`) under Spark's and Delta's wrappers."""
    from py4j.protocol import Py4JJavaError

    if not isinstance(error, Py4JJavaError):
        return None
    java = error.java_exception
    while java.getCause() is not None and java.getCause() != java:
        java = java.getCause()
    return f"{java.getClass().getSimpleName()}: {java.getMessage()}"


def root_cause(error: BaseException) -> str:
    """The innermost error of an explicit chain (`raise ... from`), as one bounded, masked line."""
    while error.__cause__ is not None:
        error = error.__cause__
    text = _java_root(error) or f"{type(error).__name__}: {error}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = _masked(lines[0] if lines else type(error).__name__)
    return line if len(line) <= LINE_LIMIT else f"{line[:LINE_LIMIT]}..."


def trace_text(error: BaseException) -> str:
    """The whole Python traceback (the JVM's is inside a Py4JJavaError's text), masked."""
    return _masked("".join(traceback.format_exception(error)))
