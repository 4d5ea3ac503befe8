"""The intake API's JSON, as pydantic models: the bodies it accepts besides the exception
request (`policy.request`), and the answers besides the case document
(`handlers.case_document`, which builds every case answer and webhook body). `bot.openapi`
describes the API from these same models, so the document cannot drift from what the
server sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from handlers.case_document import CaseOut, OutModel
from policy.lifecycle import CaseStatus
from policy.request import text_problem

MAX_PAGE = 200
DEFAULT_PAGE = 50


class CaseList(OutModel):
    items: list[CaseOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class Problem(OutModel):
    field: str
    message: str


class ErrorOut(OutModel):
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
