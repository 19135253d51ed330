"""The pinned JVM jars of SPEC §1: fetched once from Maven Central, verified, then used offline.

EMR and Glue ship their own Delta, S3A and JDBC jars; only local sessions use this cache.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


@dataclass(frozen=True)
class Jar:
    group: str
    artifact: str
    version: str
    sha1: str  # pinned: a tampered or truncated download is refused

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def url(self) -> str:
        return f"{MAVEN_CENTRAL}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.file_name}"


PINNED_JARS = (
    Jar("io.delta", "delta-spark_2.12", "3.3.2", "07fff11b74e7284eec27fe106f31c95b3acc8018"),
    Jar("io.delta", "delta-storage", "3.3.2", "e24b01486ee7a26df8a2735eb186f4ee1821fc9e"),
    Jar("org.apache.hadoop", "hadoop-aws", "3.3.4", "a65839fbf1869f81a1632e09f415e586922e4f80"),
    Jar("com.amazonaws", "aws-java-sdk-bundle", "1.12.262", "02deec3a0ad83d13d032b1812421b23d7a961eea"),
    Jar("org.postgresql", "postgresql", "42.7.4", "264310fd7b2cd76738787dc0b9f7ea2e3b11adc1"),
)


class MissingJarsError(RuntimeError):
    pass


def jar_cache_dir() -> Path:
    """var/jars in the project, or CORETELECOMS_JAR_CACHE."""
    if os.environ.get("CORETELECOMS_JAR_CACHE"):
        return Path(os.environ["CORETELECOMS_JAR_CACHE"])
    from coretelecoms.platform.settings import find_conf_dir

    return find_conf_dir().parent / "var" / "jars"


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_jars(cache: Path | None = None, progress=print) -> list[Path]:
    """Download every pinned jar that is not cached yet; verify each against its pinned SHA-1."""
    cache = cache or jar_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for jar in PINNED_JARS:
        target = cache / jar.file_name
        if not target.exists():
            progress(f"fetching {jar.coordinate}")
            with tempfile.NamedTemporaryFile(dir=cache, delete=False) as partial:
                try:
                    with urllib.request.urlopen(jar.url, timeout=120) as response:
                        shutil.copyfileobj(response, partial)
                except OSError as error:
                    os.unlink(partial.name)
                    raise MissingJarsError(f"cannot download {jar.coordinate} from {jar.url}: {error}") from error
            if _sha1(Path(partial.name)) != jar.sha1:
                os.unlink(partial.name)
                raise MissingJarsError(f"{jar.coordinate}: downloaded file does not match its pinned SHA-1 {jar.sha1}")
            os.replace(partial.name, target)
        paths.append(target)
    return paths


def cached_jars(cache: Path | None = None) -> list[Path]:
    """The cached jar paths; one clear error naming every missing jar and the fix."""
    cache = cache or jar_cache_dir()
    missing = [jar.coordinate for jar in PINNED_JARS if not (cache / jar.file_name).is_file()]
    if missing:
        raise MissingJarsError(
            f"missing jars in {cache}: {', '.join(missing)}. Run `make jars` (or `coretelecoms jars`) once "
            "with access to Maven Central; later runs work offline."
        )
    return [cache / jar.file_name for jar in PINNED_JARS]
