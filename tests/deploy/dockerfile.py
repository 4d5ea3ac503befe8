"""The Dockerfile read as instructions (continuation lines joined, comments dropped)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, USER, ...
    arguments: str


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    found: list[Instruction] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
    return found


def final_stage(path: Path = DOCKERFILE) -> list[Instruction]:
    """The instructions of the last stage: the image that runs."""
    every = instructions(path)
    starts = [i for i, instruction in enumerate(every) if instruction.keyword == "FROM"]
    return every[starts[-1] :]


def image_user(path: Path = DOCKERFILE) -> tuple[int, int | None]:
    """The final stage's USER as (uid, gid); fails unless it is numeric."""
    users = [i.arguments for i in final_stage(path) if i.keyword == "USER"]
    assert users, "the image sets no USER: it would run as root"
    match = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
    assert match, f"USER {users[-1]!r} is not numeric: runAsNonRoot cannot verify a name"
    gid = match.group(2)
    return int(match.group(1)), int(gid) if gid is not None else None
