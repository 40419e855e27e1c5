"""Command line: ``python -m local_stack`` starts the whole service on loopback and runs until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from local_stack.stack import LocalStack, StackOptions

log = logging.getLogger("local_stack")


def parse_arguments(argv: list[str] | None = None) -> StackOptions:
    defaults = StackOptions()
    parser = argparse.ArgumentParser(
        prog="python -m local_stack",
        description="Run the status flags service on this machine: embedded moto, the template's tables and "
        "queues, the HTTP API and the stream consumer. Stop it with Ctrl-C.",
    )
    parser.add_argument("--host", default=defaults.host, help="address both servers bind to (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="TCP port of the HTTP API (default: %(default)s)"
    )
    parser.add_argument(
        "--moto-port",
        type=int,
        default=defaults.moto_port,
        help="TCP port of the embedded moto server (default: %(default)s)",
    )
    parser.add_argument(
        "--api-workers",
        type=int,
        default=defaults.api_workers,
        help="number of worker processes that run API invocations in parallel, like Lambda execution "
        "environments; 0 runs them in this process one at a time, which suits a debugger (default: %(default)s)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=defaults.state_dir,
        help="directory for stack.json, which names the running stack's endpoints, tables, queues and event buses "
        "and is removed on stop; the data itself lives in memory (default: %(default)s)",
    )
    arguments = parser.parse_args(argv)
    if arguments.api_workers < 0:
        parser.error("--api-workers must be 0 or more")
    return StackOptions(
        host=arguments.host,
        port=arguments.port,
        moto_port=arguments.moto_port,
        api_workers=arguments.api_workers,
        state_dir=arguments.state_dir,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # One line per request is logged by the local API gateway; moto's access log and botocore's
    # endpoint notices would repeat it for every AWS call.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)

    stop_requested = threading.Event()

    def request_stop(signal_number: int, _frame: object) -> None:
        log.info("stopping on %s", signal.Signals(signal_number).name)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    try:
        stack = LocalStack(options)
    except OSError as error:
        log.error("cannot bind the moto server to %s:%d: %s", options.host, options.moto_port, error)
        return 1

    try:
        stack.start()
        for line in stack.ready_lines():
            print(line, flush=True)
        stop_requested.wait()
    except OSError as error:
        log.error("local stack failed to start: %s; choose free ports with --port and --moto-port", error)
        return 1
    finally:
        stack.stop()
    log.info("local stack stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
