"""The Terraform in infra/: it parses, checkov passes it, and it agrees with the code it deploys.

- every infra/*.tf parses (python-hcl2);
- checkov finds no failed check, and every skip is an inline `#checkov:skip=ID:reason` with a reason;
- the Glue jobs and the scheduled EMR Serverless run start a script that exists in jobs/, with
  arguments that script's parser accepts (and settings that conf/<env>.yaml knows);
- no output carries a secret and no secret value is managed by Terraform;
- the lake's lifecycle: bronze sources to Glacier after 90 days, dq_issues deleted after 365 days,
  manifests untouched.

checkov runs from its own virtual environment (var/tools/checkov, built on first use by
infra/tools/install_checkov.py from pinned requirements), offline: no mapping download, no API key.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2.utils import SerializationOptions

from coretelecoms.platform.tables import ENTITIES

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
JOBS = ROOT / "jobs"
CONF = ROOT / "conf"
ENTRY_SCRIPT = JOBS / "run_pipeline.py"

# Job arguments that AWS Glue itself defines and consumes (AWS Glue docs, "Using job parameters in
# AWS Glue jobs"): they reach the script's argv, which tolerates them; every other default argument
# of a Glue job must be one of the script's own options.
GLUE_RESERVED = frozenset({
    "--JOB_NAME", "--JOB_ID", "--JOB_RUN_ID", "--SECURITY_CONFIGURATION", "--TempDir",
    "--additional-python-modules", "--python-modules-installer-option", "--auto-scale-within-microbatch",
    "--class", "--conf", "--continuous-log-conversionPattern", "--continuous-log-logGroup",
    "--continuous-log-logStreamPrefix", "--customer-driver-env-vars", "--customer-executor-env-vars",
    "--datalake-formats", "--disable-proxy-v2", "--enable-auto-scaling",
    "--enable-continuous-cloudwatch-log", "--enable-continuous-log-filter", "--enable-glue-datacatalog",
    "--enable-job-insights", "--enable-lakeformation-fine-grained-access", "--enable-metrics",
    "--enable-observability-metrics", "--enable-rename-algorithm-v2", "--enable-s3-parquet-optimized-committer",
    "--enable-spark-ui", "--executor-cores", "--extra-files", "--extra-jars", "--extra-py-files",
    "--job-bookmark-option", "--job-language", "--scriptLocation", "--spark-event-logs-path",
    "--user-jars-first",
})

SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?$")
MIN_REASON = 20  # characters: a justification, not a placeholder
LOCAL_REF = re.compile(r"\$\{local\.([A-Za-z0-9_]+)\}")
JSONENCODE_LOCAL = re.compile(r"\$\{jsonencode\(local\.([A-Za-z0-9_]+)\)\}")
SECRET_NAME = re.compile(r"password|passwd|secret_string|secret_value|private_key|token|credential|"
                         r"connection_string|conn_str|dsn|(^|_)url$", re.IGNORECASE)
SECRET_ALLOWED_SUFFIX = re.compile(r"_(arn|arns|id|ids|name|names)$")
CREDENTIALS_IN_URL = re.compile(r"://[^/\s@]*:[^/\s@]*@")
SECRET_VALUE_ATTRIBUTES = re.compile(r"\.(password|secret_string|secret_binary|master_password)\b"
                                     r"|aws_secretsmanager_secret_version|random_password")

PARSE_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


# ---------------------------------------------------------------------------------------------------
# Reading the configuration
# ---------------------------------------------------------------------------------------------------

def tf_files() -> list[Path]:
    return sorted(INFRA.glob("*.tf"))


@functools.lru_cache(maxsize=1)
def configuration() -> dict[str, Any]:
    """All of infra/*.tf: resources[type][name], data[type][name], locals, variables, outputs."""
    merged: dict[str, Any] = {"resource": {}, "data": {}, "locals": {}, "variable": {}, "output": {}}
    for path in tf_files():
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=PARSE_OPTIONS)
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for type_, named in block.items():
                    for name, body in named.items():
                        assert name not in merged[kind].setdefault(type_, {}), f"{kind} {type_}.{name} twice"
                        merged[kind][type_][name] = body
        for block in parsed.get("locals", []):
            merged["locals"].update(block)
        for kind in ("variable", "output"):
            for block in parsed.get(kind, []):
                merged[kind].update(block)
    return merged


def resources(type_: str) -> dict[str, dict]:
    return configuration()["resource"].get(type_, {})


def resolve(value: Any, each_key: str | None = None) -> Any:
    """Substitute what is statically known: `local.*` references (recursively), `jsonencode(local.x)`
    (to the object it encodes) and `each.key`. Anything else stays as its `${...}` text."""
    local_values = configuration()["locals"]
    if isinstance(value, dict):
        return {key: resolve(item, each_key) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, each_key) for item in value]
    if not isinstance(value, str):
        return value
    if each_key is not None:
        value = value.replace("${each.key}", each_key)
    whole = LOCAL_REF.fullmatch(value) or JSONENCODE_LOCAL.fullmatch(value)
    if whole:
        return resolve(local_values[whole.group(1)], each_key)

    def inline(match: re.Match) -> str:
        resolved = resolve(local_values[match.group(1)], each_key)
        return resolved if isinstance(resolved, str) else match.group(0)

    return LOCAL_REF.sub(inline, value)


def for_each_keys(body: dict) -> list[str | None]:
    """The keys a resource is instantiated for (None for a single instance)."""
    if "for_each" not in body:
        return [None]
    keys = resolve(body["for_each"])
    assert isinstance(keys, dict), f"for_each {body['for_each']} is not a statically known map"
    return list(keys)


@functools.lru_cache(maxsize=1)
def entry_script_parser():
    """jobs/run_pipeline.py's own argparse parser, from its build_parser()."""
    spec = importlib.util.spec_from_file_location("run_pipeline_under_test", ENTRY_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    build_parser = getattr(module, "build_parser", None)
    assert callable(build_parser), (
        f"{ENTRY_SCRIPT.relative_to(ROOT)} must expose build_parser() returning its argparse.ArgumentParser: "
        "infra/ passes it job arguments and this test checks them against that parser"
    )
    return build_parser()


def accepted_options() -> set[str]:
    return {option for action in entry_script_parser()._actions for option in action.option_strings}


def check_arguments(where: str, argv: list[str]) -> None:
    """Every flag is one the script accepts, and the script's parser takes the whole argv."""
    unknown = sorted({arg for arg in argv if arg.startswith("--")} - accepted_options())
    assert not unknown, f"{where} passes {unknown}, which {ENTRY_SCRIPT.name} does not accept ({sorted(accepted_options())})"
    try:
        entry_script_parser().parse_args(argv)
    except SystemExit as exit:
        pytest.fail(f"{where}: {ENTRY_SCRIPT.name} rejects {argv} (exit {exit.code})")


def settings_argument(value: Any) -> str:
    """The --settings value as the script receives it (unresolved interpolations kept as text)."""
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def check_settings(where: str, settings: Any, env: str) -> None:
    """The --settings object only holds keys of conf/<env>.yaml (the script refuses unknown ones) and
    only the value types it takes (string, number, boolean)."""
    assert isinstance(settings, dict), f"{where}: --settings must be jsonencode() of a local object, got {settings!r}"
    with (CONF / f"{env}.yaml").open() as handle:
        known = yaml.safe_load(handle)

    def walk(tree: dict, node: Any, path: str) -> None:
        for key, value in tree.items():
            dotted = f"{path}{key}"
            assert isinstance(node, dict) and key in node, (
                f"{where}: setting '{dotted}' is not a key of conf/{env}.yaml; the job would stop with a "
                "configuration error (add the key to conf/ and the code, or drop it from infra/)"
            )
            if isinstance(value, dict):
                walk(value, node[key], dotted + ".")
            else:
                assert isinstance(value, (str, int, float, bool)), f"{where}: setting '{dotted}' is {value!r}"

    walk(settings, known, "")


def script_name(location: Any, where: str) -> str:
    assert isinstance(location, str) and "/" in location, f"{where}: script location {location!r}"
    name = location.rsplit("/", 1)[-1]
    assert (JOBS / name).is_file(), f"{where} runs '{name}', which is not a script in jobs/ ({location})"
    return name


# ---------------------------------------------------------------------------------------------------
# 1. Parsing
# ---------------------------------------------------------------------------------------------------

def test_there_is_terraform_to_check():
    assert len(tf_files()) >= 10, f"expected the infra/*.tf files, found {[p.name for p in tf_files()]}"


@pytest.mark.parametrize("path", tf_files(), ids=lambda path: path.name)
def test_every_tf_file_parses(path):
    with path.open() as handle:
        parsed = hcl2.load(handle)
    assert parsed, f"{path.name} is empty"


def test_terraform_fmt_is_clean():
    """Formatting is checked where the terraform binary exists (it needs no provider or network)."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("no terraform binary on this machine; the HCL is still parsed and checkov-scanned")
    result = subprocess.run([terraform, "fmt", "-check", "-recursive", "-list=true", str(INFRA)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"not `terraform fmt`-formatted: {result.stdout.split()} {result.stderr.strip()}"


# ---------------------------------------------------------------------------------------------------
# 2. checkov
# ---------------------------------------------------------------------------------------------------

def checkov_executable() -> str:
    if os.environ.get("CHECKOV"):
        return os.environ["CHECKOV"]
    spec = importlib.util.spec_from_file_location("install_checkov", INFRA / "tools" / "install_checkov.py")
    installer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(installer)
    try:
        return str(installer.install())
    except subprocess.CalledProcessError as error:
        pytest.fail(f"could not install checkov into var/tools/checkov (PyPI needed the first time): {error}")


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    env = {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",  # no download of the Prisma Cloud guideline mapping
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("BC_API_KEY", None)  # never talk to the platform
    # Not --quiet: that drops the skipped checks from the JSON, and their reasons are checked below.
    command = [checkov_executable(), "--directory", str(INFRA), "--framework", "terraform",
               "--compact", "--output", "json", "--skip-download", "--download-external-modules", "false"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert result.stdout.strip(), f"checkov printed nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    terraform = [r for r in reports if r.get("check_type") == "terraform"]
    assert len(terraform) == 1, f"no terraform report from checkov: {result.stdout[:500]}"
    return terraform[0]


def test_checkov_passes(checkov_report):
    summary = checkov_report["summary"]
    failed = checkov_report.get("results", {}).get("failed_checks", [])
    assert summary["parsing_errors"] == 0, f"checkov could not parse infra/: {summary}"
    assert summary["resource_count"] > 0 and summary["passed"] > 0, f"checkov checked nothing: {summary}"
    assert not failed, "checkov failed:\n" + "\n".join(
        f"  {c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']}): {c['check_name']}" for c in failed
    )


def skip_comments() -> list[tuple[str, int, str, str]]:
    found = []
    for path in tf_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = SKIP_COMMENT.search(line.strip())
            if match:
                found.append((path.name, number, match.group(1), (match.group(2) or "").strip()))
    return found


def test_every_checkov_skip_is_inline_with_a_reason(checkov_report):
    for file, line, check, reason in skip_comments():
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), f"{file}:{line}: skip of '{check}', not a checkov AWS check id"
        assert len(reason) >= MIN_REASON, f"{file}:{line}: skip of {check} needs a real justification, got {reason!r}"
    skipped = checkov_report.get("results", {}).get("skipped_checks", [])
    for check in skipped:
        assert (check.get("check_result", {}).get("suppress_comment") or "").strip(), (
            f"{check['check_id']} on {check['resource']} was skipped without an inline reason"
        )
    used = {check["check_id"] for check in skipped}
    stale = [f"{file}:{line} {check}" for file, line, check, _ in skip_comments() if check not in used]
    assert not stale, f"skip comments that skip nothing (remove them): {stale}"


# ---------------------------------------------------------------------------------------------------
# 3. What the platforms run: the entry script and its arguments
# ---------------------------------------------------------------------------------------------------

def test_glue_jobs_run_the_entry_script_with_its_arguments():
    jobs = resources("aws_glue_job")
    assert set(jobs) and all("command" in body for body in jobs.values()), "no Glue job in infra/"
    scopes = []
    for name, body in jobs.items():
        for key in for_each_keys(body):
            where = f"aws_glue_job.{name}" + (f'["{key}"]' if key else "")
            command = body["command"][0]
            assert command["name"] == "glueetl" and body["glue_version"] == "5.1", f"{where}: a Glue 5.1 Spark job"
            script_name(resolve(command["script_location"], key), where)
            arguments = resolve(body.get("default_arguments", {}), key)
            own = {flag: value for flag, value in arguments.items() if flag not in GLUE_RESERVED}
            argv = [item for flag, value in own.items() for item in (flag, settings_argument(value))]
            check_arguments(where, argv)
            check_settings(where, arguments.get("--settings", {}), "glue")
            assert arguments.get("--env") == "glue", f"{where} must run with --env glue"
            assert arguments.get("--job-bookmark-option") == "job-bookmark-disable", f"{where}: bookmarks off"
            assert arguments.get("--datalake-formats") == "delta", f"{where}: --datalake-formats delta"
            assert body.get("security_configuration"), f"{where}: no security configuration"
            scopes.append(arguments.get("--scope"))
    assert sorted(scopes) == ["complaints", "dimensions"], f"expected a dimensions and a complaints job, got {scopes}"


def test_glue_workflow_runs_dimensions_then_complaints():
    triggers = resources("aws_glue_trigger")
    scheduled = [t for t in triggers.values() if t["type"] == "SCHEDULED"]
    conditional = [t for t in triggers.values() if t["type"] == "CONDITIONAL"]
    assert len(scheduled) == 1 and len(conditional) == 1, "one SCHEDULED and one CONDITIONAL trigger"
    assert scheduled[0]["actions"][0]["job_name"] == '${aws_glue_job.pipeline["dimensions"].name}'
    condition = conditional[0]["predicate"][0]["conditions"][0]
    assert condition["job_name"] == '${aws_glue_job.pipeline["dimensions"].name}' and condition["state"] == "SUCCEEDED"
    assert conditional[0]["actions"][0]["job_name"] == '${aws_glue_job.pipeline["complaints"].name}'
    for trigger in triggers.values():  # arguments a trigger passes override the job's: same rules
        for action in trigger["actions"]:
            arguments = resolve(action.get("arguments", {}))
            own = [flag for flag in arguments if flag not in GLUE_RESERVED]
            unknown = sorted(set(own) - accepted_options())
            assert not unknown, f"a Glue trigger passes {unknown}, which {ENTRY_SCRIPT.name} does not accept"


def test_scheduled_emr_serverless_run_starts_the_entry_script_with_its_arguments():
    schedules = resources("aws_scheduler_schedule")
    assert schedules, "no EventBridge Scheduler schedule in infra/"
    for name, body in schedules.items():
        where = f"aws_scheduler_schedule.{name}"
        target = body["target"][0]
        assert target["arn"].endswith(":scheduler:::aws-sdk:emrserverless:startJobRun"), f"{where}: {target['arn']}"
        request = resolve(target["input"])
        assert isinstance(request, dict), f"{where}: the input must be jsonencode() of a local object"
        assert request.get("ClientToken"), f"{where}: StartJobRun needs a client token (idempotent retries)"
        submit = request["JobDriver"]["SparkSubmit"]
        script_name(submit["EntryPoint"], where)
        argv = [settings_argument(item) for item in submit["EntryPointArguments"]]
        check_arguments(where, argv)
        check_settings(where, submit["EntryPointArguments"][argv.index("--settings") + 1], "emr")
        assert argv[argv.index("--env") + 1] == "emr", f"{where} must run with --env emr"
        parameters = submit["SparkSubmitParameters"]
        for needed in ("spark.archives=", "#environment", "PYSPARK_PYTHON=./environment/bin/python",
                       "io.delta.sql.DeltaSparkSessionExtension", "org.apache.spark.sql.delta.catalog.DeltaCatalog",
                       "/usr/share/aws/delta/lib/delta-spark.jar"):
            assert needed in parameters, f"{where}: sparkSubmitParameters lack {needed}"
        assert parameters.count("spark.jars=") == 1 and " --jars " not in f" {parameters} ", (
            f"{where}: one spark.jars (a separate --jars would replace it)"
        )


def test_the_released_jdbc_driver_is_the_pinned_one():
    from coretelecoms.platform.jars import PINNED_JARS

    default = configuration()["variable"]["postgres_jdbc_jar"]["default"]
    driver = next(jar for jar in PINNED_JARS if jar.artifact == "postgresql")
    assert default == f"jars/{driver.file_name}", f"postgres_jdbc_jar {default} is not the pinned {driver.file_name}"


# ---------------------------------------------------------------------------------------------------
# 4. No secret in outputs or state
# ---------------------------------------------------------------------------------------------------

def test_no_output_carries_a_secret():
    outputs = configuration()["output"]
    assert outputs, "no outputs in infra/"
    for name, body in outputs.items():
        assert not (SECRET_NAME.search(name) and not SECRET_ALLOWED_SUFFIX.search(name)), f"output '{name}' is named like a secret"
        assert "secret" not in name or SECRET_ALLOWED_SUFFIX.search(name), f"output '{name}': a secret's id or ARN only"
        assert body.get("sensitive") in (None, False), f"output '{name}' is marked sensitive: outputs hold no secrets"
        text = json.dumps(resolve(body.get("value")))
        assert not SECRET_VALUE_ATTRIBUTES.search(text), f"output '{name}' exposes a secret value: {text}"
        assert not CREDENTIALS_IN_URL.search(text), f"output '{name}' is a URL with credentials: {text}"
        assert "postgresql://" not in text and "jdbc:" not in text, f"output '{name}' is a connection string"


def test_no_secret_value_is_managed_by_terraform():
    config = configuration()
    assert "aws_secretsmanager_secret_version" not in config["resource"], "secret values are set outside Terraform"
    assert "aws_secretsmanager_secret_version" not in config["data"], "reading a secret value would put it in the state"
    assert "random_password" not in config["resource"], "a generated password would live in the state"
    secrets = resources("aws_secretsmanager_secret")
    assert secrets and all(body.get("kms_key_id") for body in secrets.values()), "secrets are KMS-encrypted"
    for name, body in resources("aws_db_instance").items():
        assert "password" not in body, f"aws_db_instance.{name} sets a password: use manage_master_user_password"
        assert body.get("manage_master_user_password") is True, f"aws_db_instance.{name}: RDS manages the password"
    for name, body in config["variable"].items():
        assert not re.search(r"password|secret_value|token", name, re.IGNORECASE), f"variable '{name}' looks like a secret"


# ---------------------------------------------------------------------------------------------------
# 5. The lake's lifecycle
# ---------------------------------------------------------------------------------------------------

def lake_lifecycle_rules() -> list[dict]:
    lifecycles = [body for body in resources("aws_s3_bucket_lifecycle_configuration").values()
                  if body["bucket"] == "${aws_s3_bucket.lake.id}"]
    assert len(lifecycles) == 1, "one lifecycle configuration on the lake bucket"
    return [rule for rule in lifecycles[0]["rule"] if rule["status"] == "Enabled"]


def rule_prefix(rule: dict) -> str:
    """The rule's key prefix ('' = the whole bucket); only prefix filters are used on the lake."""
    filters = rule.get("filter") or [{}]
    assert len(filters) == 1 and set(filters[0]) <= {"prefix"}, f"rule {rule['id']}: a prefix filter only"
    return filters[0].get("prefix", "")


def removes_or_moves_current_objects(rule: dict) -> bool:
    expirations = [e for e in rule.get("expiration", []) if e.get("days") or e.get("date")]
    return bool(rule.get("transition") or expirations)


def lake_root() -> str:
    root = configuration()["locals"]["lake_root"]
    settings_lake = configuration()["locals"]["pipeline_settings"]["lake"]
    assert settings_lake.endswith("/${local.lake_root}"), f"settings lake {settings_lake} is not under local.lake_root"
    return root


def test_bronze_sources_go_to_glacier_after_90_days():
    rules = lake_lifecycle_rules()
    for source in ENTITIES:
        prefix = f"{lake_root()}/bronze/{source}/"
        matching = [rule for rule in rules if rule_prefix(rule) == prefix]
        assert matching, f"no lifecycle rule for the bronze table {prefix}"
        transitions = [t for rule in matching for t in rule.get("transition", [])]
        assert any(t["days"] == 90 and t["storage_class"].startswith("GLACIER") for t in transitions), (
            f"{prefix}: no transition to a Glacier class after 90 days ({transitions})"
        )


def test_dq_issues_expire_after_a_year():
    prefix = f"{lake_root()}/silver/dq_issues/"
    matching = [rule for rule in lake_lifecycle_rules() if rule_prefix(rule) == prefix]
    expirations = [e for rule in matching for e in rule.get("expiration", [])]
    assert any(e.get("days") == 365 for e in expirations), f"{prefix}: no expiration after 365 days ({expirations})"


@pytest.mark.parametrize("key", [
    "{root}/_manifests/bronze/customers/2025-06-01/customers_dataset.csv.0123456789ab.json",
    "{root}/bronze/_manifests/call_logs/2025-06-01.json",
])
def test_manifests_are_kept(key):
    key = key.format(root=lake_root())
    touching = [rule["id"] for rule in lake_lifecycle_rules()
                if key.startswith(rule_prefix(rule)) and removes_or_moves_current_objects(rule)]
    assert not touching, f"lifecycle rules {touching} would archive or delete the manifest {key}"
