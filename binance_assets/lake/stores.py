"""Byte stores behind the lake: the local disk (the embedded default) and S3.

The lake asks only for put / get / delete by relative path, so the same asset code writes to a
laptop's disk and to a bucket.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from binance_assets.config import ConfigurationError


class LakeStore(Protocol):
    def put(self, path: str, data: bytes) -> None: ...

    def get(self, path: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""

    def delete(self, path: str) -> None: ...

    def uri(self, path: str) -> str: ...

    @contextmanager
    def local_files(self, paths: list[str]) -> Iterator[list[str]]:
        """Local file paths holding these objects (for engines that read files, e.g. DuckDB)."""


class LocalStore:
    def __init__(self, root: str):
        self.root = Path(root).expanduser().resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".write-probe-")
            probe.close()
        except OSError as error:
            raise ConfigurationError(
                f"The lake at {self.root} is not writable ({error.strerror}). "
                "Set LAKE_URL to a writable directory or to s3://bucket/prefix."
            ) from error

    def _path(self, path: str) -> Path:
        return self.root / path

    def put(self, path: str, data: bytes) -> None:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename: a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".tmp-", delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, target)

    def get(self, path: str) -> bytes | None:
        try:
            return self._path(path).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, path: str) -> None:
        self._path(path).unlink(missing_ok=True)

    def uri(self, path: str) -> str:
        return str(self._path(path))

    @contextmanager
    def local_files(self, paths: list[str]) -> Iterator[list[str]]:
        yield [str(self._path(p)) for p in paths]
