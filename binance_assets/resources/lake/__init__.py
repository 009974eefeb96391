"""The lake store: partition folders on the local disk or in S3, written completely or not at all."""

from binance_assets.resources.lake.resource import CorruptFileError, LakeResource

__all__ = ["CorruptFileError", "LakeResource"]
