"""Each view's key, as its file's header states it (`Key: a, b`), is unique on the scenario
lake, and every view has rows there (a key test on an empty view would prove nothing)."""

from __future__ import annotations

import re

import pytest

from seslake.views import load_views
from seslake_cli.engines.local import LocalAthena

_KEY = re.compile(r"Key: ([a-z_]+(?:, [a-z_]+)*)")


def stated_key(name: str) -> list[str] | None:
    """The key in a view file's header comment; None for a view of one row."""
    (view,) = [v for v in load_views() if v.name == name]
    header = "\n".join(line for line in view.sql.splitlines() if line.startswith("--"))
    found = _KEY.search(header)
    if found is None:
        assert "one row" in header, f"{name}: the header states no key"
        return None
    return found.group(1).split(", ")


@pytest.mark.parametrize("name", [v.name for v in load_views()])
def test_the_stated_key_is_unique(scenario: LocalAthena, name: str) -> None:
    key = stated_key(name)
    rows = scenario.query(f"select count(*) as n from {name}").column("n").to_pylist()[0]
    if key is None:
        assert rows == 1
        return
    assert rows > 0
    listed = ", ".join(key)
    repeated = scenario.query(
        f"select {listed}, count(*) as copies from {name} group by {listed} having count(*) > 1"
    )
    assert repeated.to_pylist() == []
