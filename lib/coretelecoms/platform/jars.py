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
    sha256: str  # pinned: a tampered or truncated download is refused

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
    Jar("io.delta", "delta-spark_2.12", "3.3.2", "4e92085d5d794cf949c50bb665b91384857cad58680c2d0bfc9c7ad353e98e85"),
    Jar("io.delta", "delta-storage", "3.3.2", "c096975a2ca97ccc9b4005aa5cce16c9ac3903139d340da6665b66ace67d7c36"),
    Jar("org.apache.hadoop", "hadoop-aws", "3.3.4", "53f9ae03c681a30a50aa17524bd9790ab596b28481858e54efd989a826ed3a4a"),
    Jar("com.amazonaws", "aws-java-sdk-bundle", "1.12.262",
        "873fe7cf495126619997bec21c44de5d992544aea7e632fdc77adb1a0915bae5"),
    Jar("org.postgresql", "postgresql", "42.7.4", "188976721ead8e8627eb6d8389d500dccc0c9bebd885268a3047180274a6031e"),
)


class MissingJarsError(RuntimeError):
    pass


def jar_cache_dir() -> Path:
    """var/jars in the project, or CORETELECOMS_JAR_CACHE."""
    if os.environ.get("CORETELECOMS_JAR_CACHE"):
        return Path(os.environ["CORETELECOMS_JAR_CACHE"])
    from coretelecoms.platform.settings import find_conf_dir

    return find_conf_dir().parent / "var" / "jars"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_jars(cache: Path | None = None, progress=print) -> list[Path]:
    """Download every pinned jar that is not cached yet; verify each against its pinned SHA-256."""
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
            if _sha256(Path(partial.name)) != jar.sha256:
                os.unlink(partial.name)
                raise MissingJarsError(f"{jar.coordinate}: downloaded file does not match its pinned SHA-256 {jar.sha256}")
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
