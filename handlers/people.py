"""Names for messages: people are stored by id and shown by name (see `policy.names`)."""

from __future__ import annotations

from policy.names import name_of as name_of
from policy.names import names_of as names_of
