"""More than one executor JVM: the same generated day, run by `spark-submit jobs/run_pipeline.py` on a
Spark standalone cluster (a master and two one-core workers on 127.0.0.1), leaves the same lake and the
same conformance database as the suite's one-JVM `local` session (the reference run of conftest.py, made
while the cluster runs).

`local` runs every task inside the driver's JVM, so it hides what EMR and Glue hit: closures and rows
that must be serialized to another process, a driver-side assumption (a path, a cache, a Python object)
that an executor does not share, and results that depend on how rows fall into partitions. The tasks
must really run on both executors (counted in each executor's own log, in its worker's work folder).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyspark
import pytest

from coretelecoms.platform.jars import cached_jars
from coretelecoms.platform.postgres import _free_port
from tests.conftest import PROJECT_ROOT, session_database
from tests.hostile.conftest import REFERENCE_DAY as DAY
from tests.hostile.conftest import ReferenceRun
from tests.hostile.state import LAYERS, differences, lake_state, postgres_state

SPARK_HOME = Path(pyspark.__file__).parent  # the pyspark package is a Spark distribution: bin/, jars/
WORKERS = 2
STARTUP_SECONDS = 120  # a master and its workers registered (JVM starts on a busy 2-core machine)
RUN_SECONDS = 900


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("standalone")


@pytest.fixture(scope="module")
def cluster_dsn(embedded_pg):
    yield from session_database(embedded_pg, f"coretelecoms_test_cluster_{os.getpid()}")


def cluster_environment() -> dict[str, str]:
    """Loopback only, this virtualenv's Python on every executor, and this checkout's code (PYTHONPATH
    is inherited by the workers and so by their executors' Python workers)."""
    return {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable, "PYTHONUNBUFFERED": "1"}


def start(command: list[str], log: Path) -> subprocess.Popen:
    """A daemon in a process group of its own (spark-class execs java), its output in `log`."""
    with log.open("wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=cluster_environment(),
                                start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def alive_workers(web_ui: str) -> int:
    try:
        with urllib.request.urlopen(f"{web_ui}/json/", timeout=5) as response:
            return json.load(response)["aliveworkers"]
    except (urllib.error.URLError, ConnectionError, ValueError):
        return 0  # the master's web UI is not up yet


def wait_for_workers(web_ui: str, daemons: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while alive_workers(web_ui) < WORKERS:
        exited = [log.name for daemon, log in zip(daemons, logs) if daemon.poll() is not None]
        assert not exited, f"exited before the cluster was up: {exited}; {tail(logs[0])}"
        assert time.monotonic() < deadline, f"{WORKERS} workers not registered in {STARTUP_SECONDS}s: {tail(logs[0])}"
        time.sleep(0.5)  # the interval between two polls of the master's state


def tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else f"(no {path.name})"


@contextmanager
def standalone_cluster(folder: Path):
    """A standalone master and two workers of one core and 1 GiB each, all stopped however the block
    ends; yields the master's URL once both workers have registered."""
    folder.mkdir()
    port, web_port = _free_port(), _free_port()
    master, spark_class = f"spark://127.0.0.1:{port}", str(SPARK_HOME / "bin" / "spark-class")
    commands = {"master.log": [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(port), "--webui-port", str(web_port)]}
    for index in range(WORKERS):
        commands[f"worker-{index}.log"] = [
            spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
            "--memory", "1g", "--webui-port", "0", "--work-dir", str(folder / f"worker-{index}"), master]
    daemons, logs = [], [folder / name for name in commands]
    try:
        for log, command in zip(logs, commands.values()):
            daemons.append(start(command, log))
        wait_for_workers(f"http://127.0.0.1:{web_port}", daemons, logs)
        yield master
    finally:
        for daemon in reversed(daemons):
            stop(daemon)
        for copy in folder.glob("worker-*/app-*/*/*.jar"):  # each executor's copy of the jars: 290 MB
            copy.unlink()


def submit_command(master: str, settings: dict) -> list[str]:
    """spark-submit of the entry script, two executors of one core. spark_session sets a local
    platform's master itself, so the settings name the cluster too (else test.yaml's local[2] would
    win over --master)."""
    return [
        str(SPARK_HOME / "bin" / "spark-submit"), "--master", master,
        "--jars", ",".join(str(jar) for jar in cached_jars()),
        "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=1g", "--conf", f"spark.cores.max={WORKERS}",
        "jobs/run_pipeline.py", "--env", "test", "--date", DAY.isoformat(),
        "--settings", json.dumps({**settings, "spark": {**settings.get("spark", {}), "master": master}})]


@contextmanager
def submitted(command: list[str], output: Path):
    """spark-submit started in the background (its stdout and stderr in `output`); the block's end
    waits for it, and stops it if the block failed."""
    with output.open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=cluster_environment(), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
        process.wait(timeout=RUN_SECONDS)
    finally:
        stop(process)  # nothing left to stop once it has exited


@dataclass(frozen=True)
class Runs:
    reference: ReferenceRun  # the same day in the suite's one JVM
    cluster_lake: Path
    cluster_exit_code: int
    cluster_output: Path  # spark-submit's stdout and stderr
    cluster_folder: Path  # the daemons' logs and the workers' work folders

    def cluster_output_tail(self) -> str:
        return f"spark-submit exited {self.cluster_exit_code}; its output ends:\n{tail(self.cluster_output)}"


@pytest.fixture(scope="module")
def runs(request, root, reference_landing, source_dsn, cluster_dsn) -> Runs:
    """The cluster's run of the day, in its own processes, lake and database; the suite's session makes
    the reference meanwhile, unless an earlier module has (the landing and source are only read)."""
    # Other partition counts than test.yaml's 2: the rows meet in other partitions, and tasks, than in the
    # reference run, so a result that depends on partitioning differs.
    settings = {**{key: str(root / "cluster_run" / key) for key in ("lake", "runs", "data_docs")},
                "landing": str(reference_landing), "jdbc": {"read_partitions": 3}, "spark": {"shuffle_partitions": 3},
                "postgres": {"source_url": source_dsn, "conformance_url": cluster_dsn}}
    with standalone_cluster(root / "cluster") as master:  # stopped as soon as its run is over
        with submitted(submit_command(master, settings), root / "spark-submit.log") as cluster_run:
            reference = request.getfixturevalue("reference_run")
    return Runs(reference, Path(settings["lake"]), cluster_run.returncode, root / "spark-submit.log", root / "cluster")


def tasks_finished_by_executor(cluster_folder: Path) -> dict[str, int]:
    """`worker/app/executor` -> the tasks it finished, from the executor's log (INFO, Spark's default)."""
    return {str(log.parent.relative_to(cluster_folder)): log.read_text(errors="replace").count("INFO Executor: Finished task")
            for log in sorted(cluster_folder.glob("worker-*/app-*/*/stderr"))}


def test_the_cluster_run_succeeds_with_tasks_on_both_executors(runs):
    assert runs.cluster_exit_code == 0, runs.cluster_output_tail()
    assert ": succeeded; report " in runs.cluster_output.read_text(), runs.cluster_output_tail()
    finished = tasks_finished_by_executor(runs.cluster_folder)
    assert len(finished) == WORKERS and all(finished.values()), finished


def test_the_lake_is_the_one_a_single_jvm_leaves(spark, runs):
    assert runs.cluster_exit_code == 0, runs.cluster_output_tail()
    local = lake_state(spark, str(runs.reference.lake))
    assert {table.split("/")[0] for table, rows in local.items() if rows} == set(LAYERS)  # not two empty lakes
    assert differences(local, lake_state(spark, str(runs.cluster_lake))) == {}


def test_the_conformance_database_is_the_one_a_single_jvm_leaves(runs, cluster_dsn):
    assert runs.cluster_exit_code == 0, runs.cluster_output_tail()
    local = postgres_state(runs.reference.dsn)
    assert local["customers"] and local["call_logs"]  # not two empty databases
    assert differences(local, postgres_state(cluster_dsn)) == {}
