"""An exception request: what an ERP feed, a slash command or the console files.

This is the one schema of intake. It is validated with pydantic at every edge, and it is the
shape the CEL conditions see (see `policy.conditions.activation`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

Urgency = Literal["low", "normal", "high", "critical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Supplier(_Strict):
    id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    risk_score: int | None = Field(default=None, ge=0, le=100)
    on_contract: StrictBool | None = None


class Budget(_Strict):
    remaining: float | None = None


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
    source: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=200)

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
