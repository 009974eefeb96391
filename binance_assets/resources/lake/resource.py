"""The lake resource: partition folders written completely or not at all."""

import io
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from binance_assets.resources.aws import boto3_client
from binance_assets.resources.lake.layout import SUCCESS_MARKER, marker_for, parse
from binance_assets.resources.lake.stores import S3_READERS, LakeStore, LocalStore, S3Store, split_s3_url
from binance_assets.settings import DEFAULTS, is_s3_url

if TYPE_CHECKING:
    import polars as pl

Item = TypeVar("Item")
Result = TypeVar("Result")


class CorruptFileError(RuntimeError):
    pass


class LakeResource(dg.ConfigurableResource):
    """The data lake at ``LAKE_URL``: a local directory, or ``s3://bucket/prefix``."""

    url: str = DEFAULTS["LAKE_URL"]
    s3: S3Resource | None = Field(
        default=None,
        description="S3 access for an s3:// lake; None uses boto3's defaults (AWS_* variables, profile, role).",
    )

    _store: LakeStore | None = PrivateAttr(default=None)

    @property
    def store(self) -> LakeStore:
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def _open_store(self) -> LakeStore:
        if is_s3_url(self.url):
            bucket, prefix = split_s3_url(self.url)
            client = boto3_client(self.s3 or S3Resource(), "s3", max_connections=S3_READERS)
            return S3Store(client, bucket, prefix)
        return LocalStore(self.url)

    def write_partition(self, path: str, data: bytes, manifest: dict) -> None:
        """Replace one partition file; its ``_SUCCESS`` marker (holding ``manifest``) goes last."""
        self.write_folder(path.rsplit("/", 1)[0], {path.rsplit("/", 1)[1]: data}, manifest)

    def write_folder(self, folder: str, files: dict[str, bytes], manifest: dict) -> None:
        """Replace the named files of one folder; its ``_SUCCESS`` marker (holding ``manifest``) goes last.

        The old marker is removed first, so a crash midway leaves a folder that readers and the
        sensor treat as incomplete rather than a stale marker next to new data.
        """
        marker = f"{folder}/{SUCCESS_MARKER}"
        self.store.delete(marker)
        for name, data in files.items():
            self.store.put(f"{folder}/{name}", data)
        self.store.put(marker, json.dumps(manifest, sort_keys=True).encode())

    def append_to_partition(self, path: str, data: bytes, entry: dict) -> dict:
        """Add one file to a partition folder that grows while its hour runs (order-book snapshots).

        The file goes first, then the ``_SUCCESS`` manifest is replaced (one atomic write) by one
        listing it under ``files``: a crash in between leaves an unlisted file that readers ignore,
        never a listed file that is missing. Returns the new manifest.
        """
        marker = marker_for(path)
        self.store.put(path, data)
        manifest = self.manifest(path) or {"files": []}
        manifest["files"] = [*(f for f in manifest["files"] if f["file"] != entry["file"]), entry]
        manifest["rows"] = sum(f.get("rows", 0) for f in manifest["files"])
        self.store.put(marker, json.dumps(manifest, sort_keys=True).encode())
        return manifest

    def manifest(self, path: str) -> dict | None:
        """The ``_SUCCESS`` manifest of the folder holding ``path``; None if it is incomplete."""
        raw = self.store.get(marker_for(path))
        return None if raw is None else json.loads(raw or b"{}")

    def completed_folders(self, folder: str) -> set[str]:
        """The partition folders under ``folder`` that hold their ``_SUCCESS``, found by listing ``folder``
        once (on S3 a request per 1000 objects, where reading each marker costs a request per folder)."""
        return {
            path.rsplit("/", 1)[0] for path in self.store.paths_under(folder) if path.endswith(f"/{SUCCESS_MARKER}")
        }

    def read(self, path: str) -> bytes | None:
        """A complete partition file's bytes; None when its folder has no ``_SUCCESS``."""
        if self.manifest(path) is None:
            return None
        return self.store.get(path)

    def concurrently(self, function: Callable[[Item], Result], items: Iterable[Item]) -> Iterator[Result]:
        """``function`` of each item, in order. On S3 up to ``S3_READERS`` run at once (each is
        mostly waiting for the network) and at most twice as many results wait to be consumed, so a
        range of 12,408 hourly files neither reads one file at a time nor holds them all in memory."""
        workers = self.store.concurrency
        if workers <= 1:
            yield from map(function, items)
            return
        with ThreadPoolExecutor(workers, thread_name_prefix="lake") as pool:
            pending = deque()
            for item in items:
                pending.append(pool.submit(function, item))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def complete(self, paths: list[str]) -> set[str]:
        """The hourly partition files among ``paths`` whose folder has its ``_SUCCESS`` marker, found by
        listing each month folder once (``completed_folders``), not by reading a marker per file."""
        folders = {path: path.rsplit("/", 1)[0] for path in paths}
        months = {folder.rsplit("/", 2)[0] for folder in folders.values()}  # …/month=MM of …/day=DD/hour=HH
        done = set().union(*(self.completed_folders(month) for month in sorted(months)))
        return {path for path, folder in folders.items() if folder in done}

    def write_parquet(self, path: str, frame: "pl.DataFrame", manifest: dict) -> None:
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd", statistics=True)
        self.write_partition(path, buffer.getvalue(), manifest)

    def read_parquet(self, path: str) -> "pl.DataFrame | None":
        import polars as pl  # the steps that read Parquet import it anyway; the others need not

        data = self.read(path)
        if data is None:
            return None
        try:
            return pl.read_parquet(io.BytesIO(data))
        except Exception as error:  # polars raises several types for unreadable files
            located = parse(path)
            producer = f"{located.dataset}_parquet" if located else "the asset that wrote it"
            raise CorruptFileError(
                f"{path} in the lake is not readable Parquet ({type(error).__name__}: {str(error)[:200]}). "
                f"It was left untouched; re-materialise {producer} for this partition to rewrite it."
            ) from None

    @contextmanager
    def local_files(self, paths: list[str]) -> Iterator[list[str]]:
        with self.store.local_files(paths) as files:
            yield files
