from __future__ import annotations

import pytest

from policy.celparse import Node, Unparsed, parse, text_of


def shape(source: str) -> str:
    """The tree as nested kind(op/name) with the text of each leaf."""
    tokens, root = parse(source)

    def show(node: Node) -> str:
        label = node.op or node.name
        if not node.children:
            return text_of(source, tokens, node)
        inner = ", ".join(show(child) for child in node.children)
        return f"{node.kind}{'.' + label if label else ''}({inner})"

    return show(root)


def test_precedence_follows_cel() -> None:
    assert shape("a && b || c ? d : e") == "cond(or.||(and.&&(a, b), c), d, e)"
    assert shape("a == b + c * d") == "binary.==(a, binary.+(b, binary.*(c, d)))"
    assert shape("!a && -b < 1") == "and.&&(unary.!(a), binary.<(unary.-(b), 1))"
    assert shape("a ? b : c ? d : e") == "cond(a, b, cond(c, d, e))"


def test_members_calls_and_literals() -> None:
    assert shape('supplier.risk_score >= "70"') == ('binary.>=(select.risk_score(supplier), "70")')
    assert shape("size(x) in [1, 2,]") == "binary.in(call.size(x), list(1, 2))"
    assert shape('details["po"].startsWith("a")') == ('call.startsWith(index(details, "po"), "a")')
    assert shape('{"a": 1}.a') == 'select.a(map("a", 1))'
    assert shape("(a)") == "group(a)"


def test_macros_know_their_body() -> None:
    _, root = parse("[1].exists(x, x > 0)")
    assert root.is_macro
    assert [child.kind for child in root.arguments] == ["atom", "binary"]


@pytest.mark.parametrize("source", ["", "a b", "(a"])
def test_what_it_cannot_read_is_unparsed(source: str) -> None:
    with pytest.raises(Unparsed):
        parse(source)
