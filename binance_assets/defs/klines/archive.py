"""Klines archive files in the raw lake, kept exactly as the archive sent them.

``raw/klines_archive/symbol=S/year=YYYY/month=MM[/day=DD]/`` holds the zip, its ``.CHECKSUM`` and a
``_SUCCESS`` manifest (hash, size, rows, time unit, source URL, fetch time), beside the hourly
``raw/klines/`` folders the file's hours are written to. When Binance replaces a file, the copy
it replaces moves to ``superseded/sha256=<its hash>/`` in the same folder first: nothing is
overwritten silently, and the manifest lists every version it replaced.
"""

from dataclasses import dataclass

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.resources.binance.archive import ArchiveDownload
from binance_assets.resources.binance.archive_files import ArchivePeriod, ArchiveRef, ArchiveRows
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import SUCCESS_MARKER, archive_folder, archive_root

SUPERSEDED = "superseded"


def folder_of(ref: ArchiveRef) -> str:
    return archive_folder(KLINES.name, ref.symbol, ref.period.start, ref.period.daily)


def lake_path(ref: ArchiveRef) -> str:
    """The lake path of the zip, as the hour manifests name it."""
    return f"{folder_of(ref)}/{ref.name}"


def lake_copy(lake: LakeResource, ref: ArchiveRef) -> bytes | None:
    """The complete copy the lake holds of this file, if any."""
    return lake.read(lake_path(ref))


def keep(lake: LakeResource, download: ArchiveDownload, rows: ArchiveRows, fetched_at_ms: int, log) -> None:
    """Store a verified download as sent; an older, different copy is moved aside, not overwritten."""
    if download.unchanged:
        return
    ref, folder = download.ref, folder_of(download.ref)
    previous = lake.manifest(lake_path(ref))
    superseded = list(previous.get("superseded", [])) if previous else []
    if previous and previous.get("sha256") != download.sha256:
        aside = f"{folder}/{SUPERSEDED}/sha256={previous['sha256']}"
        files = {name: lake.store.get(f"{folder}/{name}") for name in (ref.name, ref.checksum_name)}
        lake.write_folder(aside, {name: data for name, data in files.items() if data is not None}, previous)
        superseded.append({"sha256": previous["sha256"], "folder": aside, "fetched_at_ms": previous["fetched_at_ms"]})
        log.warning(
            f"{ref.name} was replaced in the archive: sha256 {previous['sha256']} → {download.sha256}. "
            f"The earlier copy is kept at {aside}."
        )
    lake.write_folder(
        folder,
        {ref.name: download.data, ref.checksum_name: download.checksum_file},
        {
            "symbol": ref.symbol,
            "interval": ref.interval,
            "period": ref.period.label,
            "file": ref.name,
            "sha256": download.sha256,
            "bytes": len(download.data),
            "rows": len(rows.rows),
            "time_unit": rows.time_unit,
            "url": download.url,
            "etag": download.etag,
            "fetched_at_ms": fetched_at_ms,
            "superseded": superseded,
        },
    )


@dataclass(frozen=True)
class StoredFile:
    """An archive file the lake holds: which file, and the hash it had when it was fetched."""

    ref: ArchiveRef
    sha256: str
    folder: str


def stored_markers(lake: LakeResource) -> list[str]:
    """The ``_SUCCESS`` of every current archive file in the lake (superseded copies excluded), in path order."""
    return sorted(
        path
        for path in lake.store.paths_under(archive_root(KLINES.name))
        if path.endswith(f"/{SUCCESS_MARKER}") and f"/{SUPERSEDED}/" not in path
    )


def stored_file(lake: LakeResource, marker: str) -> StoredFile:
    manifest = lake.manifest(marker)
    ref = ArchiveRef(manifest["symbol"], ArchivePeriod.parse(manifest["period"]), manifest["interval"])
    return StoredFile(ref, manifest["sha256"], marker.rsplit("/", 1)[0])
