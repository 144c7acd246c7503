"""Bad input is reported as one line naming file, field and problem, exit code 2."""
from __future__ import annotations


class InputError(Exception):
    """Bad user input. Rendered by the CLI as `file: field: problem` and exit status 2."""

    exit_code = 2

    def __init__(self, source: object, field: str | None, problem: str):
        self.source, self.field, self.problem = str(source), field, problem
        super().__init__(": ".join(p for p in (self.source, field, problem) if p))


class CheckFailed(Exception):
    """A result left its band or a check found violations (exit status 1, no traceback)."""

    exit_code = 1
