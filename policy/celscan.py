"""A lexical view of CEL source: tokens, variable references and absence tests.

The cel library compiles and runs expressions but cannot say *where* a name is used or which
map keys an expression reads. Policy errors want columns and explanations want the fields a
condition saw, so this scanner finds them. It only ever runs on source that compiled, which
keeps it small: it never has to recover from malformed input.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

# Names bound by the comprehension macros: `list.exists(x, x > 0)` binds `x`.
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
KEYWORDS = frozenset({"true", "false", "null", "in"})
# Type names are values in CEL (`type(amount) == double`), not variables.
TYPE_NAMES = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type", "dyn"}
)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*)
    | (?P<string>
        (?:[bB]?[rR]|[rR][bB])(?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n]*'|"[^"\n]*")
        | [bB]?(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"
                 |'(?:\\.|[^\\'\n])*'|"(?:\\.|[^\\"\n])*")
      )
    | (?P<number>0[xX][0-9a-fA-F]+[uU]?|\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+
        |\.\d+(?:[eE][+-]?\d+)?|\d+[uU]?)
    | (?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)
    | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%!<>?:.,()\[\]{}])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_PLAIN_STRING = re.compile(r"""^(?:'([^'\\]*)'|"([^"\\]*)")$""")

# An absence test `x == null` is a unit only where nothing binds tighter around it.
_OPENS = frozenset({"(", "[", "{", ",", "&&", "||", "?", ":"})
_BINDS_TIGHTER = frozenset({".", "[", "(", "+", "-", "*", "/", "%"})


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "string" | "number" | "ident" | "op" | "other"
    text: str
    start: int  # offset into the source
    end: int
    line: int  # 1-based, like the cel library's messages
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class Reference:
    """A use of a top-level variable, with the field it selects first, if any."""

    name: str
    field: str | None
    index: int  # of the variable's token
    token: Token
    field_token: Token | None
    in_has: bool  # the argument of has(): a test for presence, not a use

    @property
    def path(self) -> str:
        return f"{self.name}.{self.field}" if self.field is not None else self.name


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    line, line_start = 1, 0
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "other"
        start = match.start()
        if kind != "space":
            tokens.append(
                Token(kind, match.group(), start, match.end(), line, start - line_start + 1)
            )
        newlines = match.group().count("\n")
        if newlines:
            line += newlines
            line_start = start + match.group().rindex("\n") + 1
    return tokens


def references(source: str) -> list[Reference]:
    """Every use of a free variable, in source order (macro-bound names excluded)."""
    tokens = tokenize(source)
    scopes = _macro_scopes(tokens)
    found: list[Reference] = []
    for index, token in enumerate(tokens):
        if token.kind != "ident" or token.text in KEYWORDS or token.text in TYPE_NAMES:
            continue
        if _text(tokens, index - 1) == ".":  # a field or a method, not a variable
            continue
        if _text(tokens, index + 1) in ("(", "{"):  # a function call or a message literal
            continue
        if any(name == token.text and lo <= index <= hi for name, lo, hi in scopes):
            continue
        field, field_token = _selection(tokens, index)
        in_has = _text(tokens, index - 1) == "(" and _text(tokens, index - 2) == "has"
        found.append(Reference(token.text, field, index, token, field_token, in_has))
    return found


def bound_names(source: str) -> set[str]:
    """Names the comprehension macros bind anywhere in `source`."""
    return {name for name, _, _ in _macro_scopes(tokenize(source))}


def rewrite_absence_tests(source: str, names: Collection[str], marker: str) -> str:
    """Replace `x == null` / `x != null` (either side) for `names` by a marker variable.

    `amount == null` becomes `(MARKERamount)` and `amount != null` becomes `(!MARKERamount)`,
    so the caller can leave an absent variable unbound (any other use of it is an error)
    while the explicit absence test still works.
    """
    tokens = tokenize(source)
    edits: list[tuple[int, int, str]] = []
    for ref in references(source):
        if ref.field is not None or ref.name not in names:
            continue
        i = ref.index
        if _text(tokens, i + 2) == "null" and _text(tokens, i + 1) in ("==", "!="):
            first, last, op = i, i + 2, _text(tokens, i + 1)
        elif _text(tokens, i - 2) == "null" and _text(tokens, i - 1) in ("==", "!="):
            first, last, op = i - 2, i, _text(tokens, i - 1)
        else:
            continue
        if first > 0 and _text(tokens, first - 1) not in _OPENS:
            continue
        if _text(tokens, last + 1) in _BINDS_TIGHTER:
            continue
        negation = "!" if op == "!=" else ""
        edits.append((tokens[first].start, tokens[last].end, f"({negation}{marker}{ref.name})"))
    for start, end, text in reversed(edits):
        source = source[:start] + text + source[end:]
    return source


def _text(tokens: list[Token], index: int) -> str | None:
    return tokens[index].text if 0 <= index < len(tokens) else None


def _closing(tokens: list[Token], open_index: int) -> int:
    depth = 0
    for index in range(open_index, len(tokens)):
        text = tokens[index].text
        if text in ("(", "[", "{"):
            depth += 1
        elif text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


def _macro_scopes(tokens: list[Token]) -> list[tuple[str, int, int]]:
    """(bound name, first token index, last token index) of each comprehension macro."""
    scopes = []
    for index, token in enumerate(tokens):
        if (
            token.text == "."
            and _text(tokens, index + 1) in MACROS
            and _text(tokens, index + 2) == "("
            and index + 3 < len(tokens)
            and tokens[index + 3].kind == "ident"
            and _text(tokens, index + 4) == ","
        ):
            scopes.append((tokens[index + 3].text, index + 3, _closing(tokens, index + 2)))
    return scopes


def _selection(tokens: list[Token], index: int) -> tuple[str | None, Token | None]:
    """The field selected right after a variable: `v.field` or `v["field"]`."""
    after = _text(tokens, index + 1)
    if (
        after == "."
        and index + 2 < len(tokens)
        and tokens[index + 2].kind == "ident"
        and _text(tokens, index + 3) != "("
    ):
        return tokens[index + 2].text, tokens[index + 2]
    if (
        after == "["
        and index + 2 < len(tokens)
        and tokens[index + 2].kind == "string"
        and _text(tokens, index + 3) == "]"
    ):
        plain = _PLAIN_STRING.match(tokens[index + 2].text)
        if plain:
            key = plain.group(1) if plain.group(1) is not None else plain.group(2)
            return key, tokens[index + 2]
    return None, None
