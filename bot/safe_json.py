"""JSON from strangers: parsed with limits, so hostile input is a clear 4xx, never a crash.

`json.loads` alone turns `[` * 5000 into a RecursionError, a 5,000-digit number into a
ValueError about Python's integer limit, and accepts `NaN` and `Infinity`, which are not JSON
(and which PostgreSQL's JSON type refuses). `parse_json` refuses all of them with a message
that says what is wrong.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32  # objects and arrays inside each other; real requests use four or five


class UnsafeJSON(ValueError):
    """The text is not JSON we accept; the message says why, for the sender."""


def _no_constants(name: str) -> Any:
    raise UnsafeJSON(f"{name} is not a JSON number; send a finite number")


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (iteratively: no recursion). A number
    too large for a float (`1e999` parses as infinity) is refused on the way."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise UnsafeJSON("has a number too large to be finite")
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of `raw`, or UnsafeJSON saying what is wrong with it."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise UnsafeJSON("is not UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except UnsafeJSON:
        raise
    except RecursionError:
        raise UnsafeJSON(f"nests arrays or objects deeper than {max_depth} levels") from None
    except json.JSONDecodeError as error:
        raise UnsafeJSON(f"is not valid JSON: {error.msg} at position {error.pos}") from None
    except ValueError:  # Python's limit on the digits of an integer
        raise UnsafeJSON("has a number with too many digits") from None
    if _depth(value) > max_depth:
        raise UnsafeJSON(f"nests arrays or objects deeper than {max_depth} levels")
    return value
