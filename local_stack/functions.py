"""Runs a Lambda handler locally: in this process, or in worker processes that act as execution environments."""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from local_stack.lambda_runtime import LocalLambdaContext

log = logging.getLogger("local_stack.functions")

# How long a worker may take to start and import its handler, in seconds.
WORKER_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class FunctionSpec:
    """Settings of a local execution environment: handler, code directories in Lambda's order, environment."""

    function_name: str
    handler: str
    code_paths: tuple[str, ...]
    environment: dict[str, str]
    timeout_seconds: float = 10.0
    memory_limit_in_mb: int = 512


class FunctionError(Exception):
    """The handler raised, timed out or its environment died; Lambda reports this as a function error."""

    def __init__(self, error_type: str, message: str, traceback_text: str = "") -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.traceback_text = traceback_text


def load_handler(spec: FunctionSpec) -> Callable[[dict[str, Any], Any], Any]:
    """Put the code paths first on sys.path, apply the environment and import the handler function."""
    for path in reversed(spec.code_paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ.update(spec.environment)
    # Powertools warns on every invocation that publishes no metric (a GET, for example).
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    module_name, _, function_name = spec.handler.rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, function_name)


def _context(spec: FunctionSpec) -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name=spec.function_name,
        memory_limit_in_mb=spec.memory_limit_in_mb,
        timeout_seconds=spec.timeout_seconds,
    )


class InProcessFunction:
    """A handler imported into this process; a lock lets one invocation run at a time, as in one environment.

    NOTE: functions run in this process share one os.environ, so a variable that two of them set
    to different values keeps the value of the function loaded last.
    """

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._handler: Callable[[dict[str, Any], Any], Any] | None = None

    def start(self) -> None:
        self._handler = load_handler(self.spec)

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run the handler on ``event``; raises FunctionError when it raises."""
        assert self._handler is not None, "start() loads the handler"
        with self._lock:
            try:
                return self._handler(event, _context(self.spec))
            except Exception as error:
                raise FunctionError(type(error).__name__, str(error), traceback.format_exc()) from error

    def stop(self) -> None:
        return None


def _worker_main(connection: Connection, spec: FunctionSpec) -> None:
    """Entry point of a worker process: import the handler once, then run one invocation at a time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        handler = load_handler(spec)
    except Exception as error:
        connection.send(("error", type(error).__name__, str(error), traceback.format_exc()))
        return
    connection.send(("ready",))

    while True:
        try:
            event = connection.recv()
        except EOFError:
            return
        if event is None:
            return

        try:
            result = handler(event, _context(spec))
        except Exception as error:
            connection.send(("error", type(error).__name__, str(error), traceback.format_exc()))
        else:
            connection.send(("ok", result))


class _Worker:
    def __init__(self, context: Any, spec: FunctionSpec, number: int) -> None:
        self.connection, child_connection = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child_connection, spec), name=f"{spec.function_name}-{number}", daemon=True
        )
        self.process.start()
        child_connection.close()

    def wait_ready(self) -> None:
        if not self.connection.poll(WORKER_START_TIMEOUT):
            self.kill()
            raise RuntimeError(f"worker {self.process.name} did not start within {WORKER_START_TIMEOUT} s")
        message = self.connection.recv()
        if message[0] != "ready":
            self.kill()
            raise RuntimeError(f"worker {self.process.name} failed to import its handler:\n{message[3]}")

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


class WorkerPoolFunction:
    """A handler run in ``size`` worker processes ("spawn" start method), each one invocation at a time.

    Like Lambda execution environments, concurrent invocations run in parallel in separate
    processes; further invocations wait for a free worker.
    """

    def __init__(self, spec: FunctionSpec, size: int) -> None:
        self.spec = spec
        self.size = size
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: list[_Worker] = []
        self._started = 0

    def start(self) -> None:
        workers = [self._spawn() for _ in range(self.size)]
        for worker in workers:
            worker.wait_ready()
            self._idle.put(worker)

    def _spawn(self) -> _Worker:
        self._started += 1
        worker = _Worker(self._context, self.spec, self._started)
        self._workers.append(worker)
        return worker

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run the handler on ``event`` in a free worker; raises FunctionError when it raises or times out."""
        worker = self._idle.get()
        try:
            worker.connection.send(event)
            if not worker.connection.poll(self.spec.timeout_seconds + 1):
                raise FunctionError("Sandbox.Timedout", f"task timed out after {self.spec.timeout_seconds} seconds")
            message = worker.connection.recv()
        except FunctionError:
            worker = self._replace(worker)
            raise
        except (EOFError, BrokenPipeError, OSError) as error:
            worker = self._replace(worker)
            raise FunctionError("Runtime.ExitError", "the execution environment exited") from error
        finally:
            self._idle.put(worker)

        if message[0] == "error":
            raise FunctionError(message[1], message[2], message[3])
        return message[1]

    def _replace(self, worker: _Worker) -> _Worker:
        log.warning("replacing execution environment %s", worker.process.name)
        worker.kill()
        self._workers.remove(worker)
        replacement = self._spawn()
        replacement.wait_ready()
        return replacement

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers.clear()
