"""The stream as a process: logging, resources from the settings, signals and exit codes."""

import asyncio
import logging
import signal
import sys
import time
from contextlib import ExitStack

from binance_assets import settings
from binance_assets.resources import build_resources
from binance_assets.resources.binance.websocket import ROTATE_AFTER_S
from binance_assets.stream.service import BATCH_WAIT_S, LiveGapError, LiveKlines

AUTO, DIRECT, LAKE = "auto", "direct", "lake"
LOAD_MODES = (AUTO, DIRECT, LAKE)
log = logging.getLogger("binance_assets.stream")


def run(
    load: str = AUTO, batch_wait_s: float = BATCH_WAIT_S, rotate_after_s: float = ROTATE_AFTER_S, verbose: bool = False
) -> int:
    """Stream until SIGTERM or SIGINT: 0 after a clean stop, 1 when candles could not be fetched or written
    (a restart fills the gap); bad configuration raises ``ConfigurationError``."""
    _log_to_stderr(verbose)
    resources = build_resources(settings.current())
    with ExitStack() as stack:

        def initialised(name: str):  # EnvVar settings resolved exactly as Dagster does for a run
            return stack.enter_context(resources[name].process_config_and_initialize_cm())

        exchange, lake, symbols, warehouse = (initialised(n) for n in ("exchange", "lake", "symbols", "warehouse"))
        # Initialised outside a run, the resources would log through a Dagster log manager: log plainly.
        exchange._log = warehouse._log = logging.getLogger("binance_assets.exchange")
        direct = load == DIRECT or (load == AUTO and not warehouse.embedded)
        if not direct and warehouse.embedded:
            log.info(
                "The embedded warehouse (chdb) admits one process at a time and Dagster runs use it: the stream "
                "writes the lake only, and Dagster's klines_stream_loads sensor loads it."
            )
        service = LiveKlines(
            exchange,
            lake,
            symbols.names,
            warehouse if direct else None,
            log=log,
            batch_wait_s=batch_wait_s,
            rotate_after_s=rotate_after_s,
        )
        try:
            asyncio.run(_until_signalled(service))
        except LiveGapError as error:
            log.error(str(error))
            return 1
    return 0


def _log_to_stderr(verbose: bool) -> None:
    """Our loggers only (``binance_assets.*``): the libraries' chatter stays at their own levels."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    formatter.converter = time.gmtime  # UTC, like the candles
    handler.setFormatter(formatter)
    root = logging.getLogger("binance_assets")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


async def _until_signalled(service: LiveKlines) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):

        def stop(name: str = signal.Signals(signum).name) -> None:
            log.info(f"{name} received: writing what is held, then stopping")
            stopping.set()

        loop.add_signal_handler(signum, stop)
    await service.run(stopping)
