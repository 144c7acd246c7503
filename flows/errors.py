"""Bad input is reported as one line naming file, field and problem, exit code 2."""
from __future__ import annotations


class InputError(Exception):
    """Bad user input. Rendered by the CLI as `file: field: problem` and exit status 2."""

    exit_code = 2

    def __init__(self, source: object, field: str | None, problem: str):
        self.source, self.field, self.problem = (_printable(str(source)), _printable(field),
                                                 _printable(problem))
        super().__init__(": ".join(p for p in (self.source, self.field, self.problem) if p))


def _printable(text: str | None) -> str | None:
    """User text (a field name, a value) shown escaped where it is not printable: a control
    character in a YAML key must not break the one-line message."""
    if text is None:
        return None
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class CheckFailed(Exception):
    """A result left its band or a check found violations (exit status 1, no traceback)."""

    exit_code = 1
