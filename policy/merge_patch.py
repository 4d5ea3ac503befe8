"""JSON Merge Patch (RFC 7396): how `PATCH /api/v1/exceptions/{id}` changes a stored request.

A member set to null is removed, an object is merged member by member, anything else
replaces the target. Section 2 of the RFC gives the algorithm; this is it, on plain JSON
values (dicts, lists, strings, numbers, booleans, None).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """The target with the patch applied (neither argument is changed)."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result
