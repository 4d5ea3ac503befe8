"""Source systems with a webhook endpoint of their own (`sources:` in the policy).

A company with more than one ERP gives each its endpoint: a case filed with `source: erp`
is announced to `sources.erp.webhook_url`, signed with the secret in the environment
variable `secret_env` names; every other case goes to the default endpoint
(`APPROVALS_WEBHOOK_URL`), if there is one. The policy names the variable, never the secret:
policy versions are stored, shown in chat and exported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "default"  # the environment's endpoint (APPROVALS_WEBHOOK_URL)
MAX_URL = 2000
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


@dataclass(frozen=True, slots=True)
class Source:
    name: str  # the `source` of the cases it is for
    webhook_url: str
    secret_env: str  # the environment variable holding its whsec_ secret


def webhook_url_problem(url: str) -> str | None:
    """What is wrong with a webhook endpoint's URL, in words, or None."""
    if len(url) > MAX_URL:
        return f"is longer than {MAX_URL} characters"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return f"{url!r} has spaces or control characters; a URL has neither"
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError as error:
        return f"{url!r} is not a URL: {error}"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return f"{url!r} is not an http(s) URL like https://erp.example.com/hooks/approvals"
    if parsed.username or parsed.password:
        return "must not carry a user name or password (it would be logged and listed)"
    return None


def check_webhook_url(url: str) -> str:
    problem = webhook_url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return url


def check_env_name(name: str) -> str:
    if name.startswith("whsec_"):  # a secret pasted where its variable's name belongs
        raise ValueError(
            "is a secret, not the name of the environment variable holding it: remove it "
            "from the policy (policy versions are stored and shown), and name the variable"
        )
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an environment variable name (letters, digits and '_', "
            "like ERP_WEBHOOK_SECRET): name the variable that holds the secret, not the secret"
        )
    return name


def endpoint_for(
    sources: Mapping[str, Source], default_url: str | None, source: str | None
) -> tuple[str, str] | None:
    """(endpoint key, URL) that a case filed by `source` is announced to, or None: its
    source's own endpoint, else the default one (key DEFAULT_ENDPOINT), if either exists."""
    own = sources.get(source) if source is not None else None
    if own is not None:
        return own.name, own.webhook_url
    return (DEFAULT_ENDPOINT, default_url) if default_url else None


def check_source_name(name: str) -> str:
    if name == DEFAULT_ENDPOINT:
        raise ValueError(
            f"{name!r} names the environment's endpoint (APPROVALS_WEBHOOK_URL); "
            "give the source its own name"
        )
    return name
