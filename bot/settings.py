"""Configuration: environment variables, read once into a typed object that fails fast."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.webhook_config import secret_problem
from policy.sources import webhook_url_problem

# The example policy ships inside the policy package, so it is found installed or not.
BUNDLED_POLICY = Path(str(resources.files("policy") / "examples" / "acme.yaml"))


class ConfigurationError(Exception):
    """Start-up cannot continue; the message names the variable to fix."""


# A platform is mounted when its variables are set; half a set is an error naming the rest.
_SLACK_HTTP = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
_TEAMS = ("TEAMS_APP_ID", "TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID")
MIN_SECRET_CHARS = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True)

    APPROVALS_DATABASE_URL: str = "sqlite+aiosqlite:///approvals.db"
    APPROVALS_POLICY_FILE: Path = BUNDLED_POLICY
    APPROVALS_API_TOKEN: str | None = None
    APPROVALS_HOST: str = "127.0.0.1"
    APPROVALS_PORT: int = Field(default=3000, ge=0, le=65535)
    APPROVALS_SWEEP_SECONDS: float = Field(default=30.0, gt=0)
    APPROVALS_LOG_LEVEL: str = "INFO"
    APPROVALS_LOG_FORMAT: Literal["text", "json"] = "text"  # json: one object a line
    # Links people get in chat (an audit export) point here; unset, chat hands out no links.
    APPROVALS_PUBLIC_URL: str | None = None
    # Signs those links; unset, a random key per process (bot.links says so in the log).
    APPROVALS_LINK_SECRET: str | None = None
    # Where every change of a case is POSTed, signed with the whsec_ secret (Standard
    # Webhooks), unless the policy gives the case's source an endpoint of its own.
    APPROVALS_WEBHOOK_URL: str | None = None
    APPROVALS_WEBHOOK_SECRET: str | None = None

    SLACK_BOT_TOKEN: str | None = None
    SLACK_SIGNING_SECRET: str | None = None
    SLACK_APP_TOKEN: str | None = None
    SLACK_API_URL: str | None = None
    # A Slack user whose id is not in the policy may be known by the email Slack reports: on,
    # since Slack confirms each member's address. Guests and people of other organisations
    # (Slack Connect) are never mapped by email, whatever this says.
    SLACK_EMAIL_IDENTITY: bool = True

    TEAMS_APP_ID: str | None = None
    TEAMS_APP_PASSWORD: str | None = None
    TEAMS_TENANT_ID: str | None = None
    TEAMS_AUTHORITY: str | None = None
    TEAMS_OPENID_METADATA_URL: str | None = None
    # A Teams user whose id is not in the policy may be known by the user principal name the
    # roster reports (a verified domain of the tenant): off, since a tenant's admins set
    # directory attributes freely. Guests and other tenants are never mapped, whatever this says.
    TEAMS_EMAIL_IDENTITY: bool = False

    @model_validator(mode="after")
    def _whole_platforms(self) -> Settings:
        # Slack over HTTP needs the bot token and the signing secret; Socket Mode needs the
        # bot token and the app-level token instead of the secret.
        slack_second = "SLACK_APP_TOKEN" if self.SLACK_APP_TOKEN else "SLACK_SIGNING_SECRET"
        for names in ((_SLACK_HTTP[0], slack_second), _TEAMS):
            present = [n for n in names if getattr(self, n)]
            missing = [n for n in names if not getattr(self, n)]
            if present and missing:
                raise ValueError(
                    f"{', '.join(present)} set but {', '.join(missing)} missing: "
                    "set every variable of the platform, or none"
                )
        return self

    @model_validator(mode="after")
    def _webhook_pair(self) -> Settings:
        pair = ("APPROVALS_WEBHOOK_URL", "APPROVALS_WEBHOOK_SECRET")
        missing = [name for name in pair if not getattr(self, name)]
        if len(missing) == 1:
            present = next(name for name in pair if name not in missing)
            raise ValueError(f"{present} set but {missing[0]} missing: set both, or neither")
        return self

    @field_validator("APPROVALS_WEBHOOK_URL")
    @classmethod
    def _webhook_url(cls, url: str | None) -> str | None:
        problem = webhook_url_problem(url) if url else None
        if problem is not None:
            raise ValueError(problem)
        return url or None

    @field_validator("APPROVALS_WEBHOOK_SECRET")
    @classmethod
    def _webhook_secret(cls, secret: str | None) -> str | None:
        problem = secret_problem(secret) if secret else None
        if problem is not None:
            raise ValueError(problem)
        return secret or None

    @field_validator("APPROVALS_DATABASE_URL")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        problem = database_url_problem(url)
        if problem is not None:
            raise ValueError(problem)
        return url

    @field_validator("APPROVALS_PUBLIC_URL")
    @classmethod
    def _public_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        parsed = urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query:
            raise ValueError(f"{url!r} is not a base URL like https://approvals.example.com")
        return url.rstrip("/")

    @field_validator("APPROVALS_LINK_SECRET")
    @classmethod
    def _long_secret(cls, secret: str | None) -> str | None:
        if secret is not None and len(secret) < MIN_SECRET_CHARS:
            raise ValueError(
                f"must be at least {MIN_SECRET_CHARS} characters (it signs links), "
                f"not {len(secret)}"
            )
        return secret

    @property
    def slack_enabled(self) -> bool:
        return bool(self.SLACK_BOT_TOKEN)

    @property
    def teams_enabled(self) -> bool:
        return bool(self.TEAMS_APP_ID)


SUPPORTED_DRIVERS = {
    "sqlite+aiosqlite": "sqlite+aiosqlite:///approvals.db",
    "postgresql+asyncpg": "postgresql+asyncpg://user:password@host/database",
}


def database_url_problem(url: str) -> str | None:
    """What is wrong with a database URL, in words, or None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"{url!r} is not a database URL (like {SUPPORTED_DRIVERS['sqlite+aiosqlite']})"
    driver = parsed.drivername
    if driver in SUPPORTED_DRIVERS:
        if driver.startswith("sqlite") and not parsed.database:
            return "names no SQLite file (like sqlite+aiosqlite:///approvals.db)"
        return None
    backend = parsed.get_backend_name()
    for supported, example in SUPPORTED_DRIVERS.items():
        if backend == supported.split("+")[0]:
            return f"{driver!r} is not the async driver: write {supported}:// (like {example})"
    sqlite, postgres = SUPPORTED_DRIVERS.values()
    return f"{backend!r} is not supported: use SQLite ({sqlite}) or PostgreSQL ({postgres})"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings from the environment (or `environ`), with one readable error if they are wrong."""
    try:
        if environ is None:
            return Settings()
        return Settings.model_validate(environ)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'configuration'}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise ConfigurationError(f"Configuration error: {problems}") from None
