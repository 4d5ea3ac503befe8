from __future__ import annotations

from datetime import timedelta

import pytest

from policy.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_parses_units_in_descending_order(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "4", "4x", "4 h", "h", "30m1h", "1h1h", "1.5h", "-4h", "4H", " 4h", "1w"]
)
def test_rejects_anything_else_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="use a number and a unit") as raised:
        parse_duration(text)
    assert repr(text) in str(raised.value)


def test_rejects_zero() -> None:
    with pytest.raises(ValueError, match="longer than zero"):
        parse_duration("0h0m")


def test_message_names_the_text() -> None:
    with pytest.raises(ValueError, match=r"^bad duration '4x': use a number and a unit \(s, m"):
        parse_duration("4x")


@pytest.mark.parametrize("text", ["45s", "30m", "4h", "2d", "1h30m", "1d12h", "1d1s"])
def test_format_is_the_inverse(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


def test_format_normalizes() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(hours=48)) == "2d"


def test_format_refuses_zero() -> None:
    with pytest.raises(ValueError, match="positive"):
        format_duration(timedelta(0))
