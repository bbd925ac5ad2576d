"""The boundary between an event bus and the event intake.

An adapter delivers raw payloads (bytes) to a handler in batches (whatever
one pull brought, up to a configured size) and acknowledges the batch only
after the handler has returned — the handler commits its unit of work before
it returns, so delivery is at-least-once and the effects are exactly-once
(the intake de-duplicates on the event id). A handler that raises leaves the
whole batch unacknowledged: the bus redelivers it. A payload the handler
calls a dead letter is also published to the bus's dead-letter destination
before it is acknowledged.

A new bus is one module implementing :class:`EventSource` (see
``docs/triggers.md`` for Kafka).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class HandledEvent(Protocol):
    """What the handler tells the adapter: only whether the payload was a dead letter, and why."""

    @property
    def decision(self) -> str: ...

    @property
    def reason(self) -> str: ...


Handler = Callable[[bytes], HandledEvent]
"""One payload -> its outcome (committed before it returns)."""
BatchHandler = Callable[[list[bytes]], Sequence[HandledEvent]]
"""A batch of payloads -> one outcome per payload, in order (all committed before it returns)."""


def one_by_one(handler: Handler) -> BatchHandler:
    """A batch handler that calls ``handler`` on each payload in turn."""
    return lambda payloads: [handler(p) for p in payloads]


@dataclass
class ConsumeReport:
    """What one consume run did."""

    handled: int = 0
    dead_letters: int = 0
    decisions: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: HandledEvent) -> None:
        self.handled += 1
        self.decisions[outcome.decision] = self.decisions.get(outcome.decision, 0) + 1
        if outcome.decision == "dead_letter":
            self.dead_letters += 1

    def to_dict(self) -> dict[str, object]:
        return {"handled": self.handled, "dead_letters": self.dead_letters, "decisions": dict(self.decisions)}


class EventSource(Protocol):
    """An event bus seen from the intake."""

    def consume(self, handler: Handler, max_events: int | None = None, idle_timeout: float = 5.0) -> ConsumeReport:
        """Deliver payloads to ``handler`` until ``max_events`` were handled or none came for ``idle_timeout`` s."""
        ...

    def consume_batches(self, handler: BatchHandler, max_events: int | None = None,
                        idle_timeout: float = 5.0) -> ConsumeReport:
        """As :meth:`consume`, a batch of payloads per call; the batch is acknowledged after the call returns."""
        ...
