"""The per-user cache (`$XDG_CACHE_HOME/bmru-sky130`, or ~/.cache/bmru-sky130) for downloaded
third-party files and generated corpora, never the repository. Several `bmru` processes may
fill it at once: every file appears whole, under its final name, or not at all."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bmru-sky130"


def temporary_beside(path: Path) -> Path:
    """A fresh, unique name in `path`'s folder to write to before `publish`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    return Path(name)


def publish(tmp: Path, path: Path) -> None:
    """Move a finished temporary file to its name (atomic; the last of racing writers wins,
    and each wrote the same content)."""
    os.replace(tmp, path)


def write_atomically(path: Path, data: bytes | str) -> None:
    tmp = temporary_beside(path)
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
