"""Installs the `coretelecoms` package from lib/ with the runtime pinned in SPEC §1."""
from setuptools import find_packages, setup

RUNTIME = [
    "pyspark==3.5.6",
    "delta-spark==3.3.2",
    "numpy==1.26.4",  # Spark 3.5's Python side does not support NumPy 2
    "pandas==2.2.3",
    "pyarrow==17.0.0",
    "boto3==1.35.99",
    "gspread==6.1.4",
    "psycopg2-binary==2.9.10",
    "PyYAML==6.0.2",
    "pgserver==0.1.4",  # ships the PostgreSQL 16 binaries of the embedded default
    "great-expectations==1.9.3",
]

DEV = [
    "pytest==8.3.4",
    "chispa==0.10.1",
    "hypothesis==6.122.3",
    "ruff==0.8.6",
]

setup(
    name="coretelecoms",
    version="0.1.0",
    description="CoreTelecoms complaint pipeline: Spark batch jobs from five sources to a PostgreSQL conformance database",
    python_requires=">=3.11,<3.12",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    package_data={"coretelecoms.conformance": ["migrations/*.sql"]},
    install_requires=RUNTIME,
    extras_require={"dev": DEV},
    entry_points={"console_scripts": ["coretelecoms=coretelecoms.cli:main"]},
)
