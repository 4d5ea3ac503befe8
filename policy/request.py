"""An exception request: what an ERP feed, a slash command or the console files.

This is the one schema of intake. It is validated with pydantic at every edge, and it is the
shape the CEL conditions see (see `policy.conditions.activation`).
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    field_validator,
    model_serializer,
)

Urgency = Literal["low", "normal", "high", "critical"]

# Limits on what a request may carry, so that every value can be stored, compared and shown:
# numbers are finite and at most a quadrillion either way (an amount beyond that is a typo);
# text is valid Unicode without control characters other than tabs and line breaks.
MAX_NUMBER = 1e15
_FORBIDDEN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why `text` may not be stored, or None."""
    found = _FORBIDDEN_TEXT.search(text)
    if found is None:
        return None
    return f"contains the control character U+{ord(found.group()):04X}; remove it"


def number_problem(number: float) -> str | None:
    if isinstance(number, float) and not math.isfinite(number):
        return "must be a finite number"
    if abs(number) > MAX_NUMBER:
        return f"must be between -{MAX_NUMBER:,.0f} and {MAX_NUMBER:,.0f}"
    return None


def _check_value(value: Any) -> Any:
    """Text and numbers anywhere in `value` (a field, or a map's keys and values)."""
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else [value]
    for item in items:
        problem = None
        if isinstance(item, str):
            problem = text_problem(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            problem = number_problem(item)
        if problem is not None:
            raise ValueError(problem)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return _check_value(value)


class Supplier(_Strict):
    id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    risk_score: int | None = Field(default=None, ge=0, le=100)
    on_contract: StrictBool | None = None


class Budget(_Strict):
    remaining: float | None = Field(default=None, allow_inf_nan=False)


MAX_ATTACHMENTS = 20
_HTTPS_URL = re.compile(r"^https://[^\s<>|]+$")


class Attachment(_Strict):
    """An evidence link (the quote, the contract, the invoice scan): shown on every card."""

    name: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=2000, json_schema_extra={"pattern": _HTTPS_URL.pattern})

    @field_validator("url")
    @classmethod
    def _https(cls, url: str) -> str:
        if not _HTTPS_URL.match(url):
            raise ValueError("must be an https:// link without spaces, <, > or |")
        return url


class ExceptionRequest(_Strict):
    code: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    requester: str = Field(min_length=1, max_length=254)  # a person id or email in the policy
    amount: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    supplier: Supplier | None = None
    category: str | None = Field(default=None, max_length=100)
    cost_center: str | None = Field(default=None, max_length=64)
    project_code: str | None = Field(default=None, max_length=64)
    legal_entity: str | None = Field(default=None, max_length=64)
    urgency: Urgency | None = None
    budget: Budget | None = None
    references: dict[str, str] = Field(default_factory=dict, max_length=20)
    details: dict[str, Any] = Field(default_factory=dict, max_length=50)
    source: str | None = Field(default=None, min_length=1, max_length=64)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    # https only: a card links to it, and a plain-http or javascript: link is no evidence
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    # The source's own counter for `external_id`: a repost with a higher one amends the case.
    revision: int | None = Field(default=None, ge=0, le=2**31 - 1, strict=True)

    @model_serializer(mode="wrap")
    def _without_empty_attachments(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A request without attachments is stored (and hashed) as it was before they existed,
        # so a repeat of an earlier filing still matches it.
        data: dict[str, Any] = handler(self)
        if not data.get("attachments"):
            data.pop("attachments", None)
        return data

    @field_validator("references")
    @classmethod
    def _short_references(cls, value: dict[str, str]) -> dict[str, str]:
        for key, ref in value.items():
            if len(key) > 64 or len(ref) > 200:
                raise ValueError("reference names are at most 64 characters, values 200")
        return value

    @field_validator("details")
    @classmethod
    def _scalar_details(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Details feed CEL conditions and cards: keep them flat and printable.
        for key, item in value.items():
            if len(key) > 64:
                raise ValueError(f"detail name {key[:20]!r}... is longer than 64 characters")
            if item is not None and not isinstance(item, str | int | float | bool):
                raise ValueError(f"detail {key!r} must be a string, number, boolean or null")
            if isinstance(item, str) and len(item) > 500:
                raise ValueError(f"detail {key!r} is longer than 500 characters")
        return value
