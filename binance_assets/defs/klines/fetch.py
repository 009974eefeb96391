"""One symbol's hours of a klines run, fetched span by span from the bulk archive or REST (``sources.py``
decides which), each hour written to the raw lake as soon as its candles are in; ``Progress`` keeps
what came from where for the run log and the asset's metadata."""

import logging
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from binance_assets.defs.klines import archive as lake_archive
from binance_assets.defs.klines.clean import ARCHIVE, REST
from binance_assets.defs.klines.dataset import KLINES
from binance_assets.defs.klines.sources import ARCHIVE_ONLY, Span, fallback
from binance_assets.errors import ConfigurationError
from binance_assets.lib.partitions import HOUR_MS, to_ms
from binance_assets.lib.raw import write_raw_hour
from binance_assets.resources.binance import BinanceArchive, BinanceExchange
from binance_assets.resources.binance.archive import ArchiveDownload, ArchiveIntegrityError
from binance_assets.resources.binance.archive_files import ArchiveRef, ArchiveRows, kline_rows
from binance_assets.resources.lake import LakeResource

PROGRESS_EVERY_PAGES = 50
LISTED_SPANS = 100


def _when(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H}:00"


def _candles(exchange: BinanceExchange, symbol: str, start_ms: int, end_ms: int, log) -> Iterator[list]:
    fetched = 0
    for page_number, page in enumerate(exchange.klines(symbol, start_ms, end_ms), start=1):
        fetched += len(page)
        if page_number % PROGRESS_EVERY_PAGES == 0:
            share = (page[-1][0] - start_ms + 60_000) / (end_ms - start_ms)
            log.info(f"{symbol}: {fetched:,} candles fetched from REST ({share:.0%} of {_when(start_ms)} on)")
        yield from page


@dataclass
class Progress:
    """What the run took from where: logged as it goes, and the asset's metadata at the end."""

    files: int = 0
    bytes: int = 0
    archive_rows: int = 0
    hours_by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    spans: list[dict] = field(default_factory=list)

    def took(self, symbol: str, source: str, span: Span, hours: int, file: str | None = None) -> None:
        counts = self.hours_by_source.setdefault(symbol, {})
        counts[source] = counts.get(source, 0) + hours
        entry = {"symbol": symbol, "source": source, "from": _when(span.start_ms), "to": _when(span.end_ms - HOUR_MS)}
        self.spans.append(entry | ({"file": file} if file else {}))

    def metadata(self) -> dict:
        totals: dict[str, int] = {}
        for counts in self.hours_by_source.values():
            for source, hours in counts.items():
                totals[source] = totals.get(source, 0) + hours
        listed = self.spans[:LISTED_SPANS] + (
            [{"more": len(self.spans) - LISTED_SPANS}] if self.spans[LISTED_SPANS:] else []
        )
        return {
            "hours_by_source": dg.MetadataValue.json(totals),
            "hours_by_symbol_and_source": dg.MetadataValue.json(self.hours_by_source),
            "sources": dg.MetadataValue.json(listed),
            "archive_files": self.files,
            "archive_bytes": self.bytes,
            "archive_rows": self.archive_rows,
        }


@dataclass
class SymbolFetch:
    """One symbol's hours of a run: its spans fetched in time order, each hour written as it completes."""

    symbol: str
    hours: list[datetime]
    exchange: BinanceExchange
    archive: BinanceArchive
    lake: LakeResource
    fetched_at: int
    progress: Progress
    log: logging.Logger
    rows: int = 0
    # REST stretches wait here, so neighbouring ones become one paged request.
    _rest: Span | None = None

    def run(self, spans: list[Span]) -> int:
        queue = deque(spans)
        while queue:
            span = queue.popleft()
            if span.period is None:
                self._queue_rest(span)
                continue
            ref = ArchiveRef(self.symbol, span.period)
            download = self.archive.fetch(ref, lake_archive.lake_copy(self.lake, ref))
            if download is None:
                queue.extendleft(reversed(self._not_published(ref, span)))
                continue
            self._flush_rest()
            self._write_archive(span, download)
        self._flush_rest()
        return self.rows

    def _not_published(self, ref: ArchiveRef, span: Span) -> list[Span]:
        if self.archive.source == ARCHIVE_ONLY and ref.period.daily:
            raise ConfigurationError(
                f"KLINES_SOURCE=archive, but the archive at {self.archive.base_url} has no {ref.name} (404): it is "
                f"not published yet, or Binance has no {self.symbol} candles that day. Set KLINES_SOURCE=auto to "
                "take these hours from REST."
            )
        instead = "REST" if ref.period.daily else "the daily files"
        self.log.info(
            f"{self.symbol}: {ref.name} is not in the archive (404): {_when(span.start_ms)} on from {instead}"
        )
        return fallback(span)

    def _queue_rest(self, span: Span) -> None:
        if self._rest is not None and self._rest.end_ms == span.start_ms:
            self._rest = Span(self._rest.start_ms, span.end_ms)
        else:
            self._flush_rest()
            self._rest = span

    def _flush_rest(self) -> None:
        span, self._rest = self._rest, None
        if span is None:
            return
        candles = _candles(self.exchange, self.symbol, span.start_ms, span.end_ms, self.log)
        rows, hours = self._write(span, candles, {"source": REST})
        self.progress.took(self.symbol, REST, span, hours)
        self.log.info(
            f"{self.symbol}: {rows:,} candles from REST for {_when(span.start_ms)} … {_when(span.end_ms - HOUR_MS)}"
        )

    def _write_archive(self, span: Span, download: ArchiveDownload) -> None:
        ref = download.ref
        try:
            rows = kline_rows(download.data, ref)
        except ValueError as error:  # ArchiveFileError, or a value that is not a number
            raise ArchiveIntegrityError(
                f"Archive file {ref.name} (sha256 {download.sha256}, as its .CHECKSUM lists) cannot be read as "
                f"klines: {error}. Nothing of it was written; take these hours from REST with KLINES_SOURCE=rest."
            ) from None
        lake_archive.keep(self.lake, download, rows, self.fetched_at, self.log)
        inside = (row for row in rows.rows if span.start_ms <= row[0] < span.end_ms)
        manifest = {"source": ARCHIVE, "archive_file": lake_archive.lake_path(ref), "archive_sha256": download.sha256}
        written, hours = self._write(span, inside, manifest)
        self._report(span, download, rows, written, hours)

    def _report(self, span: Span, download: ArchiveDownload, rows: ArchiveRows, written: int, hours: int) -> None:
        progress = self.progress
        progress.took(self.symbol, ARCHIVE, span, hours, download.ref.name)
        progress.files += 1
        progress.archive_rows += written
        how = "unchanged in the lake" if download.unchanged else f"downloaded {len(download.data):,} bytes"
        if not download.unchanged:
            progress.bytes += len(download.data)
        self.log.info(
            f"{self.symbol}: {download.ref.name} {how}, sha256 verified, {len(rows.rows):,} rows ({rows.time_unit}) → "
            f"{written:,} candles in {hours} hour(s). Archive so far: {progress.files} file(s), "
            f"{progress.bytes / 1e6:,.1f} MB downloaded, {progress.archive_rows:,} candles."
        )

    def _write(self, span: Span, candles: Iterable[list], manifest: dict) -> tuple[int, int]:
        """Every run hour inside ``span``, with the candles opening in it (``[]`` if none)."""
        first = (span.start_ms - to_ms(self.hours[0])) // HOUR_MS
        hours = self.hours[first : first + (span.end_ms - span.start_ms) // HOUR_MS]
        candles = iter(candles)
        pending = next(candles, None)
        total = 0
        for hour in hours:
            hour_end = to_ms(hour) + HOUR_MS
            bucket = []
            while pending is not None and pending[0] < hour_end:
                bucket.append(pending)
                pending = next(candles, None)
            total += write_raw_hour(self.lake, KLINES.name, self.symbol, hour, bucket, self.fetched_at, **manifest)
        self.rows += total
        return total, len(hours)
