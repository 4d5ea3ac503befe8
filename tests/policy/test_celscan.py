from __future__ import annotations

from policy.celscan import references, rewrite_absence_tests, tokenize


def paths(source: str) -> list[str]:
    return [ref.path for ref in references(source)]


def test_finds_variables_and_their_first_field() -> None:
    assert paths('amount > 1.0 && supplier.risk_score >= 70 && details["po"] == "x"') == [
        "amount",
        "supplier.risk_score",
        "details.po",
    ]


def test_skips_strings_comments_methods_and_functions() -> None:
    source = 'title.startsWith("amount") && size(code) > 0 // currency\n && has(budget.remaining)'
    assert paths(source) == ["title", "code", "budget.remaining"]


def test_macro_bound_names_are_not_variables_inside_the_macro_only() -> None:
    assert paths("[1, 2].exists(q, q > 0) && q") == ["q"]


def test_positions_are_one_based_line_and_column() -> None:
    token = references("true &&\n  amount > 1.0")[0].token
    assert (token.line, token.column) == (2, 3)


def test_tokenizes_triple_quoted_and_raw_strings() -> None:
    texts = [t.text for t in tokenize("r'a\\' + '''b'c''' + x")]
    assert texts == ["r'a\\'", "+", "'''b'c'''", "+", "x"]


def test_rewrites_absence_tests_on_either_side() -> None:
    rewritten = rewrite_absence_tests(
        "amount == null || null != currency", {"amount", "currency"}, "A_"
    )
    assert rewritten == "(A_amount) || (!A_currency)"


def test_leaves_tests_that_bind_tighter_alone() -> None:
    for source in ("x - amount == null", "amount == null.x", "!amount == null"):
        assert rewrite_absence_tests(source, {"amount"}, "A_") == source
