"""A source system acting on a case through the intake API (`Case.may_withdraw`,
`Case.may_comment`): the source that filed it may; another source, or any source on a case
filed without one, may not."""

from __future__ import annotations

from policy.case import Verdict
from policy.lifecycle import CaseStatus, StepStatus
from tests.policy.cases import case, step
from tests.policy.helpers import build_policy, person

POLICY = build_policy([person("rita"), person("lee")])
ERP = "system:intake:erp"


def test_the_source_that_filed_a_pending_case_may_withdraw_it() -> None:
    filed = case(step(1, ("lee",)), source="erp")
    assert filed.may_withdraw(ERP).allowed
    assert filed.may_withdraw("rita").allowed  # the requester still may


def test_another_source_may_not() -> None:
    refused = case(step(1, ("lee",)), source="erp").may_withdraw("system:intake:sap")
    assert refused.verdict is Verdict.REFUSED
    assert refused.reason == (
        "EXC-000001 was filed by the source 'erp'; the source 'sap' cannot withdraw it."
    )
    no_source = case(step(1, ("lee",))).may_withdraw(ERP)
    assert no_source.verdict is Verdict.REFUSED
    assert no_source.reason is not None
    assert "was not filed by a source" in no_source.reason


def test_a_final_case_is_closed_to_its_source_too() -> None:
    done = case(
        step(1, ("lee",), status=StepStatus.APPROVED), source="erp", status=CaseStatus.APPROVED
    )
    assert done.may_withdraw(ERP).verdict is Verdict.CLOSED


def test_the_filing_source_may_comment_and_no_other() -> None:
    filed = case(step(1, ("lee",)), source="erp")
    assert filed.may_comment(POLICY, ERP).allowed
    other = filed.may_comment(POLICY, "system:intake:sap")
    assert other.verdict is Verdict.REFUSED
    assert other.reason is not None
    assert "cannot comment on it" in other.reason
