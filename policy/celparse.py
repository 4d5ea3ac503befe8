"""The shape of a CEL expression: which parts are operands of which operator.

The cel library compiles an expression but does not show its tree, and type checking a
condition (`policy.condition_types`) needs the parts: the operands of `&&`, `||` and `? :`
(CEL evaluates them lazily, so an error in one can hide), and the two sides of a comparison.
This is a small recursive-descent parser over `policy.celscan` tokens, following the CEL
grammar's precedence. Like the scanner it only runs on source that compiled; anything it does
not expect raises `Unparsed`, and the caller then skips the checks that need the tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from policy.celscan import MACROS, Token, tokenize

RELATIONS = frozenset({"<", "<=", ">=", ">", "==", "!=", "in"})
_ADDITIVE = frozenset({"+", "-"})
_MULTIPLICATIVE = frozenset({"*", "/", "%"})
_Rule = Callable[[], "Node"]


class Unparsed(Exception):
    """The parser met something it does not know (the source compiled, so: a gap here)."""


@dataclass(frozen=True, slots=True)
class Node:
    """A part of an expression: tokens `first`..`last` (inclusive) of the source.

    kind is one of: "cond" (a ? b : c), "or", "and" (n-ary), "binary" (relations and
    arithmetic, `op` says which), "unary" (`op` is "!" or "-"), "group" (parentheses),
    "select" (x.f; `name` is f), "index" (x[i]), "call" (`name`; a method has its target
    as first child and `method` set), "list", "map", "message" and "atom" (a name or literal).
    """

    kind: str
    first: int
    last: int
    children: tuple[Node, ...] = ()
    op: str = ""
    name: str = ""
    method: bool = False

    @property
    def is_macro(self) -> bool:
        """A comprehension (`list.exists(x, ...)`): its arguments bind names."""
        return self.kind == "call" and self.method and self.name in MACROS

    @property
    def arguments(self) -> tuple[Node, ...]:
        """A call's arguments, without a method's target."""
        return self.children[1:] if self.method else self.children


def parse(source: str) -> tuple[list[Token], Node]:
    """The tokens of `source` and its tree. Raises Unparsed."""
    tokens = tokenize(source)
    if not tokens:
        raise Unparsed("empty")
    parser = _Parser(tokens)
    node = parser.expr()
    if parser.at < len(tokens):
        raise Unparsed(f"unexpected {tokens[parser.at].text!r}")
    return tokens, node


def text_of(source: str, tokens: list[Token], node: Node) -> str:
    return source[tokens[node.first].start : tokens[node.last].end]


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self, ahead: int = 0) -> str | None:
        index = self.at + ahead
        return self.tokens[index].text if index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> Token:
        if self.at >= len(self.tokens):
            raise Unparsed("the expression ends early")
        token = self.tokens[self.at]
        if expected is not None and token.text != expected:
            raise Unparsed(f"expected {expected!r}, found {token.text!r}")
        self.at += 1
        return token

    def expr(self) -> Node:
        start = self.at
        condition = self.lazy("or", "||", self.conjunction)
        if self.peek() != "?":
            return condition
        self.take("?")
        then = self.lazy("or", "||", self.conjunction)
        self.take(":")
        otherwise = self.expr()
        return Node("cond", start, self.at - 1, (condition, then, otherwise))

    def conjunction(self) -> Node:
        return self.lazy("and", "&&", self.relation)

    def lazy(self, kind: str, op: str, operand: _Rule) -> Node:
        start = self.at
        parts = [operand()]
        while self.peek() == op:
            self.take(op)
            parts.append(operand())
        if len(parts) == 1:
            return parts[0]
        return Node(kind, start, self.at - 1, tuple(parts), op=op)

    def relation(self) -> Node:
        return self.binary(RELATIONS, self.additive)

    def additive(self) -> Node:
        return self.binary(_ADDITIVE, self.multiplicative)

    def multiplicative(self) -> Node:
        return self.binary(_MULTIPLICATIVE, self.unary)

    def binary(self, ops: frozenset[str], operand: _Rule) -> Node:
        start = self.at
        node = operand()
        while (op := self.peek()) in ops and op is not None:
            self.take()
            right = operand()
            node = Node("binary", start, self.at - 1, (node, right), op=op)
        return node

    def unary(self) -> Node:
        op = self.peek()
        if op in ("!", "-"):
            start = self.at
            self.take()
            operand = self.unary()
            return Node("unary", start, self.at - 1, (operand,), op=op)
        return self.member()

    def member(self) -> Node:
        start = self.at
        node = self.primary()
        while (after := self.peek()) in (".", "["):
            self.take()
            if after == "[":
                index = self.expr()
                self.take("]")
                node = Node("index", start, self.at - 1, (node, index))
                continue
            name = self.ident()
            if self.peek() == "(":
                args = self.sequence("(", ")")
                node = Node("call", start, self.at - 1, (node, *args), name=name, method=True)
            else:
                node = Node("select", start, self.at - 1, (node,), name=name)
        return node

    def primary(self) -> Node:
        start = self.at
        first = self.peek()
        if first == "(":
            self.take("(")
            inner = self.expr()
            self.take(")")
            return Node("group", start, self.at - 1, (inner,))
        if first == "[":
            items = self.sequence("[", "]")
            return Node("list", start, self.at - 1, items)
        if first == "{":
            entries = self.entries(keys_are_names=False)
            return Node("map", start, self.at - 1, entries)
        if first == ".":  # a name from the root scope: `.amount`
            self.take(".")
        token = self.take()
        if token.kind == "ident" and self.peek() == "(":
            args = self.sequence("(", ")")
            return Node("call", start, self.at - 1, args, name=token.text)
        if token.kind == "ident" and self.peek() == "{":
            fields = self.entries(keys_are_names=True)
            return Node("message", start, self.at - 1, fields, name=token.text)
        if token.kind in ("ident", "number", "string"):
            return Node("atom", start, self.at - 1, name=token.text)
        raise Unparsed(f"unexpected {token.text!r}")

    def ident(self) -> str:
        token = self.take()
        if token.kind != "ident":
            raise Unparsed(f"expected a name, found {token.text!r}")
        return token.text

    def sequence(self, opening: str, closing: str) -> tuple[Node, ...]:
        """Comma-separated expressions between brackets (a trailing comma allowed)."""
        self.take(opening)
        items: list[Node] = []
        while self.peek() != closing:
            items.append(self.expr())
            if self.peek() != ",":
                break
            self.take(",")
        self.take(closing)
        return tuple(items)

    def entries(self, *, keys_are_names: bool) -> tuple[Node, ...]:
        """`{k: v, ...}` as k1, v1, k2, v2...; a message's field names are not children."""
        self.take("{")
        items: list[Node] = []
        while self.peek() != "}":
            if keys_are_names:
                self.ident()
            else:
                items.append(self.expr())
            self.take(":")
            items.append(self.expr())
            if self.peek() != ",":
                break
            self.take(",")
        self.take("}")
        return tuple(items)
