"""Why a catalogue file was refused: every bad row, each with the path to it and the reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class RowProblem:
    """One reason a catalogue file is bad, at a path like `shows[12].prices`."""

    path: str
    message: str

    @property
    def row(self) -> str:
        """The top-level row the problem is in, e.g. `shows[12]` (a section or `file` for file-level ones)."""
        end = self.path.find("]")
        return self.path[: end + 1] if end >= 0 else self.path.split(".")[0]

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InvalidCatalogue(Exception):
    """A catalogue file that cannot be imported; nothing of it was imported."""

    code = "catalogue_invalid"

    def __init__(self, problems: Iterable[RowProblem]) -> None:
        self.problems: tuple[RowProblem, ...] = tuple(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the catalogue file")

    @property
    def bad_rows(self) -> tuple[str, ...]:
        """The distinct rows with problems, in file order of first mention."""
        return tuple(dict.fromkeys(problem.row for problem in self.problems))

    def describe(self) -> str:
        """Every problem on its own line, for a person fixing the file."""
        return "\n".join(str(problem) for problem in self.problems)
