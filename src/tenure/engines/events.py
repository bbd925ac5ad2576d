"""The boundary between an event bus and the event intake.

An adapter delivers raw payloads (bytes) to a handler, one at a time, and
acknowledges a payload only after the handler has returned — the handler
commits its unit of work before it returns, so delivery is at-least-once and
the effects are exactly-once (the intake de-duplicates on the event id). A
handler that raises leaves the payload unacknowledged: the bus redelivers it.
A payload the handler calls a dead letter is also published to the bus's
dead-letter destination before it is acknowledged.

A new bus is one module implementing :class:`EventSource` (see
``docs/triggers.md`` for Kafka).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class HandledEvent(Protocol):
    """What the handler tells the adapter: only whether the payload was a dead letter, and why."""

    @property
    def decision(self) -> str: ...

    @property
    def reason(self) -> str: ...


Handler = Callable[[bytes], HandledEvent]


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
