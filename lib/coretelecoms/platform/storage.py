"""Small file operations on a location that is either a local folder or an s3a:// URI.

Spark reads and writes the data itself; this module handles what Spark does not: existence checks,
size and checksum of an input, and the JSON manifests and reports.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

CHUNK = 8 << 20


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


def _s3():
    import boto3  # only where S3 is used

    return boto3.client("s3")


def exists(location: str) -> bool:
    if not is_s3(location):
        return os.path.exists(location)
    from botocore.exceptions import ClientError

    bucket, key = _bucket_key(location)
    try:
        _s3().head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


@dataclass(frozen=True)
class Fingerprint:
    size: int
    sha256: str


def fingerprint(location: str) -> Fingerprint:
    """Size and SHA-256 of an input object, streamed (the customers file is hundreds of MB)."""
    digest = hashlib.sha256()
    size = 0
    if is_s3(location):
        bucket, key = _bucket_key(location)
        stream = _s3().get_object(Bucket=bucket, Key=key)["Body"]
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
            size += len(block)
    else:
        with open(location, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
                size += len(block)
    return Fingerprint(size=size, sha256=digest.hexdigest())


def write_json(location: str, document: dict) -> None:
    body = json.dumps(document, indent=2, sort_keys=True, default=str)
    if is_s3(location):
        bucket, key = _bucket_key(location)
        _s3().put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")
        return
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(body)
    os.replace(partial, path)  # readers never see half a manifest


def read_json(location: str) -> dict:
    if is_s3(location):
        bucket, key = _bucket_key(location)
        return json.loads(_s3().get_object(Bucket=bucket, Key=key)["Body"].read())
    return json.loads(Path(location).read_text())
