"""What an amendment changed and whether it is material (pure)."""

from __future__ import annotations

from policy.amendments import FieldChange, changed_fields, content_of


def test_fields_are_compared_one_map_key_deep_and_the_revision_is_not_content() -> None:
    before = {"title": "A", "amount": 10.0, "supplier": {"name": "X", "id": "1"}, "revision": 1}
    after = {"title": "A", "amount": 12.5, "supplier": {"name": "Y", "id": "1"}, "revision": 2}
    assert changed_fields(before, after) == (
        FieldChange("amount", 10.0, 12.5),
        FieldChange("supplier.name", "X", "Y"),
    )
    assert content_of(after) == {k: v for k, v in after.items() if k != "revision"}
    assert changed_fields({"a": 1}, {"a": 1, "revision": 3}) == ()


def test_a_change_reads_plainly() -> None:
    assert FieldChange("amount", 18250.0, 24900.0).describe("USD") == (
        "amount 18,250.00 -> 24,900.00 USD"
    )
    assert FieldChange("cost_center", None, "CC-1").describe() == "cost_center (none) -> CC-1"
    assert FieldChange.read({"field": "x", "before": 1, "after": 2}) == FieldChange("x", 1, 2)
    assert FieldChange.read({"before": 1}) is None
