"""What the storage hands back: the case's records and its lifecycle vocabulary, which are
the case model's own (`policy.case_records`, `policy.lifecycle`)."""

from __future__ import annotations

from policy.case_records import CaseRecord, DecisionRecord, StepRecord
from policy.lifecycle import (
    CASE_PREFIX,
    Action,
    CaseStatus,
    StepStatus,
    case_ref,
    parse_case_ref,
)

__all__ = [
    "CASE_PREFIX",
    "Action",
    "CaseRecord",
    "CaseStatus",
    "DecisionRecord",
    "StepRecord",
    "StepStatus",
    "case_ref",
    "parse_case_ref",
]
