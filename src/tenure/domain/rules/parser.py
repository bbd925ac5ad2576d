"""Parse rule expressions (text) into the syntax tree of ``ast.py``.

The grammar is deliberately small: arithmetic, comparisons, ``and/or/not``,
``in``, ``between``, ``is null``, literals, names and calls of catalogue
functions. Anything outside it (attribute access, subscripts, SQL fragments,
comments, lambdas, ``__dunder__`` names) is refused with a
:class:`~tenure.domain.errors.RuleSyntaxError` that points at line and column.
Nothing is ever evaluated by Python or pasted into SQL: the tree is compiled
node by node.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from tenure.domain.errors import RuleSyntaxError
from tenure.domain.rules import ast
from tenure.domain.rules.functions import FUNCTIONS

GRAMMAR = r"""
// A rule is one expression. Precedence, loosest first:
//   or < and < not < comparison/in/between/is null < + - < * / < unary -
?start: expr

?expr: or_expr
?or_expr: and_expr
        | or_expr OR and_expr            -> or_op
?and_expr: not_expr
         | and_expr AND not_expr         -> and_op
?not_expr: predicate
         | NOT not_expr                  -> not_op
?predicate: sum
          | sum COMPARE sum              -> compare
          | sum IN "(" expr_list ")"     -> in_op
          | sum NOT IN "(" expr_list ")" -> not_in_op
          | sum BETWEEN sum AND sum      -> between
          | sum IS NULL                  -> is_null
          | sum IS NOT NULL              -> is_not_null
?sum: product
    | sum PLUS product                   -> arith
    | sum MINUS product                  -> arith
?product: unary
        | product STAR unary             -> arith
        | product SLASH unary            -> arith
?unary: atom
      | MINUS unary                      -> neg
?atom: NUMBER                            -> number
     | STRING                            -> string
     | TRUE                              -> true
     | FALSE                             -> false
     | DATE STRING                       -> date_literal
     | NAME "(" [expr_list] ")"          -> call
     | NAME                              -> name
     | "(" expr ")"
expr_list: expr ("," expr)*

OR: "or"i
AND: "and"i
NOT: "not"i
IN: "in"i
BETWEEN: "between"i
IS: "is"i
NULL: "null"i
TRUE: "true"i
FALSE: "false"i
DATE: "date"i
COMPARE: "<=" | ">=" | "!=" | "<>" | "==" | "=" | "<" | ">"
PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/
STRING: /'(?:[^'\\]|\\.)*'/

%import common.WS
%ignore WS
"""

KEYWORDS = frozenset({"or", "and", "not", "in", "between", "is", "null", "true", "false", "date"})

# Words that belong to SQL or Python, never to the rule language. Refusing them
# by name gives a clearer message than "unknown name" and keeps injection
# attempts from reaching the type checker's suggestions.
RESERVED = frozenset(
    {
        "select", "from", "where", "drop", "delete", "insert", "update", "union", "table",
        "join", "create", "alter", "truncate", "grant", "revoke", "exec", "execute", "into",
        "values", "case", "when", "then", "else", "end", "like", "limit", "order", "group",
        "having", "cast", "lambda", "import", "eval", "def", "class", "return", "yield",
        "exists", "with", "pragma", "attach", "copy", "call",
    }
)

_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "t": "\t", "r": "\r"}


def _check_name(token: Token) -> Token:
    word = str(token)
    if word.startswith("__"):
        raise RuleSyntaxError(
            f"names starting with '__' are not allowed ('{word}')", token.line or 1, token.column or 1
        )
    if word.lower() in RESERVED:
        raise RuleSyntaxError(
            f"'{word}' is not part of the rule language (rules are expressions, not SQL or Python)",
            token.line or 1,
            token.column or 1,
        )
    return token


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        GRAMMAR,
        parser="lalr",
        lexer="basic",
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"NAME": _check_name},
    )


def unescape(body: str) -> str:
    """Turn the inside of a quoted string literal into its value."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _pos(item: Any) -> dict[str, int]:
    if isinstance(item, Token):
        return {"line": item.line or 1, "column": item.column or 1}
    if isinstance(item, Tree) and not item.meta.empty:
        return {"line": item.meta.line, "column": item.meta.column}
    if isinstance(item, ast.Node):
        return {"line": item.line, "column": item.column}
    return {"line": 1, "column": 1}


_COMPARE_CANONICAL = {"==": "=", "<>": "!="}


@v_args(meta=True)
class _ToAst(Transformer):
    """Lark parse tree -> ``ast`` nodes, carrying positions."""

    def _at(self, meta: Any) -> dict[str, int]:
        if meta.empty:
            return {"line": 1, "column": 1}
        return {"line": meta.line, "column": meta.column}

    def number(self, meta: Any, children: list[Token]) -> ast.Node:
        text = str(children[0])
        value: int | float = int(text) if re.fullmatch(r"[0-9]+", text) else float(text)
        return ast.Number(value, **self._at(meta))

    def string(self, meta: Any, children: list[Token]) -> ast.Node:
        return ast.String(unescape(str(children[0])[1:-1]), **self._at(meta))

    def true(self, meta: Any, children: list[Token]) -> ast.Node:
        return ast.Boolean(True, **self._at(meta))

    def false(self, meta: Any, children: list[Token]) -> ast.Node:
        return ast.Boolean(False, **self._at(meta))

    def date_literal(self, meta: Any, children: list[Token]) -> ast.Node:
        token = children[1]
        text = unescape(str(token)[1:-1])
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError
            value = date.fromisoformat(text)
        except ValueError:
            raise RuleSyntaxError(
                f"'{text}' is not a date: write date 'YYYY-MM-DD'", token.line or 1, token.column or 1
            ) from None
        return ast.DateLiteral(value, **self._at(meta))

    def name(self, meta: Any, children: list[Token]) -> ast.Node:
        return ast.Name(str(children[0]), **self._at(meta))

    def expr_list(self, meta: Any, children: list[ast.Node]) -> tuple[ast.Node, ...]:
        return tuple(children)

    def call(self, meta: Any, children: list[Any]) -> ast.Node:
        name = children[0]
        if str(name) not in FUNCTIONS:
            # Refused here, not only by the type checker: a tree never holds a call
            # of something outside the catalogue.
            close = difflib.get_close_matches(str(name).lower(), list(FUNCTIONS), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise RuleSyntaxError(f"unknown function '{name}'{hint}", name.line or 1, name.column or 1)
        args = children[1] if len(children) > 1 else ()
        return ast.Call(str(name), tuple(args), **self._at(meta))

    def arith(self, meta: Any, children: list[Any]) -> ast.Node:
        left, op, right = children
        return ast.Binary(str(op), left, right, **self._at(meta))

    def compare(self, meta: Any, children: list[Any]) -> ast.Node:
        left, op, right = children
        sym = _COMPARE_CANONICAL.get(str(op), str(op))
        return ast.Binary(sym, left, right, **self._at(meta))

    def or_op(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.Binary("or", children[0], children[2], **self._at(meta))

    def and_op(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.Binary("and", children[0], children[2], **self._at(meta))

    def not_op(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.Unary("not", children[1], **self._at(meta))

    def neg(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.Unary("-", children[1], **self._at(meta))

    def in_op(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.In(children[0], tuple(children[2]), False, **self._at(meta))

    def not_in_op(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.In(children[0], tuple(children[3]), True, **self._at(meta))

    def between(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.Between(children[0], children[2], children[4], **self._at(meta))

    def is_null(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.IsNull(children[0], False, **self._at(meta))

    def is_not_null(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.IsNull(children[0], True, **self._at(meta))


_CHAR_HINTS = {
    ".": "attribute access with '.' is not allowed; use a plain name such as arpu",
    "[": "subscripts '[...]' are not allowed; use lag(x, k) for an earlier month",
    "]": "subscripts '[...]' are not allowed; use lag(x, k) for an earlier month",
    ";": "';' is not allowed: a rule is a single expression",
    ":": "':' is not allowed (no lambdas, slices or formats inside an expression)",
    '"': "strings use single quotes: 'text'",
    "{": "braces are only used for placeholders in reason texts",
    "}": "braces are only used for placeholders in reason texts",
    "#": "comments are not allowed in an expression",
    "'": "unterminated string: close it with a single quote",
}

_TOKEN_NAMES = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "COMPARE": "a comparison (= != < <= > >=)",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "$END": "the end of the expression",
}


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "the end of the expression"
    return f"'{token}'"


def _scan_comments(text: str) -> None:
    """Refuse SQL comment markers outside string literals.

    ``--`` would otherwise read as two minus signs and hide the rest of a line.
    """
    in_string = False
    i = 0
    line, col = 1, 1
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                col += 2
                continue
            if ch == "'":
                in_string = False
        elif ch == "'":
            in_string = True
        elif text.startswith("--", i) or text.startswith("/*", i):
            raise RuleSyntaxError(
                f"comments ('{text[i:i + 2]}') are not allowed; write '- -x' with a space for minus a negative",
                line,
                col,
                text,
            )
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
        i += 1


def _error_from_lark(exc: UnexpectedInput, text: str) -> RuleSyntaxError:
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        ch = text[pos] if pos < len(text) else ""
        hint = _CHAR_HINTS.get(ch, f"unexpected character '{ch}'")
        return RuleSyntaxError(hint, line, column, text)
    if isinstance(exc, UnexpectedEOF):
        line, column = _end_position(text)
        return RuleSyntaxError("the expression ends too early", line, column, text)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            line, column = _end_position(text)
            return RuleSyntaxError("the expression ends too early", line, column, text)
        line, column = token.line or line, token.column or column
        if token.type == "NULL":
            msg = "'null' can only be tested with 'is null' or 'is not null'"
        elif token.type in ("NAME", "NUMBER", "STRING", "TRUE", "FALSE", "DATE") and "NAME" not in exc.expected:
            msg = f"unexpected {_describe(token)}: an operator (and, or, +, =, ...) is missing before it"
        else:
            wanted = sorted({_TOKEN_NAMES.get(t, "") for t in exc.expected} - {""})
            msg = f"unexpected {_describe(token)}"
            if wanted and len(wanted) <= 4:
                msg += f"; expected {' or '.join(wanted)}"
        return RuleSyntaxError(msg, line, column, text)
    return RuleSyntaxError(str(exc), line, column, text)


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def parse(text: str) -> ast.Node:
    """Parse one rule expression into its syntax tree.

    >>> parse("declined_months(arpu, 3, 0.2) >= 3")
    Binary(op='>=', left=Call(name='declined_months', args=(Name(name='arpu'), Number(value=3), Number(value=0.2))), right=Number(value=3))

    Raises :class:`RuleSyntaxError` (with 1-based line and column) for text
    outside the grammar.
    """
    if not isinstance(text, str) or not text.strip():
        raise RuleSyntaxError("the expression is empty", 1, 1, text if isinstance(text, str) else "")
    _scan_comments(text)
    try:
        tree = _parser().parse(text)
        node = _ToAst().transform(tree)
    except RuleSyntaxError as exc:
        exc.expression = text
        raise
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, RuleSyntaxError):
            inner.expression = text
            raise inner from None
        raise
    except UnexpectedInput as exc:
        raise _error_from_lark(exc, text) from None
    if not isinstance(node, ast.Node):  # a lone token cannot happen with this grammar
        raise RuleSyntaxError("not an expression", 1, 1, text)
    return node
