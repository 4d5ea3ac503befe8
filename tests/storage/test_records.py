"""Case references and the lifecycle vocabulary."""

from __future__ import annotations

import pytest

from storage.records import CaseStatus, case_ref, parse_case_ref


@pytest.mark.parametrize(
    ("case_id", "ref"),
    [(1, "EXC-000001"), (123, "EXC-000123"), (999_999, "EXC-999999"), (1_234_567, "EXC-1234567")],
)
def test_case_ref_is_prefixed_and_zero_padded(case_id: int, ref: str) -> None:
    assert case_ref(case_id) == ref


@pytest.mark.parametrize(
    "text",
    ["EXC-000123", "exc-123", "Exc-0123", "123", "000123", "EXC123", "  EXC-000123 "],
)
def test_parse_case_ref_accepts_the_usual_spellings(text: str) -> None:
    assert parse_case_ref(text) == 123


@pytest.mark.parametrize(
    "text",
    ["", " ", "EXC-", "EXC", "abc", "0", "EXC-000000", "-5", "EXC--5", "EXC-1234567890", "12a"],
)
def test_parse_case_ref_rejects_anything_else(text: str) -> None:
    assert parse_case_ref(text) is None


@pytest.mark.parametrize("case_id", [1, 42, 123_456, 999_999_999])
def test_case_ref_round_trips(case_id: int) -> None:
    assert parse_case_ref(case_ref(case_id)) == case_id


def test_only_pending_is_not_final() -> None:
    assert [status for status in CaseStatus if not status.is_final] == [CaseStatus.PENDING]
