"""Polls the flags table's stream in moto and invokes the stream function the way an event source mapping does."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any, Protocol

from local_stack.api_event import elapsed_ms
from local_stack.event_source_mapping import (
    Batch,
    InvocationResult,
    StreamMapping,
    decide,
    filter_records,
    on_failure_message,
)
from local_stack.functions import FunctionError
from local_stack.lambda_runtime import lambda_stream_record

log = logging.getLogger("local_stack.stream")

# Seconds between GetRecords calls on an idle shard. Lambda polls a shard about four times a second.
# NOTE: moto 5.2.5 keeps every shard iterator it returns, about 800 characters each. An idle stack
# polls four times a second, so its memory grows by an estimated 10 to 30 MB an hour.
POLL_INTERVAL_SECONDS = 0.25
# Upper bound of the pause before a failed batch is retried, in seconds.
MAX_RETRY_DELAY_SECONDS = 1.0


class Invoker(Protocol):
    def invoke(self, event: dict[str, Any]) -> Any: ...


class _Shard:
    def __init__(self, shard_id: str, iterator: str | None) -> None:
        self.shard_id = shard_id
        self.iterator = iterator
        self.buffer: list[dict[str, Any]] = []
        self.window_started: float | None = None


class StreamPoller:
    """One thread that reads every shard of a stream and invokes the function with one batch at a time.

    NOTE: shards are listed once at start, which covers moto's single shard per stream; a real
    stream's shard splits would need the listing repeated.
    """

    def __init__(
        self,
        mapping: StreamMapping,
        *,
        streams_client: Any,
        sqs_client: Any,
        stream_arn: str,
        on_failure_queue_url: str | None,
        function: Invoker,
        function_arn: str,
        region: str,
    ) -> None:
        self.mapping = mapping
        self.streams = streams_client
        self.sqs = sqs_client
        self.stream_arn = stream_arn
        self.on_failure_queue_url = on_failure_queue_url
        self.function = function
        self.function_arn = function_arn
        self.region = region
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-poller-{mapping.event_id}", daemon=True)
        self._shards: list[_Shard] = []

    def start(self) -> None:
        """List the stream's shards and start polling them from the mapping's starting position."""
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=self.mapping.starting_position,
            )["ShardIterator"]
            self._shards.append(_Shard(shard["ShardId"], iterator))
        self._thread.start()
        log.info(
            "stream poller started stream=%s shards=%d starting_position=%s batch_size=%d",
            self.stream_arn,
            len(self._shards),
            self.mapping.starting_position,
            self.mapping.batch_size,
        )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = any([self._poll_shard(shard) for shard in self._shards])
            except Exception:
                log.exception("stream poll failed stream=%s; retrying in 1 s", self.stream_arn)
                self._stop.wait(1.0)
                continue
            if not busy:
                self._stop.wait(POLL_INTERVAL_SECONDS)

    def _poll_shard(self, shard: _Shard) -> bool:
        """Read new records into the shard's buffer and invoke the function once a batch is due.

        Returns True when the shard still has records waiting, so the poller reads again at once.
        """
        fetched = 0
        if shard.iterator is not None:
            response = self.streams.get_records(ShardIterator=shard.iterator, Limit=self.mapping.batch_size)
            shard.iterator = response.get("NextShardIterator")
            records = [lambda_stream_record(record, self.stream_arn, self.region) for record in response["Records"]]
            fetched = len(records)
            # Records that match no filter are dropped before batching; the checkpoint moves past them.
            shard.buffer.extend(filter_records(self.mapping, records))
            if shard.buffer and shard.window_started is None:
                shard.window_started = time.monotonic()

        if not shard.buffer:
            shard.window_started = None
            return False

        full = len(shard.buffer) >= self.mapping.batch_size
        window_elapsed = time.monotonic() - (shard.window_started or 0) >= self.mapping.batching_window_seconds
        if not (full or window_elapsed or shard.iterator is None):
            return fetched > 0

        records = shard.buffer[: self.mapping.batch_size]
        del shard.buffer[: self.mapping.batch_size]
        shard.window_started = time.monotonic() if shard.buffer else None
        self._process(shard, records)
        return bool(shard.buffer) or fetched > 0

    def _process(self, shard: _Shard, records: list[dict[str, Any]]) -> None:
        """Invoke the function on one batch until every record is checkpointed or discarded."""
        pending = deque([Batch(tuple(records))])
        while pending:
            if self._stop.is_set():
                unprocessed = sum(len(batch.records) for batch in pending)
                log.warning("stream poller stopping with records not processed records=%d", unprocessed)
                return

            batch = pending.popleft()
            result = self._invoke(batch)
            outcome = decide(self.mapping, batch, result)

            if outcome.retry:
                pending.extendleft(reversed(outcome.retry))
                log.warning(
                    "stream batch retry reason=%s records=%d batches=%d retries=%d",
                    outcome.reason,
                    sum(len(retry.records) for retry in outcome.retry),
                    len(outcome.retry),
                    outcome.retry[0].retries,
                )
                self._stop.wait(min(0.1 * 2 ** outcome.retry[0].retries, MAX_RETRY_DELAY_SECONDS))
            if outcome.discarded is not None:
                self._send_to_destination(shard, outcome.discarded, result)

    def _invoke(self, batch: Batch) -> InvocationResult:
        started = time.perf_counter()
        try:
            response = self.function.invoke({"Records": list(batch.records)})
        except FunctionError as error:
            log.error(
                "stream batch records=%d failures=%d duration_ms=%.1f error=%s\n%s",
                len(batch.records),
                len(batch.records),
                elapsed_ms(started),
                error,
                error.traceback_text,
            )
            return InvocationResult(function_error="Unhandled")

        failures = response.get("batchItemFailures") if isinstance(response, dict) else None
        log.info(
            "stream batch records=%d failures=%d duration_ms=%.1f",
            len(batch.records),
            len(failures or []),
            elapsed_ms(started),
        )
        return InvocationResult(response=response)

    def _send_to_destination(self, shard: _Shard, batch: Batch, result: InvocationResult) -> None:
        message = on_failure_message(
            batch,
            result,
            shard_id=shard.shard_id,
            stream_arn=self.stream_arn,
            function_arn=self.function_arn,
            request_id=str(uuid.uuid4()),
            now=datetime.now(UTC),
        )
        info = message["DDBStreamBatchInfo"]
        if self.on_failure_queue_url is None:
            log.error(
                "stream batch discarded after retries with no on-failure destination records=%d start=%s end=%s",
                info["batchSize"],
                info["startSequenceNumber"],
                info["endSequenceNumber"],
            )
            return

        self.sqs.send_message(QueueUrl=self.on_failure_queue_url, MessageBody=json.dumps(message))
        log.error(
            "stream batch sent to on-failure destination queue=%s records=%d start=%s end=%s invocations=%d",
            self.on_failure_queue_url,
            info["batchSize"],
            info["startSequenceNumber"],
            info["endSequenceNumber"],
            batch.invocations,
        )
