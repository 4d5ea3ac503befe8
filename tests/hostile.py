"""What the property-based suites feed the entry points: JSON-like values of any shape
(numbers too large, NaN, text with control characters, nesting), and the bounds that keep
each suite to seconds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The properties hold whatever the database; SQLite keeps them quick.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
BOUNDED = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(max_size=40)
scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
)
anything = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=12,
)
