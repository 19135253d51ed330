"""The only place that creates Spark sessions: local (our cached jars), EMR and Glue (the platform's)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from py4j.java_gateway import JavaClass
from pyspark.sql import SparkSession

from coretelecoms.platform.jars import MissingJarsError, cached_jars
from coretelecoms.platform.settings import Settings

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

COMMON_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # Lineage and event times are wall-clock strings in the sources; never reinterpret them.
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.databricks.delta.schema.autoMerge.enabled": "false",
}


class JavaNotFoundError(RuntimeError):
    pass


def check_java() -> str:
    """Spark 3.5 here is pinned to Java 17; anything else fails now with the fix, not later in the JVM."""
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not os.path.exists(java):
        raise JavaNotFoundError("Java 17 is required but no `java` was found: install OpenJDK 17 and/or set JAVA_HOME")
    banner = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', banner)
    if not match or match.group(1) != "17":
        raise JavaNotFoundError(
            f"Java 17 is required, found: {banner.splitlines()[0] if banner else 'unknown'} at {java}; "
            "install OpenJDK 17 and point JAVA_HOME at it"
        )
    return java


def spark_session(settings: Settings, app_name: str = "coretelecoms") -> SparkSession:
    builder = SparkSession.builder.appName(app_name)
    conf = {**COMMON_CONF, **DELTA_CONF, "spark.sql.shuffle.partitions": str(settings.spark.shuffle_partitions)}
    if settings.platform == "local":
        check_java()
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # a local session talks to nothing but loopback
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this venv's pandas/pyarrow
        conf.update(_local_conf(settings))
        builder = builder.master(settings.spark.master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    if settings.platform == "local":
        _require_delta_classes(spark)
    return spark


def _require_delta_classes(spark: SparkSession) -> None:
    """Under a local spark-submit the JVM starts before our `spark.jars`: the jars must be on its
    command line, and without them Delta would fail later with an obscure py4j error."""
    if not isinstance(spark._jvm.io.delta.tables.DeltaTable, JavaClass):  # a JavaPackage when not loadable
        jars = ",".join(str(path) for path in cached_jars())
        raise MissingJarsError(
            "the Delta classes are not on the driver's classpath. Under spark-submit, pass the cached jars: "
            f"spark-submit --jars {jars} jobs/run_pipeline.py ..."
        )


def _local_conf(settings: Settings) -> dict[str, str]:
    conf = {
        "spark.jars": ",".join(str(path) for path in cached_jars()),
        "spark.ui.enabled": str(settings.spark.ui).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": settings.spark.driver_memory or "2g",
        # Small local lake: fewer, larger files and no needless broadcast timeouts.
        "spark.sql.adaptive.enabled": "true",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.warehouse.dir": os.path.join(settings.project_root, "var", "spark-warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={os.path.join(settings.project_root, 'var', 'derby')}",
    }
    if settings.lake.startswith("s3a://") or settings.landing.startswith("s3a://"):
        conf["spark.hadoop.fs.s3a.impl"] = "org.apache.hadoop.fs.s3a.S3AFileSystem"
    return conf
