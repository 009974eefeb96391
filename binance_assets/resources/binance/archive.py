"""Binance's bulk archive (data.binance.vision): checksummed kline files that cost no request weight.

The resource downloads a file and its ``.CHECKSUM``, verifies the zip against it before handing
it on (a mismatch or a truncated zip is retried like a 5xx), and says clearly which file failed,
with the expected and the actual hash. It also carries ``KLINES_SOURCE``: whether ``raw_klines``
takes candles from here (auto, archive) or from REST only.
"""

import logging
from dataclasses import dataclass, field

import dagster as dg
import requests
from pydantic import PrivateAttr

from binance_assets.errors import ConfigurationError, NotRetryable
from binance_assets.resources.binance.archive_files import (
    ArchiveFileError,
    ArchiveRef,
    listed_sha256,
    sha256,
    verify,
)
from binance_assets.resources.binance.limits import RequestStats, describe, is_transient, retrying
from binance_assets.settings import DEFAULTS, parse_klines_source

NOT_FOUND = 404


class ArchiveIntegrityError(NotRetryable, RuntimeError):
    """A file that kept failing its checksum or would not unzip: nothing of it was written."""


class ArchiveUnavailableError(RuntimeError):
    """The archive kept failing (5xx, timeouts, 429s) after every retry. The step's RetryPolicy retries it."""


@dataclass(frozen=True)
class ArchiveDownload:
    """A verified archive file: the zip and its ``.CHECKSUM`` exactly as the archive sent them."""

    ref: ArchiveRef
    data: bytes
    checksum_file: bytes
    sha256: str
    url: str
    etag: str | None = None
    unchanged: bool = False  # the caller's copy, whose hash the archive still lists: nothing downloaded


@dataclass
class ArchiveStats:
    requests: RequestStats = field(default_factory=RequestStats)
    downloaded: int = 0
    unchanged: int = 0
    not_published: int = 0
    bytes: int = 0

    def as_metadata(self) -> dict:
        return {
            "archive_requests": self.requests.requests,
            "archive_retries": self.requests.retries,
            "archive_files_downloaded": self.downloaded,
            "archive_files_unchanged_in_lake": self.unchanged,
            "archive_files_not_published": self.not_published,
            "archive_bytes_downloaded": self.bytes,
        }


def _retryable(error: BaseException) -> bool:
    return is_transient(error) or isinstance(error, ArchiveFileError)


def _unreachable(error: BaseException) -> bool:
    """The host itself cannot be reached (refused, unknown, connect timeout), as opposed to a cut-off body."""
    return isinstance(error, requests.ConnectionError)


class BinanceArchive(dg.ConfigurableResource):
    """The bulk archive at ``BINANCE_ARCHIVE_URL`` and the klines source chosen by ``KLINES_SOURCE``."""

    url: str = DEFAULTS["BINANCE_ARCHIVE_URL"]
    klines_source: str = DEFAULTS["KLINES_SOURCE"]
    request_timeout_s: float = 30.0
    max_retries: int = 3
    backoff_s: float = 0.5

    _session: requests.Session | None = PrivateAttr(default=None)
    _log: logging.Logger = PrivateAttr(default_factory=lambda: logging.getLogger("binance_assets.archive"))
    _stats: ArchiveStats = PrivateAttr(default_factory=ArchiveStats)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.log is not None:
            self._log = context.log

    @property
    def source(self) -> str:
        """``KLINES_SOURCE``: auto, rest or archive (anything else is a configuration error)."""
        return parse_klines_source(self.klines_source)

    @property
    def stats(self) -> ArchiveStats:
        return self._stats

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    def file_url(self, ref: ArchiveRef, checksum: bool = False) -> str:
        return f"{self.base_url}/{ref.path(checksum)}"

    def _get(self, url: str) -> requests.Response | None:
        """One GET: the response, None on 404 (not published), an exception otherwise."""
        if self._session is None:
            self._session = requests.Session()
        self._stats.requests.requests += 1
        response = self._session.get(url, timeout=self.request_timeout_s)
        if response.status_code == NOT_FOUND:
            return None
        response.raise_for_status()
        return response

    def checksum(self, ref: ArchiveRef) -> str | None:
        """The sha256 the archive lists for ``ref`` now (one small request), None if it has no such file."""
        response = self._retried(ref, lambda: self._get(self.file_url(ref, checksum=True)))
        return None if response is None else listed_sha256(response.content, ref)

    def fetch(self, ref: ArchiveRef, copy: bytes | None = None) -> ArchiveDownload | None:
        """The file, verified against its ``.CHECKSUM``; None when the archive does not have it (404).

        ``copy`` is a copy the caller already holds (the lake's): if the archive still lists its hash,
        it is returned as it is and the zip is not downloaded again."""

        def attempt() -> ArchiveDownload | None:
            listed = self._get(self.file_url(ref, checksum=True))
            if listed is None:
                return None
            expected = listed_sha256(listed.content, ref)
            url = self.file_url(ref)
            if copy is not None and sha256(copy) == expected:
                return ArchiveDownload(ref, copy, listed.content, expected, url, unchanged=True)
            response = self._get(url)
            if response is None:
                return None
            self._stats.bytes += len(response.content)
            digest = verify(response.content, listed.content, ref)
            return ArchiveDownload(ref, response.content, listed.content, digest, url, response.headers.get("ETag"))

        download = self._retried(ref, attempt)
        if download is None:
            self._stats.not_published += 1
        elif download.unchanged:
            self._stats.unchanged += 1
        else:
            self._stats.downloaded += 1
        return download

    def _retried(self, ref: ArchiveRef, attempt):
        what = f"Archive download of {ref.name}"
        try:
            return retrying(self.max_retries, self.backoff_s, self._log, self._stats.requests, _retryable, what)(
                attempt
            )
        except ArchiveFileError as error:
            raise ArchiveIntegrityError(
                f"Archive file {ref.name} failed verification {self.max_retries + 1} times; nothing of it was "
                f"written. {error}. Source: {self.file_url(ref)}. Binance replaces broken files after the fact: "
                "rerun later, or take these hours from REST with KLINES_SOURCE=rest."
            ) from None
        except requests.RequestException as error:
            if _unreachable(error):
                raise ConfigurationError(
                    f"Cannot reach the Binance archive at {self.base_url} ({type(error).__name__}). Check "
                    "BINANCE_ARCHIVE_URL and the network, or set KLINES_SOURCE=rest to take every candle from REST."
                ) from None
            if not is_transient(error):
                raise ConfigurationError(
                    f"The Binance archive at {self.base_url} refused {ref.path()} ({describe(error)}). Check "
                    "BINANCE_ARCHIVE_URL (the archive's origin, e.g. https://data.binance.vision)."
                ) from None
            raise ArchiveUnavailableError(
                f"{what} failed {self.max_retries + 1} times, last with {describe(error)}; nothing of it was "
                "written. The archive is degraded: rerun later."
            ) from error
