"""The lock files agree with pyproject.toml, and every installer installs from them.

scripts/lock writes them; this test fails (offline, in milliseconds) when a dependency was
added to or changed in pyproject.toml without running scripts/lock, when the dev lock's pins
drifted from the runtime lock's, or when a pin lost its hashes.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
BUILD_LOCK = ROOT / "requirements-build.lock"
UV_LOCK = ROOT / "requirements-uv.lock"
_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]*?))?\s*\\?$"
)


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    marker: str  # "" when unconditional
    hashes: tuple[str, ...]


def _pins(path: Path) -> list[Pin]:
    """Every `name==version [; marker]` line of a pip requirements file, with its hashes."""
    found: list[tuple[str, str, str, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            assert found, f"{path.name}: a hash before any pin: {line!r}"
            found[-1][3].append(stripped.removeprefix("--hash=").rstrip(" \\"))
            continue
        match = _PIN.match(stripped)
        assert match, f"{path.name}: not an exact pin: {line!r}"
        name = canonicalize_name(match["name"])
        found.append((name, match["version"], match["marker"] or "", []))
    return [Pin(name, version, marker, tuple(hashes)) for name, version, marker, hashes in found]


def _by_name(pins: list[Pin]) -> dict[str, list[Pin]]:
    found: dict[str, list[Pin]] = {}
    for pin in pins:
        found.setdefault(pin.name, []).append(pin)
    return found


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _runtime_requirements() -> list[Requirement]:
    return [Requirement(text) for text in _pyproject()["project"]["dependencies"]]


def _dev_requirements() -> list[Requirement]:
    return [Requirement(text) for text in _pyproject()["project"]["optional-dependencies"]["dev"]]


def _extras_requirements(requirement: Requirement) -> list[Requirement]:
    """What the requirement's extras add, from the installed distribution's metadata."""
    try:
        requires = metadata.requires(requirement.name) or []
    except metadata.PackageNotFoundError:
        return []
    added: list[Requirement] = []
    for text in requires:
        extra = Requirement(text)
        if extra.marker is None:
            continue
        for name in requirement.extras:
            if extra.marker.evaluate({"extra": name}) and not extra.marker.evaluate({"extra": ""}):
                added.append(extra)
    return added


def _assert_locked(requirements: list[Requirement], lock: Path) -> None:
    pins = _by_name(_pins(lock))
    problems: list[str] = []
    for requirement in requirements:
        for wanted in [requirement, *_extras_requirements(requirement)]:
            locked = pins.get(canonicalize_name(wanted.name))
            if not locked:
                problems.append(f"{wanted} is not in {lock.name}")
                continue
            for pin in locked:
                if not wanted.specifier.contains(pin.version, prereleases=True):
                    problems.append(f"{wanted} does not allow the locked {pin.name}=={pin.version}")
    assert not problems, "run scripts/lock:\n" + "\n".join(problems)


def test_every_runtime_dependency_is_in_the_runtime_lock() -> None:
    _assert_locked(_runtime_requirements(), RUNTIME_LOCK)


def test_every_dependency_and_dev_tool_is_in_the_dev_lock() -> None:
    _assert_locked(_runtime_requirements() + _dev_requirements(), DEV_LOCK)


def test_the_dev_lock_has_exactly_the_runtime_pins() -> None:
    # The same versions and files; a marker may be wider in the dev lock (more packages need it).
    dev = {(pin.name, pin.version, pin.hashes) for pin in _pins(DEV_LOCK)}
    missing = [
        f"{pin.name}=={pin.version}"
        for pin in _pins(RUNTIME_LOCK)
        if (pin.name, pin.version, pin.hashes) not in dev
    ]
    assert not missing, f"run scripts/lock: the dev lock differs from the runtime one: {missing}"


def test_the_runtime_lock_has_no_dev_tool() -> None:
    runtime = {canonicalize_name(r.name) for r in _runtime_requirements()}
    locked = _by_name(_pins(RUNTIME_LOCK))
    dev_only = [r.name for r in _dev_requirements() if canonicalize_name(r.name) not in runtime]
    assert not [name for name in dev_only if canonicalize_name(name) in locked]


@pytest.mark.parametrize(
    "lock", [RUNTIME_LOCK, DEV_LOCK, BUILD_LOCK, UV_LOCK], ids=lambda p: p.name
)
def test_every_pin_is_exact_and_hashed(lock: Path) -> None:
    pins = _pins(lock)
    assert pins
    unhashed = [pin.name for pin in pins if not pin.hashes]
    assert not unhashed, f"{lock.name}: pins without hashes: {unhashed}"
    assert all(h.startswith("sha256:") for pin in pins for h in pin.hashes)


def test_the_build_lock_has_the_build_backend() -> None:
    requires = [Requirement(text) for text in _pyproject()["build-system"]["requires"]]
    _assert_locked(requires, BUILD_LOCK)


def test_the_uv_lock_pins_the_uv_that_scripts_lock_names() -> None:
    version = re.search(r"^uv_version=(\S+)", (ROOT / "scripts" / "lock").read_text(), re.M)
    assert version is not None
    installers = {pin.name: pin.version for pin in _pins(UV_LOCK)}
    assert installers.keys() == {"uv", "pip"}
    assert installers["uv"] == version.group(1)


def test_the_runtime_installs_the_runtime_lock_and_the_tests_the_dev_lock() -> None:
    run = (ROOT / "scripts" / "run").read_text()
    test = (ROOT / "scripts" / "test").read_text()
    assert re.search(r"^scripts/bootstrap$", run, re.M), "scripts/run: the runtime lock only"
    assert re.search(r"^scripts/bootstrap --dev$", test, re.M)
    bootstrap = (ROOT / "scripts" / "bootstrap").read_text()
    assert "--require-hashes" in bootstrap
    assert "requirements.lock" in bootstrap
    assert "requirements-dev.lock" in bootstrap


def test_the_image_installs_the_runtime_lock_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"pip install --require-hashes --no-deps -r requirements\.lock", dockerfile)
    assert "requirements-dev.lock" not in dockerfile
    assert "[dev]" not in dockerfile
