"""Installs `coretelecoms_dev`: the generator, the demo and the bench, kept out of the shipped wheel."""
from setuptools import setup

setup(
    name="coretelecoms-dev",
    version="0.1.0",
    description="CoreTelecoms development tools: realistic source data, the demo and the bench",
    python_requires=">=3.11,<3.12",
    packages=["coretelecoms_dev"],
    # The demo and the bench run on the embedded PostgreSQL: the `local` extra.
    install_requires=["coretelecoms[local]"],
    entry_points={"console_scripts": ["coretelecoms-dev=coretelecoms_dev.cli:main"]},
)
