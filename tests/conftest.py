"""Shared test helpers: the `bmru` CLI as a subprocess, and skips for missing tools."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest


def run_bmru(*args: str, cwd=None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the CLI the way a user does: a fresh process, exit code and both streams."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("BMRU_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "flows.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)


def pytest_collection_modifyitems(config, items):
    missing = {"ngspice": shutil.which("ngspice") is None,
               "browser": shutil.which("chromium") is None and shutil.which("chromium-browser") is None}
    for marker, absent in missing.items():
        if absent:
            skip = pytest.mark.skip(reason=f"{'chromium' if marker == 'browser' else marker} is not installed "
                                           "(make install)")
            for item in items:
                if marker in item.keywords:
                    item.add_marker(skip)
