"""The ngspice builds the runner can use, chosen by the BMRU_ENGINE environment variable.

`ngspice` (default): Debian's ngspice 39, a system package. `ngspice46`: the Debian
backports build of ngspice 46, whose KLU sparse solver every deck switches on. It is
unpacked into the project's `.tools/` by `make ngspice46` (`install_backports`),
never over the system's ngspice, from the machine's own Debian archive. Measured equal and
faster in benchmarks/flat_decks.py; Debian's stays the default because it is what a fresh
machine has.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / ".tools"
VARIABLE = "BMRU_ENGINE"
_UNPACKED = TOOLS / "ngspice46"


@dataclass(frozen=True)
class Engine:
    """One ngspice build: its binary, the directory of the spinit it reads (SPICE_SCRIPTS;
    None: its compiled-in one) and the option lines every deck gains on it."""

    name: str
    binary: str
    scripts: Path | None = None
    options: tuple[str, ...] = ()
    #: what to run, quoted, for the "not installed" message
    how_to_install: str = "'make install'"

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        if self.scripts is not None:
            env["SPICE_SCRIPTS"] = str(self.scripts)
        return env

    def prepare(self, deck: str) -> str:
        """The deck with this engine's options after its title line."""
        if not self.options:
            return deck
        title, _, rest = deck.partition("\n")
        return "\n".join([title, *self.options, rest])


DEBIAN = Engine("ngspice", "ngspice", how_to_install="'make install' or 'apt-get install ngspice libngspice0'")
BACKPORTS = Engine("ngspice46", str(_UNPACKED / "usr" / "bin" / "ngspice"), _UNPACKED / "scripts",
                   (".option klu",), how_to_install="'make ngspice46'")
ENGINES = {engine.name: engine for engine in (DEBIAN, BACKPORTS)}


def selected() -> Engine:
    """The engine BMRU_ENGINE names (default Debian's ngspice)."""
    name = os.environ.get(VARIABLE, DEBIAN.name)
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"{VARIABLE}={name!r} is not an engine; choose one of {', '.join(ENGINES)}") from None


def _codename() -> str:
    found = re.search(r"^VERSION_CODENAME=(\S+)", Path("/etc/os-release").read_text(), re.M)
    if not found:
        raise RuntimeError("/etc/os-release names no VERSION_CODENAME: not a Debian release")
    return found.group(1)


def archive(codename: str, apt: Path = Path("/etc/apt")) -> tuple[str, str]:
    """(URI, signed-by keyring) of the Debian archive this machine's apt sources use for
    `codename`, from deb822 `.sources` files or one-line `sources.list` entries."""
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
            if codename in fields.get("Suites", "").split() and "main" in fields.get("Components", ""):
                return fields["URIs"].split()[0], fields.get("Signed-By", "")
    for path in [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            found = re.match(r"deb\s+(?:\[(?P<opts>[^]]*)\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)\s", line)
            if found and found["suite"] == codename:
                keyring = re.search(r"signed-by=(\S+)", found["opts"] or "")
                return found["uri"], keyring.group(1) if keyring else ""
    raise RuntimeError(f"no apt source for Debian {codename} in /etc/apt")


def install_backports() -> Path:
    """Download ngspice from `<codename>-backports` with a private apt state under .tools/apt
    (the system's sources and package lists are read, never changed) and unpack it."""
    codename = _codename()
    uri, keyring = archive(codename)
    state = TOOLS / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "debs"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    signed = f"[signed-by={keyring}] " if keyring else ""
    (state / "sources.list").write_text(f"deb {signed}{uri} {codename}-backports main\n")
    options = [f"-oDir::Etc::SourceList={state / 'sources.list'}", "-oDir::Etc::SourceParts=/nonexistent",
               f"-oDir::State::Lists={state / 'lists'}", f"-oDir::Cache={state / 'cache'}",
               "-oDebug::NoLocking=1", "-oAPT::Sandbox::User=root"]
    subprocess.run(["apt-get", *options, "-qq", "update"], check=True)
    subprocess.run(["apt-get", *options, "-qq", "download", f"ngspice/{codename}-backports"],
                   cwd=state / "debs", check=True)
    package = max((state / "debs").glob("ngspice_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(package), str(_UNPACKED)], check=True)
    # its spinit, pointed at the unpacked code models; the runner's .spiceinit sets the team
    spinit = (_UNPACKED / "usr/share/ngspice/scripts/spinit").read_text()
    spinit = re.sub(r"^set num_threads=.*\n", "", spinit, flags=re.M)
    spinit = re.sub(r"^(\s*(?:codemodel|osdi)\s+)/", rf"\g<1>{_UNPACKED}/", spinit, flags=re.M)
    BACKPORTS.scripts.mkdir(exist_ok=True)
    (BACKPORTS.scripts / "spinit").write_text(spinit)
    version = subprocess.run([BACKPORTS.binary, "--version"], capture_output=True, text=True,
                             env=BACKPORTS.environment(dict(os.environ))).stdout
    print(f"{package.name} unpacked into {_UNPACKED}: {version.strip().splitlines()[1].strip('* ')}")
    return _UNPACKED

