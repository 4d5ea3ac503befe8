"""What is wrong with a policy file, said so that its owner can fix it without help."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    source: str  # the file
    line: int | None  # 1-based line in the file, when known
    where: str  # the part of the policy: "rules[high-value].when", "tiers[cfo]"
    message: str

    def __str__(self) -> str:
        at = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{at}: {self.where}: {self.message}" if self.where else f"{at}: {self.message}"


class PolicyError(Exception):
    """A policy file that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        source = problems[0].source if problems else "the policy"
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{count} in {source}:\n{lines}")
