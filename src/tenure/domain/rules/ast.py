"""The syntax tree of a rule expression: small frozen dataclasses.

Positions (``line``, ``column``, 1-based, inside the expression text) are kept
for error messages but excluded from equality, so two trees that say the same
thing compare equal wherever they were written.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Node:
    """Base of every node; ``line``/``column`` locate it in the source text."""

    line: int = field(default=1, compare=False, kw_only=True, repr=False)
    column: int = field(default=1, compare=False, kw_only=True, repr=False)

    def children(self) -> tuple[Node, ...]:
        return ()

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first, left to right."""
        yield self
        for child in self.children():
            yield from child.walk()


@dataclass(frozen=True)
class Number(Node):
    """A numeric literal; ``int`` when written without a point or exponent."""

    value: int | float


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True)
class DateLiteral(Node):
    """``date '2026-10-31'``."""

    value: date


@dataclass(frozen=True)
class Name(Node):
    """A name of the schema: a monthly measure (its current month) or an attribute."""

    name: str


@dataclass(frozen=True)
class Call(Node):
    """A call of a catalogue function, e.g. ``avg(arpu, 3)``."""

    name: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


ARITHMETIC = ("+", "-", "*", "/")
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
LOGICAL = ("and", "or")

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
"""Binary operators whose meaning is the host's own (Python values or Ibis
expressions alike). Division is not here: each target gives null for a zero
divisor its own way."""


@dataclass(frozen=True)
class Binary(Node):
    """Arithmetic (``+ - * /``), comparison (``= != < <= > >=``) or ``and`` / ``or``."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Unary(Node):
    """Unary minus (``-``) or logical ``not``."""

    op: str
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class In(Node):
    """``x in (a, b)`` or, with ``negated``, ``x not in (a, b)``."""

    operand: Node
    items: tuple[Node, ...]
    negated: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.operand, *self.items)


@dataclass(frozen=True)
class Between(Node):
    """``x between low and high`` (both ends included)."""

    operand: Node
    low: Node
    high: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand, self.low, self.high)


@dataclass(frozen=True)
class IsNull(Node):
    """``x is null`` or, with ``negated``, ``x is not null``."""

    operand: Node
    negated: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)
