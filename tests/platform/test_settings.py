import os
from pathlib import Path

import pytest
import yaml

from coretelecoms.platform.settings import SettingsError, load_settings

CONF = Path(__file__).resolve().parents[2] / "conf"


def write_conf(folder: Path, **changes) -> Path:
    tree = yaml.safe_load((CONF / "local.yaml").read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = tree
        for part in parents:
            node = node[part]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    conf = folder / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "local.yaml").write_text(yaml.safe_dump(tree))
    return conf


@pytest.mark.parametrize("env", ["local", "test"])
def test_shipped_local_configurations_load(env):
    settings = load_settings(env=env, conf_dir=CONF)
    assert settings.platform == "local"
    assert settings.uses_embedded_postgres
    assert Path(settings.lake).is_absolute()


@pytest.mark.parametrize("env", ["emr", "glue"])
def test_cloud_configurations_name_the_first_missing_key(env, monkeypatch):
    for name in list(os.environ):
        if name.startswith("CORETELECOMS__"):
            monkeypatch.delenv(name)
    with pytest.raises(SettingsError, match=r"'landing' is required .*CORETELECOMS__LANDING"):
        load_settings(env=env, conf_dir=CONF)


def test_cloud_configuration_complete_from_environment(monkeypatch):
    monkeypatch.setenv("CORETELECOMS__LANDING", "s3a://source-bucket")
    monkeypatch.setenv("CORETELECOMS__LAKE", "s3a://lake-bucket/lake")
    monkeypatch.setenv("CORETELECOMS__POSTGRES__CONFORMANCE_URL", "postgresql://etl:pw@db:5432/coretelecoms")
    monkeypatch.setenv("CORETELECOMS__POSTGRES__SOURCE_URL", "postgresql://ro@src:5432/source")
    monkeypatch.setenv("CORETELECOMS__AGENTS__SPREADSHEET_ID", "sheet-123")
    settings = load_settings(env="emr", conf_dir=CONF)
    assert settings.lake == "s3a://lake-bucket/lake"
    assert settings.runs == "s3a://lake-bucket/lake/_runs"
    assert not settings.uses_embedded_postgres


def test_environment_override_wins_over_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CORETELECOMS__JDBC__FETCH_SIZE", "123")
    assert load_settings(env="local", conf_dir=CONF).jdbc.fetch_size == 123


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"spark.shuffle_partitions": "many"}, r"'spark.shuffle_partitions' must be an integer, got 'many'"),
        ({"jdbc.read_partitions": 0}, r"'jdbc.read_partitions' must be at least 1"),
        ({"agents.reader": "excel"}, r"'agents.reader' is 'excel', expected one of csv, sheets"),
        ({"lake": "s3://bucket/lake"}, r"'lake' must use the s3a:// scheme"),
        ({"lake": "hdfs://namenode/lake"}, r"'lake' must be a folder or an s3a:// URI"),
        ({"landing": None}, r"missing setting 'landing'"),
        ({"spark.ui": "maybe"}, r"'spark.ui' must be true or false"),
        ({"platform": "k8s"}, r"'platform' is 'k8s', expected one of local, emr, glue"),
    ],
)
def test_bad_setting_fails_naming_the_key(tmp_path, changes, message):
    conf = write_conf(tmp_path, **changes)
    with pytest.raises(SettingsError, match=message):
        load_settings(env="local", conf_dir=conf)


def test_unknown_override_key_is_refused(monkeypatch):
    monkeypatch.setenv("CORETELECOMS__POSTGRES__PASSWORD", "x")
    with pytest.raises(SettingsError, match=r"override 'postgres.password': no such key"):
        load_settings(env="local", conf_dir=CONF)


def test_unknown_environment_lists_known_ones():
    with pytest.raises(SettingsError, match=r"unknown environment 'prod'.*known: emr, glue, local, test"):
        load_settings(env="prod", conf_dir=CONF)
