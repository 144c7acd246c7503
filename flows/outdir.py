"""Output directories that never lose a user's file (ARCHITECTURE §4, "Outputs are safe").

Every command that writes a directory goes through `OutputDir`:

- it is checked before any work (`OutputDir.check`): a command writes into a new or empty
  directory, or one an earlier run of the same command wrote (its marker `.bmru-output.json`
  lists the files that run wrote); any other non-empty directory is refused unless `--force`;
- the outputs are built in a temporary sibling and moved into place at the end
  (`OutputDir.write`); a failure or an interrupt removes the sibling and leaves the previous
  contents as they were;
- moving into place replaces only files this command wrote before (or, with `--force`,
  same-named files), never one of the command's inputs, never a directory it did not create;
  stale files of the previous run are removed only when its marker lists them.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from flows.errors import InputError

MARKER = ".bmru-output.json"
MARKER_SCHEMA = "bmru-output/1"
_TEMP_PREFIX = ".bmru-tmp-"


def _marker(directory: Path) -> dict:
    """The marker's per-command file lists ({} when there is none or it is unreadable)."""
    try:
        data = json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    commands = data.get("commands") if isinstance(data, dict) else None
    return commands if isinstance(commands, dict) else {}


def _files_below(root: Path) -> list[str]:
    """Every file below `root`, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


@dataclass
class OutputDir:
    """Where one command writes: `target` resolved, who may write there, what it must not touch."""

    target: Path
    command: str
    force: bool = False
    inputs: tuple[Path, ...] = ()
    #: commands whose directories this one may also add its files to (`report` into a build)
    writes_into: tuple[str, ...] = ()
    _owned: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def check(cls, target: str | os.PathLike, command: str, *, force: bool = False,
              inputs: Iterable[str | os.PathLike] = (), writes_into: Iterable[str] = ()) -> "OutputDir":
        """Refuse (InputError, exit 2) an output path this command may not write, before any work."""
        raw = Path(target)
        option = "-o/--output"
        if not str(target).strip():
            raise InputError("command line", option, "is empty; give a directory")
        resolved = Path(os.path.abspath(raw))
        out = cls(resolved, command, force, tuple(Path(os.path.abspath(p)) for p in inputs),
                  tuple(writes_into))
        for p in out.inputs:
            if p == resolved:
                raise InputError(raw, None, "is an input of this command; give a new directory for the outputs")
        if resolved.exists() and not resolved.is_dir():
            raise InputError(raw, None, "exists and is not a directory; give a new directory for the outputs")
        probe = resolved
        while not probe.exists():
            probe = probe.parent
        if not probe.is_dir():
            raise InputError(raw, None, f"cannot be created: {probe} is not a directory")
        if not os.access(probe, os.W_OK | os.X_OK):
            raise InputError(raw, None, f"cannot be written: no permission in {probe}")
        if resolved.is_dir():
            commands = _marker(resolved)
            mine = commands.get(command, {}).get("files", [])
            out._owned = {f for f in mine if isinstance(f, str)}
            ours = command in commands or any(c in commands for c in out.writes_into)
            if not ours and not force and any(not e.name.startswith(_TEMP_PREFIX) for e in resolved.iterdir()):
                raise InputError(raw, None, f"is not empty and was not written by 'bmru {command}'; "
                                            "give a new directory, or --force to add this command's files "
                                            "and keep every other file")
        return out

    @contextlib.contextmanager
    def write(self) -> Iterator[Path]:
        """Yield a fresh temporary directory for the outputs; on success move them into place.
        On failure the temporary directory goes, and so do the parents this call created."""
        created = [p for p in (self.target.parent, *self.target.parent.parents) if not p.exists()]
        parent = self.target if self.target.is_dir() else self.target.parent
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{self.command}-", dir=parent))
        committed = False
        try:
            yield tmp
            with _signals_held():
                self._commit(tmp)
                committed = True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if not committed:
                with contextlib.suppress(OSError):
                    for p in created:
                        p.rmdir()

    def _commit(self, tmp: Path) -> None:
        produced = _files_below(tmp)
        if not self.target.exists():
            self._write_marker(tmp, produced)
            tmp.rename(self.target)
            return
        self._refuse_collisions(produced)
        for name in produced:
            dest = self.target / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / name, dest)
        for stale in sorted(self._owned - set(produced), reverse=True):
            path = self.target / stale
            if path.is_file() or path.is_symlink():
                path.unlink()
            with contextlib.suppress(OSError):  # only directories this command left empty
                for d in list(path.parents)[: len(Path(stale).parents) - 1]:
                    d.rmdir()
        self._write_marker(self.target, produced)

    def _refuse_collisions(self, produced: list[str]) -> None:
        """Nothing is moved unless every output can go where it belongs without losing a file."""
        for name in produced:
            dest = self.target / name
            for folder in list(dest.parents)[: len(Path(name).parents) - 1]:
                if folder.exists() and not folder.is_dir():
                    raise InputError(folder, None, f"is a file where 'bmru {self.command}' writes the folder "
                                                   f"of {name}; move it away")
            if not dest.exists() and not dest.is_symlink():
                continue
            if dest.is_dir() and not dest.is_symlink():
                raise InputError(dest, None, f"is a directory where 'bmru {self.command}' writes a file; "
                                             "move it away")
            if any(_same_file(dest, p) for p in self.inputs):
                raise InputError(dest, None, f"is an input of this command and would be overwritten by its "
                                             f"output {name}; write the outputs elsewhere")
            if name not in self._owned and not self.force:
                raise InputError(dest, None, f"was not written by 'bmru {self.command}'; move it, give a new "
                                             "directory, or --force to replace it")

    def _write_marker(self, directory: Path, produced: list[str]) -> None:
        commands = _marker(directory)
        commands[self.command] = {"files": produced}
        text = json.dumps({"schema": MARKER_SCHEMA, "commands": dict(sorted(commands.items()))}, indent=1)
        tmp = directory / f"{MARKER}.{os.getpid()}.tmp"
        tmp.write_text(text + "\n")
        os.replace(tmp, directory / MARKER)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT/SIGTERM wait until the outputs are in place: a move is never left half done."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def add_arguments(parser, help_dir: str = "output directory") -> None:
    """`-o/--output DIR` and `--force`, the same for every command that writes a directory."""
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="DIR",
                        help=f"{help_dir}: a new or empty directory, or one this command wrote before "
                             "(its files are replaced, every other file is kept)")
    parser.add_argument("--force", action="store_true",
                        help="also write into a non-empty directory this command did not write: replaces "
                             "only same-named files, keeps every other file, never touches the inputs")
