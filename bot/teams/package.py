"""`python -m bot.teams.package --app-id ID`: the Teams app package (manifest + icons) as a zip,
ready to upload in Teams (Apps -> Manage your apps -> Upload an app) or the admin center."""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "manifests" / "teams"
PLACEHOLDER = "{{TEAMS_APP_ID}}"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SHORT_NAME_MAX = 30  # the Teams manifest schema's limit on name.short
# Names of Microsoft's own apps: people would not tell ours from theirs in the app list.
TAKEN_NAMES = frozenset({"approvals"})


def name_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with the manifest's short name, in words, or None."""
    short = str(manifest.get("name", {}).get("short", ""))
    if not short or len(short) > SHORT_NAME_MAX:
        return f"name.short {short!r} must be 1 to {SHORT_NAME_MAX} characters"
    if short.casefold() in TAKEN_NAMES:
        return f"name.short {short!r} is the name of a Microsoft app: choose another"
    return None


def build_package(app_id: str, output: Path, source: Path = MANIFEST_DIR) -> Path:
    """Write the zip: manifest.json with the app id filled in, and its two icons."""
    if not _GUID.match(app_id):
        raise ValueError(f"{app_id!r} is not an app id (a GUID like 0b6fe6d1-fece-...)")
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    if (problem := name_problem(manifest)) is not None:
        raise ValueError(problem)
    text = json.dumps(manifest, indent=2).replace(PLACEHOLDER, app_id)
    icons = manifest["icons"]
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", text)
        for name in (icons["color"], icons["outline"]):
            package.write(source / name, arcname=name)
    return output


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.teams.package", description=__doc__)
    parser.add_argument("--app-id", required=True, help="the bot's Microsoft App ID (a GUID)")
    parser.add_argument("--output", type=Path, default=Path("approvals-teams.zip"))
    args = parser.parse_args(argv)
    try:
        written = build_package(args.app_id, args.output)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"wrote {written}: upload it in Teams, or in the Teams admin center")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
