"""Byte stores behind the lake: the local disk (the embedded default) and S3.

The lake asks only for put / get / delete by relative path, so the same asset code writes to a
laptop's disk and to a bucket.
"""

import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from binance_assets.errors import ConfigurationError, OutOfSpaceError
from binance_assets.resources.aws import aws_errors, error_code

MISSING_OBJECT = {"NoSuchKey", "404", "NotFound"}
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
TEMPORARY_PREFIX = ".tmp-"
# Requests to S3 in flight at once when a step reads many files (and the client's connection pool):
# each GET of a small hourly file is mostly network wait, so 16 at a time read a range ~16x faster
# than one by one while staying far below S3's per-prefix request rates.
S3_READERS = 16


def size_text(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size >= 2**20 else f"{size / 2**10:,.1f} KiB"


class LakeStore(Protocol):
    concurrency: int  # how many reads are worth running at once

    def put(self, path: str, data: bytes) -> None: ...

    def get(self, path: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""

    def delete(self, path: str) -> None: ...

    def paths_under(self, prefix: str) -> Iterator[str]:
        """The paths of every object under ``prefix`` (a folder path)."""

    def uri(self, path: str) -> str: ...

    @contextmanager
    def local_files(self, paths: list[str]) -> Iterator[list[str]]:
        """Local file paths holding these objects (for engines that read files, e.g. DuckDB)."""


class LocalStore:
    concurrency = 1  # the page cache answers at once: threads would only add overhead

    def __init__(self, root: str):
        self.root = Path(root).expanduser().resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".write-probe-"):
                pass
        except OSError as error:
            raise ConfigurationError(
                f"The lake at {self.root} is not writable ({error.strerror}). "
                "Set LAKE_URL to a writable directory or to s3://bucket/prefix."
            ) from error

    def _path(self, path: str) -> Path:
        return self.root / path

    def put(self, path: str, data: bytes) -> None:
        """Write beside the target and rename, so a reader never sees half a file. The temporary file
        is created like any ordinary file (0666 less the umask, where ``tempfile`` would make it 0600),
        and removed whatever stops the write."""
        target = self._path(path)
        temporary = target.parent / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}-{target.name}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except BaseException as error:
            temporary.unlink(missing_ok=True)
            if isinstance(error, OSError) and error.errno in DISK_FULL:
                raise OutOfSpaceError(
                    f"The lake's disk at {self.root} (LAKE_URL) is full: writing {path} needs {size_text(len(data))} "
                    f"and {size_text(shutil.disk_usage(self.root).free)} is free, so free space there (at least "
                    "that much per symbol-hour still to write) or set LAKE_URL to a larger disk."
                ) from None
            raise

    def get(self, path: str) -> bytes | None:
        try:
            return self._path(path).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, path: str) -> None:
        self._path(path).unlink(missing_ok=True)

    def paths_under(self, prefix: str) -> Iterator[str]:
        skip = len(str(self.root)) + 1  # os.walk yields folders under the root as given
        for folder, _, files in os.walk(self._path(prefix)):
            for name in files:
                if not name.startswith(TEMPORARY_PREFIX):
                    yield f"{folder[skip:]}/{name}"

    def uri(self, path: str) -> str:
        return str(self._path(path))

    @contextmanager
    def local_files(self, paths: list[str]) -> Iterator[list[str]]:
        yield [str(self._path(p)) for p in paths]


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix")``."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ConfigurationError(f"LAKE_URL {url!r} is not an S3 URL: expected s3://bucket or s3://bucket/prefix.")
    return parsed.netloc, parsed.path.strip("/")


class S3Store:
    """The lake in a bucket, under an optional key prefix, with the same relative paths as on disk.

    Objects are read and written whole, in memory: one PUT replaces an object atomically, so a
    reader never sees half a file (S3 has no rename, and needs none).
    """

    concurrency = S3_READERS

    def __init__(self, client: Any, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def relative(self, bucket: str, key: str) -> str | None:
        """The lake path of ``bucket/key``, or None when the object is outside this lake."""
        if bucket != self.bucket:
            return None
        if not self.prefix:
            return key
        head = f"{self.prefix}/"
        return key[len(head) :] if key.startswith(head) else None

    @contextmanager
    def _calls(self, path: str) -> Iterator[None]:
        from botocore.exceptions import ClientError

        try:
            with aws_errors(f"Lake {self.uri(path)}"):
                yield
        except ClientError as error:
            if error_code(error) == "NoSuchBucket":
                raise ConfigurationError(
                    f"Bucket {self.bucket!r} does not exist: run `binance-assets setup`, or fix LAKE_URL."
                ) from error
            raise

    def put(self, path: str, data: bytes) -> None:
        with self._calls(path):
            self.client.put_object(Bucket=self.bucket, Key=self.key(path), Body=data)

    def get(self, path: str) -> bytes | None:
        from botocore.exceptions import ClientError

        with self._calls(path):
            try:
                return self.client.get_object(Bucket=self.bucket, Key=self.key(path))["Body"].read()
            except ClientError as error:
                if error_code(error) in MISSING_OBJECT:
                    return None
                raise

    def delete(self, path: str) -> None:
        with self._calls(path):
            self.client.delete_object(Bucket=self.bucket, Key=self.key(path))

    def paths_under(self, prefix: str) -> Iterator[str]:
        with self._calls(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.key(prefix.rstrip("/") + "/")
            )
            for page in pages:
                for entry in page.get("Contents", []):
                    yield self.relative(self.bucket, entry["Key"])

    def uri(self, path: str) -> str:
        return f"s3://{self.bucket}/{self.key(path)}"

    @contextmanager
    def local_files(self, paths: list[str]) -> Iterator[list[str]]:
        # DuckDB reads local files only here: httpfs is an extension it would download at run time.
        with tempfile.TemporaryDirectory(prefix="lake-") as tmp:
            files = [os.path.join(tmp, f"{index}-{os.path.basename(path)}") for index, path in enumerate(paths)]

            def download(path: str, target: str) -> None:
                with self._calls(path):
                    self.client.download_file(self.bucket, self.key(path), target)

            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="lake-download") as pool:
                for done in [pool.submit(download, p, t) for p, t in zip(paths, files, strict=True)]:
                    done.result()
            yield files
