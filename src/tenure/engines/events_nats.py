"""NATS JetStream adapter of the event intake: a durable pull consumer.

Events are published on ``tenure.events.>`` into the stream ``TENURE_EVENTS``
(created on first use, with the dead-letter subject in it too, so dead
letters are kept). The consumer is durable: a restarted consumer resumes
where the last one acknowledged, and a message delivered but not
acknowledged (the process died mid-batch) comes back after ``ack_wait``.

Each pull takes what the stream has, up to ``batch`` messages, waiting at
most ``max_wait`` seconds to fill the batch once a first message is there
(the bound on the latency batching adds); the batch goes to the handler in
one call and is acknowledged after it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError

from tenure.domain.errors import TenureError
from tenure.engines.events import BatchHandler, ConsumeReport, Handler, one_by_one

DEFAULT_URL = "nats://127.0.0.1:4222"


@dataclass(frozen=True)
class NatsConfig:
    url: str = DEFAULT_URL
    stream: str = "TENURE_EVENTS"
    subject: str = "tenure.events.>"
    deadletter_subject: str = "tenure.deadletter"
    durable: str = "tenure-triggers"
    ack_wait: float = 30.0
    batch: int = 500
    max_wait: float = 0.1
    connect_timeout: float = 2.0


class BusUnavailable(TenureError):
    """The event bus cannot be reached."""


async def connect(cfg: NatsConfig):  # type: ignore[no-untyped-def]
    async def quiet(_exc: Exception) -> None:
        # Connection errors surface once, as BusUnavailable, not as a traceback per attempt.
        return None

    try:
        # The client retries an unreachable server on its own; the outer deadline ends that.
        return await asyncio.wait_for(
            nats.connect(cfg.url, connect_timeout=cfg.connect_timeout, allow_reconnect=False,
                         max_reconnect_attempts=1, error_cb=quiet),
            timeout=cfg.connect_timeout + 1.0,
        )
    except Exception as exc:  # noqa: BLE001 - every connection failure means the same to the caller
        raise BusUnavailable(f"NATS unreachable at {cfg.url}: {exc}") from None


async def ensure_stream(js, cfg: NatsConfig) -> None:  # type: ignore[no-untyped-def]
    """Create the stream when it does not exist yet (events and dead letters)."""
    try:
        await js.stream_info(cfg.stream)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=cfg.stream, subjects=[cfg.subject, cfg.deadletter_subject]))


class NatsEventSource:
    """:class:`tenure.engines.events.EventSource` on JetStream."""

    def __init__(self, cfg: NatsConfig | None = None) -> None:
        self.cfg = cfg or NatsConfig()

    def consume(self, handler: Handler, max_events: int | None = None, idle_timeout: float = 5.0) -> ConsumeReport:
        return self.consume_batches(one_by_one(handler), max_events, idle_timeout)

    def consume_batches(self, handler: BatchHandler, max_events: int | None = None,
                        idle_timeout: float = 5.0) -> ConsumeReport:
        return asyncio.run(self._consume(handler, max_events, idle_timeout))

    async def _consume(self, handler: BatchHandler, max_events: int | None, idle_timeout: float) -> ConsumeReport:
        cfg = self.cfg
        report = ConsumeReport()
        loop = asyncio.get_running_loop()
        # The handler runs in a thread of its own, so the next batch is pulled from the server
        # while this one waits on the store (its queries and commit).
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tenure-events")
        ahead: asyncio.Task | None = None
        nc = await connect(cfg)
        try:
            js = nc.jetstream()
            await ensure_stream(js, cfg)
            sub = await js.pull_subscribe(
                cfg.subject, durable=cfg.durable, stream=cfg.stream,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=cfg.ack_wait),
            )

            async def pull(want: int, wait: float) -> list:  # type: ignore[type-arg]
                try:
                    # The pull returns at once with what the stream holds; when it is empty it
                    # waits for the first message and then at most max_wait to fill the batch.
                    return await sub.fetch(batch=want, timeout=max(0.01, min(cfg.max_wait, wait)))
                except (NatsTimeout, TimeoutError):
                    # nats-py raises its own timeout on an empty pull, but a plain
                    # asyncio timeout from inside the fetch when the machine is slow;
                    # both mean "nothing this time", not a broken consumer.
                    return []

            idle_since = time.monotonic()
            while max_events is None or report.handled < max_events:
                if ahead is not None:  # pulled while the last batch was handled: handle it first
                    msgs, ahead = await ahead, None
                else:
                    left = idle_timeout - (time.monotonic() - idle_since)
                    if left <= 0:
                        break
                    want = cfg.batch if max_events is None else min(cfg.batch, max_events - report.handled)
                    msgs = await pull(want, left)
                if not msgs:
                    continue
                idle_since = time.monotonic()
                more = None if max_events is None else max_events - report.handled - len(msgs)
                if more is None or more > 0:
                    ahead = asyncio.ensure_future(pull(min(cfg.batch, more or cfg.batch), cfg.max_wait))
                # The handler commits before it returns; if it raises, the whole batch (and the
                # one pulled ahead) stays unacknowledged and JetStream redelivers it after ack_wait.
                outcomes = await loop.run_in_executor(worker, handler, [m.data for m in msgs])
                if len(outcomes) != len(msgs):
                    raise TenureError(f"the handler returned {len(outcomes)} outcomes for {len(msgs)} events")
                for msg, outcome in zip(msgs, outcomes, strict=True):
                    if outcome.decision == "dead_letter":
                        await js.publish(cfg.deadletter_subject, msg.data,
                                         headers={"Tenure-Reason": outcome.reason[:1000].replace("\n", " ")})
                for msg in msgs:
                    await msg.ack()
                # One round trip makes sure the server has every ack of the batch.
                await nc.flush()
                for outcome in outcomes:
                    report.count(outcome)
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(BaseException):
                    await ahead
            worker.shutdown(wait=True)
            await nc.close()
        return report


def publish(cfg: NatsConfig, payloads: list[bytes], subject: str | None = None) -> int:
    """Publish payloads to the events subject (``tenure.events.<type>`` style subjects are up to the caller)."""

    async def run() -> int:
        nc = await connect(cfg)
        try:
            js = nc.jetstream()
            await ensure_stream(js, cfg)
            target = subject or cfg.subject.replace(">", "any")
            for p in payloads:
                await js.publish(target, p)
            return len(payloads)
        finally:
            await nc.close()

    return asyncio.run(run())
