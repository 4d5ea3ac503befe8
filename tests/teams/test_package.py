"""The Teams app package: a manifest with the app id filled in, and valid icons."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest

from bot.teams.package import MANIFEST_DIR, SHORT_NAME_MAX, build_package, main
from tests.teams.conftest import APP_ID


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_the_package_holds_the_manifest_and_both_icons(tmp_path: Path) -> None:
    package = build_package(APP_ID, tmp_path / "app.zip")
    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color = _png_size(archive.read("color.png"))
        outline = _png_size(archive.read("outline.png"))
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    assert "{{" not in json.dumps(manifest)
    assert manifest["bots"][0]["scopes"] == ["personal"]
    commands = {c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]}
    assert {"file", "approvals", "list", "status", "withdraw", "help"} <= commands
    assert (color, outline) == ((192, 192), (32, 32))  # what Teams requires


def test_a_bad_app_id_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--app-id", "not-a-guid", "--output", str(tmp_path / "x.zip")]) == 2
    assert "is not an app id" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()


def test_the_short_name_is_ours_and_fits_the_schema(tmp_path: Path) -> None:
    package = build_package(APP_ID, tmp_path / "app.zip")
    with zipfile.ZipFile(package) as archive:
        name = json.loads(archive.read("manifest.json"))["name"]
    assert name["short"] == "Procurement Exceptions"
    assert len(name["short"]) <= SHORT_NAME_MAX
    assert len(name["full"]) <= 100  # the schema's limit on name.full


@pytest.mark.parametrize("short", ["Approvals", "approvals", "", "x" * 31])
def test_a_taken_or_overlong_short_name_is_refused(tmp_path: Path, short: str) -> None:
    source = tmp_path / "manifest"
    source.mkdir()
    manifest = json.loads((MANIFEST_DIR / "manifest.json").read_text(encoding="utf-8"))
    manifest["name"]["short"] = short
    (source / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ValueError, match=r"name\.short"):
        build_package(APP_ID, tmp_path / "app.zip", source)
    assert not (tmp_path / "app.zip").exists()
