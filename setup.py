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
    "great-expectations==1.9.3",
]

# Only local runs start the embedded PostgreSQL; EMR and Glue connect to RDS and never install it.
LOCAL = [
    "pgserver==0.1.4",  # ships the PostgreSQL 16 binaries of the embedded default
]

DEV = [
    "pytest==8.3.4",
    "chispa==0.10.1",
    "hypothesis==6.122.3",
    "ruff==0.8.6",
    "import-linter==2.17",  # the layering contract in .importlinter (tests/test_architecture.py)
    "wheel==0.45.1",  # `make dist` builds offline (--no-build-isolation); setuptools 65 needs it for bdist_wheel
    # A real S3, STS and Secrets Manager on loopback for tests/cloud; 5.0.26 is of boto3 1.35's time.
    "moto[server]==5.0.26",
    # notebooks/explore.ipynb, executed headlessly by tests/test_notebook.py.
    "matplotlib==3.9.4",
    "ipykernel==6.29.5",
    "nbclient==0.10.2",
    "nbformat==5.10.4",
    # Parses infra/*.tf for tests/infra (checkov runs in its own venv: infra/tools/install_checkov.py).
    "python-hcl2==8.1.4",
]

setup(
    name="coretelecoms",
    version="0.1.0",
    description="CoreTelecoms complaint pipeline: Spark batch jobs from five sources to a PostgreSQL conformance database",
    python_requires=">=3.11,<3.12",
    # conf/ and expectations/ travel inside the wheel: a cluster has no checkout (coretelecoms.packaged).
    package_dir={"": "lib", "coretelecoms.conf": "conf", "coretelecoms.expectations": "expectations"},
    packages=find_packages("lib") + ["coretelecoms.conf", "coretelecoms.expectations"],
    package_data={
        "coretelecoms.conformance": ["migrations/*.sql"],
        "coretelecoms.platform": ["log4j2.properties"],
        "coretelecoms.conf": ["*.yaml"],
        "coretelecoms.expectations": ["*.json"],
    },
    install_requires=RUNTIME,
    extras_require={"dev": DEV, "local": LOCAL},
    entry_points={"console_scripts": ["coretelecoms=coretelecoms.cli:main"]},
)
