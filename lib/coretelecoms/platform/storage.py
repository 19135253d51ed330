"""Small file operations on a location that is either a local folder or an s3a:// URI.

Spark reads and writes the data itself; this module handles what Spark does not: existence checks,
a checksumming stream of an input, and the JSON manifests and reports.

S3 credentials are chosen by bucket, as S3A does with its per-bucket options: `use_s3_settings`
records, for each bucket of a Settings' locations, the role and endpoint to reach it with, and every
function here picks the boto3 client of the location's bucket (`platform.aws`: one session per
role). Callers keep passing plain location strings. A bucket never recorded is reached with the
default credentials on AWS.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings resolve default locations through platform.lake, which uses this module
    from coretelecoms.platform.settings import Settings

CHUNK = 8 << 20


@dataclass(frozen=True)
class BucketAccess:
    role_arn: str = ""  # empty: the default credentials
    endpoint: str = ""  # empty: AWS
    region: str = ""


_ACCESS_BY_BUCKET: dict[str, BucketAccess] = {}  # process-wide, like the Hadoop configuration


def use_s3_settings(settings: Settings) -> None:
    """Reach the buckets of these settings' s3a locations with their roles and endpoint from now on."""
    for bucket, role_arn in settings.s3_bucket_roles().items():
        _ACCESS_BY_BUCKET[bucket] = BucketAccess(role_arn, settings.s3.endpoint, settings.s3.region)


def is_s3(location: str) -> bool:
    return location.startswith("s3a://")


def join(location: str, *keys: str) -> str:
    return "/".join([location.rstrip("/"), *(key.strip("/") for key in keys)])


def spark_path(location: str) -> str:
    """What Spark should be given: s3a URIs as they are, folders as file: URIs (never HDFS)."""
    # Not Path.as_uri(): Hadoop escapes the path itself, and `call logs/` must stay a space.
    return location if is_s3(location) else "file://" + str(Path(location).resolve())


def _bucket_key(location: str) -> tuple[str, str]:
    bucket, _, key = location[len("s3a://"):].partition("/")
    return bucket, key


def _s3(bucket: str):
    from coretelecoms.platform import aws  # boto3 only where S3 is used

    access = _ACCESS_BY_BUCKET.get(bucket, BucketAccess())
    return aws.client("s3", access.role_arn, access.endpoint, access.region)


def exists(location: str) -> bool:
    if not is_s3(location):
        return os.path.exists(location)
    from botocore.exceptions import ClientError

    bucket, key = _bucket_key(location)
    try:
        _s3(bucket).head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


class HashingReader(io.RawIOBase):
    """A readable binary stream that keeps the SHA-256 and size of everything read through it, so an
    input is checksummed in the same pass that parses it."""

    def __init__(self, source):
        self.source, self.digest, self.size = source, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        block = self.source.read(len(buffer))
        self.digest.update(block)
        self.size += len(block)
        buffer[: len(block)] = block
        return len(block)

    def drain(self) -> None:
        """Read to the end (a parse may stop early): the checksum is always the whole object's."""
        for _ in iter(lambda: self.read(CHUNK), b""):
            pass

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


@contextlib.contextmanager
def read_hashing(location: str) -> Iterator[HashingReader]:
    """An input object as a stream that checksums what is read (the customers file is hundreds of MB)."""
    if is_s3(location):
        bucket, key = _bucket_key(location)
        body = _s3(bucket).get_object(Bucket=bucket, Key=key)["Body"]
        try:
            yield HashingReader(body)
        finally:
            body.close()
    else:
        with open(location, "rb") as handle:
            yield HashingReader(handle)


def write_json(location: str, document: dict) -> None:
    write_text(location, json.dumps(document, indent=2, sort_keys=True, default=str), "application/json")


def write_text(location: str, body: str, content_type: str = "text/html; charset=utf-8") -> None:
    write_bytes(location, body.encode(), content_type)


def write_bytes(location: str, body: bytes, content_type: str = "application/octet-stream") -> None:
    if is_s3(location):
        bucket, key = _bucket_key(location)
        _s3(bucket).put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_bytes(body)
    os.replace(partial, path)  # readers never see half a manifest or report


def read_bytes(location: str) -> bytes:
    if is_s3(location):
        bucket, key = _bucket_key(location)
        return _s3(bucket).get_object(Bucket=bucket, Key=key)["Body"].read()
    return Path(location).read_bytes()


def list_files(folder: str, suffix: str = "") -> list[str]:
    """Locations of the files below `folder` (recursively) whose names end with `suffix`, sorted."""
    if is_s3(folder):
        bucket, prefix = _bucket_key(folder.rstrip("/") + "/")
        pages = _s3(bucket).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return sorted(f"s3a://{bucket}/{key}" for key in keys if key.endswith(suffix))
    root = Path(folder)
    return sorted(str(path) for path in root.rglob(f"*{suffix}") if path.is_file()) if root.is_dir() else []


def read_json(location: str) -> dict:
    return json.loads(read_bytes(location))
