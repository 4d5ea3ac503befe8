"""Webhook endpoints and their secrets: checked at start-up, resolved when sending.

The default endpoint is the environment's pair (APPROVALS_WEBHOOK_URL and
APPROVALS_WEBHOOK_SECRET, in `Settings`); a source in the policy's `sources` has its own URL
and names the variable holding its secret (`secret_env`). Secrets are read when a message is
sent and never stored with it.

A `secret_env` naming a variable that is not set is a warning, not a policy error: a policy
version is shared by every replica and checked where its secrets may not be (CI, a laptop,
a chat proposal), so whether this process has the secret is a fact of this process. Its
messages are queued all the same and wait, retried, until the variable is set (up to the
retry window), so nothing is lost while an operator fixes it. A variable that is set to
something that is not a secret is a configuration error at start-up: that is a typo to fix.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass

from standardwebhooks.webhooks import Webhook

from handlers.context import Services
from policy.model import Policy
from policy.sources import DEFAULT_ENDPOINT

PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # the Standard Webhooks spec asks for 24 to 64 random bytes


def secret_problem(secret: str) -> str | None:
    """What is wrong with a `whsec_` secret, in words that never repeat it, or None."""
    if not secret.startswith(PREFIX):
        return "must be a Standard Webhooks secret: whsec_ followed by base64"
    encoded = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return "is not base64 after whsec_ (A-Z, a-z, 0-9, + and /)"
    if len(key) < MIN_KEY_BYTES:
        return f"is {len(key)} bytes after whsec_; use at least {MIN_KEY_BYTES} random bytes"
    try:
        Webhook(secret)
    except Exception as error:  # the package's own refusal, whatever its type
        return f"cannot be loaded as a webhook secret: {type(error).__name__}"
    return None


@dataclass(frozen=True, slots=True)
class SecretFinding:
    where: str  # sources.erp.secret_env
    variable: str
    message: str  # about the variable: "is not set here: ..."
    fatal: bool  # set, but not a secret: start-up stops

    def __str__(self) -> str:
        return f"{self.where}: {self.variable} {self.message}"


def source_secret_findings(policy: Policy, environ: Mapping[str, str]) -> list[SecretFinding]:
    """What is wrong, here, with the secrets the policy's sources name."""
    findings = []
    for source in policy.sources.values():
        where, variable = f"sources.{source.name}.secret_env", source.secret_env
        value = environ.get(variable)
        if not value:
            message = (
                f"is not set here: webhooks for source {source.name} are queued and wait "
                "until it is"
            )
            findings.append(SecretFinding(where, variable, message, fatal=False))
        elif (problem := secret_problem(value)) is not None:
            findings.append(SecretFinding(where, variable, problem, fatal=True))
    return findings


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    secret: str


class Endpoints:
    """Resolves an endpoint key to its URL and secret as configured now."""

    def __init__(
        self,
        services: Services,
        default_secret: str | None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.services = services
        self.default_secret = default_secret
        self.environ = os.environ if environ is None else environ

    def resolve(self, key: str) -> Target | str:
        """The target, or why there is none now (for the message's last error)."""
        if key == DEFAULT_ENDPOINT:
            url, secret = self.services.default_webhook_url, self.default_secret
            if not url or not secret:
                return "APPROVALS_WEBHOOK_URL and APPROVALS_WEBHOOK_SECRET are not set"
            return Target(url, secret)
        source = self.services.policy.sources.get(key)
        if source is None:
            return f"the policy in force has no webhook endpoint for source {key!r}"
        value = self.environ.get(source.secret_env)
        if not value:
            return f"{source.secret_env} (sources.{key}.secret_env) is not set"
        problem = secret_problem(value)
        if problem is not None:
            return f"{source.secret_env} (sources.{key}.secret_env) {problem}"
        return Target(source.webhook_url, value)

    @property
    def configured(self) -> bool:
        return bool(self.services.default_webhook_url or self.services.policy.sources)
