"""The intake API's JSON, as pydantic models: the bodies it accepts besides the exception
request (`policy.request`), and everything it answers. `bot.case_json` builds every case
answer through `CaseOut`, and `bot.openapi` describes the API from these same models, so the
document cannot drift from what the server sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from policy.lifecycle import CaseStatus, StepStatus
from policy.model import Outcome
from policy.request import text_problem
from storage.audit import format_time

MAX_PAGE = 200
DEFAULT_PAGE = 50

# Every moment the API sends: UTC, microseconds, `Z` (2026-03-02T13:00:00.000000Z).
Timestamp = Annotated[
    datetime,
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class _Out(BaseModel):
    # Forbidding extras puts `additionalProperties: false` in the document: a field the
    # server sends but does not describe is a test failure, not a surprise for a client.
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepOut(_Out):
    tier: str
    approvers: list[str]
    mode: str = Field(description="any, all, or a number of approvals")
    required: int = Field(description="approvals the step needs")
    status: StepStatus
    due_at: Timestamp | None
    policy_version: str


class RuleOut(_Out):
    """A rule that fired: its policy reference and why."""

    id: str
    ref: str | None
    url: str | None
    flags: list[str]
    why: str


class SkippedRuleOut(_Out):
    """A rule that could not be evaluated on the request (a field it needs is absent)."""

    id: str
    reason: str
    ref: str | None


class HistoryOut(_Out):
    at: Timestamp
    actor: str = Field(description="a person id, or system:NAME (system:intake:SOURCE)")
    action: str = Field(description="the audit event: case.filed, decision.approved, ...")
    rationale: str | None
    platform: str | None


class CaseOut(_Out):
    """A case with its route and history, as every route of the API returns it."""

    id: str = Field(pattern=r"^EXC-[0-9]{6,}$", examples=["EXC-000123"])
    status: CaseStatus
    outcome: Outcome = Field(description="what policy decided before any human saw it")
    code: str
    title: str
    requester: str = Field(description="the requester's person id")
    amount: float | None
    currency: str | None
    route: list[StepOut]
    rules: list[RuleOut]
    skipped_rules: list[SkippedRuleOut]
    flags: list[str]
    rationale_required: bool
    policy_version: str
    created_at: Timestamp
    closed_at: Timestamp | None
    request: dict[str, Any] = Field(description="the request as filed, requester as an id")
    history: list[HistoryOut]


class CaseList(_Out):
    items: list[CaseOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class Problem(_Out):
    field: str
    message: str


class ErrorOut(_Out):
    error: str
    errors: list[Problem] | None = Field(default=None, description="each bad field (422)")
    correlation_id: str | None = Field(default=None, description="to quote to support (500)")


# --- what the API accepts ------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        problem = text_problem(value) if isinstance(value, str) else None
        if problem is not None:
            raise ValueError(problem)
        return value


Source = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="the source system acting: the `source` the case was filed with",
        examples=["erp"],
    ),
]


class WithdrawBody(_In):
    """The source cancelled what the exception was about (the PO was cancelled)."""

    source: Source
    reason: str | None = Field(default=None, max_length=3000, examples=["PO cancelled"])


class CommentBody(_In):
    """A note from the source system; `author` is who wrote it there (free text)."""

    source: Source
    author: str = Field(
        min_length=1,
        max_length=200,
        json_schema_extra={"pattern": r"^[^\r\n\t]*$"},
        examples=["J. Buyer (SAP)"],
    )
    text: str = Field(min_length=1, max_length=3000)

    @field_validator("author")
    @classmethod
    def _one_line(cls, author: str) -> str:
        if any(ch in author for ch in "\r\n\t"):
            raise ValueError("must be one line: a name, without tabs or line breaks")
        return author


def _moment(value: object) -> object:
    """An ISO 8601 date (midnight UTC) or date-time (UTC if it names no offset)."""
    if not isinstance(value, str):
        return value
    try:
        at = datetime.fromisoformat(value.strip().upper())
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(
            "must be an ISO 8601 date or date-time, e.g. 2026-03-01 or 2026-03-01T09:00:00Z"
        ) from None


Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class ListQuery(_In):
    """The filters of `GET /api/v1/exceptions`, from the query string."""

    status: CaseStatus | None = None
    code: str | None = Field(default=None, max_length=64)
    requester: str | None = Field(default=None, max_length=254, description="person id or email")
    source: str | None = Field(default=None, max_length=64)
    since: Moment | None = Field(default=None, description="filed at or after")
    until: Moment | None = Field(default=None, description="filed before")
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(default=None, max_length=200, description="`next_cursor`")


WebhookType = Literal[
    "exception.filed",
    "exception.approved",
    "exception.rejected",
    "exception.expired",
    "exception.withdrawn",
    "exception.revoked",
    "exception.amended",
    "exception.reopened",
    "exception.info_requested",
]


class WebhookEvent(_Out):
    """What a webhook receives: the kind of change, when, and the case as it is now."""

    type: WebhookType
    timestamp: Timestamp
    data: CaseOut
