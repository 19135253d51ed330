"""The only place that creates Spark sessions: local (our cached jars), EMR and Glue (the platform's).

S3 access is configured per bucket (`fs.s3a.bucket.<bucket>.*`): the landing bucket and the lake bucket
may each assume their own role (S3A's AssumedRoleCredentialProvider, with the SDK's default chain as the
credentials that assume it), and an endpoint override sends them to an S3-compatible server. Options of
one bucket touch no other, so `configure_s3` can add a run's buckets to a session that is already
running and shared (the test suite's); `spark_session` applies them at creation as well. Hadoop caches
one filesystem per bucket, so a bucket's options must not change once the process has used it. EMR and
Glue bring their own S3 connector and credentials (the instance or job role): there only what the
settings ask for (endpoint, region, roles) is set.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from py4j.java_gateway import JavaClass
from pyspark.sql import SparkSession

from coretelecoms.platform import storage
from coretelecoms.platform.jars import MissingJarsError, cached_jars
from coretelecoms.platform.settings import Settings

QUIET_LOGGING = os.path.join(os.path.dirname(__file__), "log4j2.properties")
VERBOSE_VARIABLE = "CORETELECOMS_VERBOSE"  # "1": Spark's own console logging (`coretelecoms --verbose`)


def verbose() -> bool:
    return os.environ.get(VERBOSE_VARIABLE) == "1"

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
    # New tables get deletion vectors: a MERGE that changes a few rows marks them instead of
    # rewriting every file they live in (the daily changes of customers and complaints are spread
    # over the whole key space, so without them each day rewrote nearly the whole table).
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "true",
}


ASSUMED_ROLE_PROVIDER = "org.apache.hadoop.fs.s3a.auth.AssumedRoleCredentialProvider"
# The AWS SDK's own chain (environment, Java system properties, profile, container and instance role):
# what boto3's default chain is on the Python side.
SDK_DEFAULT_CHAIN = "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"


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
        # glibc gives each busy thread its own malloc arena, which only adds to the resident set (60 MB
        # more at the full-volume peak with a 3 GB heap); two arenas made no run measurably slower.
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
        conf.update(_local_conf(settings))
        builder = builder.master(settings.spark.master)
    # At creation too, so that executors started with this configuration have them from the start.
    conf.update({f"spark.hadoop.{key}": value for key, value in s3a_bucket_options(settings).items()})
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # A local session that is not verbose keeps the quiet level even when getOrCreate returned one
    # started elsewhere; on EMR and Glue warnings go to the platform's logs, as before.
    spark.sparkContext.setLogLevel("ERROR" if settings.platform == "local" and not verbose() else "WARN")
    if settings.platform == "local":
        _require_delta_classes(spark)
    configure_s3(spark, settings)  # getOrCreate may have returned a session created with other settings
    return spark


def configure_s3(spark: SparkSession, settings: Settings) -> None:
    """Reach the buckets of the settings' s3a locations, from Spark (S3A) and from Python (storage)."""
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in s3a_bucket_options(settings).items():
        hadoop_conf.set(key, value)
    storage.use_s3_settings(settings)


def s3a_bucket_options(settings: Settings) -> dict[str, str]:
    """Hadoop options `fs.s3a.bucket.<bucket>.*` for every bucket of the settings' s3a locations."""
    options = {}
    for bucket, role_arn in settings.s3_bucket_roles().items():
        bucket_options = {**_s3a_endpoint_options(settings), **_s3a_credential_options(settings, role_arn)}
        options.update({f"fs.s3a.bucket.{bucket}.{key}": value for key, value in bucket_options.items()})
    return options


def _s3a_endpoint_options(settings: Settings) -> dict[str, str]:
    s3 = settings.s3
    options = {"endpoint.region": s3.region} if s3.region else {}
    if s3.endpoint:
        options.update({
            "endpoint": s3.endpoint,
            "path.style.access": "true",  # a bucket name as a host name needs DNS a private server lacks
            "connection.ssl.enabled": str(s3.endpoint.startswith("https://")).lower(),
        })
    return options


def _s3a_credential_options(settings: Settings, role_arn: str) -> dict[str, str]:
    s3 = settings.s3
    if not role_arn:
        # S3A's own default list lacks the SDK chain's profile and system-property sources; the
        # platforms' connectors have their own credentials, which are left alone.
        return {"aws.credentials.provider": SDK_DEFAULT_CHAIN} if settings.platform == "local" else {}
    options = {
        "aws.credentials.provider": ASSUMED_ROLE_PROVIDER,
        "assumed.role.arn": role_arn,
        "assumed.role.credentials.provider": SDK_DEFAULT_CHAIN,  # what assumes the role
    }
    # STS where the role is used: the override's server, else the region's own endpoint. S3A wants
    # both or neither of endpoint and signing region; an S3-compatible server takes any region.
    sts_endpoint = s3.endpoint or (f"sts.{s3.region}.amazonaws.com" if s3.region else "")
    if sts_endpoint:
        options["assumed.role.sts.endpoint"] = sts_endpoint
        options["assumed.role.sts.endpoint.region"] = s3.region or "us-east-1"
    return options


def _require_delta_classes(spark: SparkSession) -> None:
    """Under a local spark-submit the JVM starts before our `spark.jars`: the jars must be on its
    command line, and without them Delta would fail later with an obscure py4j error."""
    if not isinstance(spark._jvm.io.delta.tables.DeltaTable, JavaClass):  # a JavaPackage when not loadable
        jars = ",".join(str(path) for path in cached_jars())
        raise MissingJarsError(
            "the Delta classes are not on the driver's classpath. Under spark-submit, pass the cached jars: "
            f"spark-submit --jars {jars} jobs/run_pipeline.py ..."
        )


# Spark keeps the last 1,000 jobs, stages and SQL executions (with their plans and task metrics) for
# the UI even when the UI is off. Nothing reads them then, and in one local process they held 1.1 GB of
# heap after two bench rounds at 1% volume (0.3 GB with these limits, no longer growing).
STATUS_RETENTION_WITHOUT_UI = {
    "spark.ui.retainedJobs": "50", "spark.ui.retainedStages": "50", "spark.ui.retainedTasks": "1000",
    "spark.sql.ui.retainedExecutions": "50",
}


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
        # Spark's generated code for the cleaning projections is one method past HotSpot's 8,000-byte
        # limit for JIT compilation: without this flag it runs in the bytecode interpreter (silver took
        # 1.8x as long on 2.5M customers).
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={os.path.join(settings.project_root, 'var', 'derby')} -XX:-DontCompileHugeMethods"
            + ("" if verbose() else f" -Dlog4j2.configurationFile=file:{QUIET_LOGGING}")),
    }
    if not settings.spark.ui:
        conf.update(STATUS_RETENTION_WITHOUT_UI)
    if settings.lake.startswith("s3a://") or settings.landing.startswith("s3a://"):
        conf["spark.hadoop.fs.s3a.impl"] = "org.apache.hadoop.fs.s3a.S3AFileSystem"
    return conf


def sql_literal(text: str) -> str:
    """A Spark SQL string literal (for the few statements that only take SQL text)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
