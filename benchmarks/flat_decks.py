"""Flat decks against the wheel's subckt decks, side by side from one run.

1. cards: drain currents of every geometry the cells use, five corners × three
   temperatures, flat against subckt form (largest relative difference; limit 0.1 %);
   1b: σ of the threshold offsets, the wheel's `_mm` draws and the project's (limit 5 %).
2. groups: k = 8 identical parallel units as separate instances with their own mismatch
   offsets against one m=8 instance carrying the mean offset and one carrying
   `pdk.flat.combine` (the weak-inversion sum); the slope factor n measured at the bias.
3. kws_d4: the 98-step sequence (`examples/kws_d4.yaml --diode-units 8` on
   `examples/kws/noise_50.csv`, the `bmru simulate` deck): the landed deck (subckt form,
   `.tran` print step step/50, reltol 1e-4) against the flat form at step/50, at step/10, at
   the default step/10 with reltol 1e-3, and that on ngspice 46 + KLU when `make ngspice46`
   has installed it: ngspice CPU and wall time, peak memory, time points, Newton iterations, BMRU states
   (every cell's `qb` at every step), largest output change.
4. kws_d4 mismatch sample (seed 1) in the flat form against its nominal run (the subckt
   form with one instance per unit took > 25 CPU-minutes: only with --old-mismatch).
5. operating points of the power-sweep network at d = 16/32/64 (`flows.bmru.sweep.deck`, one
   input vector), subckt form up to --old-max-d (d = 64 needs > 8 GB in that form).
6. settings: the default deck against reltol 1e-4 and on ngspice 46 + KLU, on the flip-flop,
   the user-shaped networks of issue 14 (--user-seeds) and a second kws_d4 sequence.

Times: ngspice CPU (user + system of its process: steadier on a shared machine) and wall;
peak memory: the largest VmHWM of the ngspice process, polled every 20 ms.
Usage: .venv/bin/python benchmarks/flat_decks.py [--skip cards,sigma,groups,kws,mc,dims,settings]
       [--dims 16,32,64] [--old-max-d 32] [--old-mismatch] [--user-seeds 0-7]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ["OMP_NUM_THREADS"] = "1"

from flows.bmru.random_networks import random_user_case  # noqa: E402
from flows.bmru.simulate import Bench  # noqa: E402
from flows.bmru.sweep import deck as sweep_deck, sweep_circuit, sweep_inputs, sweep_network  # noqa: E402
from pdk import engines, flat, unit  # noqa: E402
from pdk.devices import MODELS  # noqa: E402
from pdk.models import CORNERS, TEMPERATURES, Conditions  # noqa: E402
from pdk.ngspice import Job, simulate, simulate_many  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
UNITS = (unit.NMOS, unit.PMOS, unit.INVERTER, unit.NSWITCH, unit.PSWITCH)


@contextmanager
def measured(result: dict):
    """Fills `result` with wall s, CPU s of the ngspice children and their peak RSS (MB)."""
    peak = {"mb": 0.0}
    done = threading.Event()

    def poll():
        me = str(os.getpid())
        while not done.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
                    peak["mb"] = max(peak["mb"], int(fields["VmHWM"].split()[0]) / 1024)
            done.wait(0.02)

    watcher = threading.Thread(target=poll, daemon=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    watcher.start()
    try:
        yield result
    finally:
        done.set()
        watcher.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result.update(wall=time.perf_counter() - start, peak_mb=peak["mb"],
                      cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime))


def cards() -> None:
    geometries = [(u.device, u.w, u.l) for u in UNITS]
    jobs = []
    for corner in CORNERS:
        for temp in TEMPERATURES:
            c = Conditions(corner, temp=temp)
            jobs.append(Job(f"sub_{corner}_{temp:g}", flat.iv_deck(geometries, c.lines())))
            jobs.append(Job(f"flat_{corner}_{temp:g}",
                            flat.flatten(flat.iv_deck(geometries, c.lines(fet_subckts=False)))[0]))
    with measured({}) as m:
        plots = simulate_many(jobs, workers=2, progress=False)
    print(f"1. cards: {len(geometries)} geometries × {len(CORNERS)} corners × {len(TEMPERATURES)} temperatures, "
          f"Vgs 0…1.8 V, |Vds| 0.1 and 0.9 V ({m['cpu']:.1f} s ngspice CPU)")
    print(f"   {'geometry':<22}" + "".join(f"{c:>8}" for c in CORNERS) + "   (largest |flat/subckt − 1| over T, Vgs, Vds, %)")
    for i, (device, w, l) in enumerate(geometries):
        row = []
        for corner in CORNERS:
            worst = 0.0
            for temp in TEMPERATURES:
                a_plot, b_plot = plots[f"sub_{corner}_{temp:g}"][0], plots[f"flat_{corner}_{temp:g}"][0]
                for j in range(2):
                    a, b = np.abs(a_plot[f"i(vd{i}_{j})"]), np.abs(b_plot[f"i(vd{i}_{j})"])
                    on = a > 1e-13
                    worst = max(worst, float(np.max(np.abs(b[on] / a[on] - 1))))
            row.append(worst * 100)
        bars = "".join(f"{x:>8.1e}" for x in row)
        print(f"   {device} {w:g}/{l:g}".ljust(25) + bars + ("   ok" if max(row) < 0.1 else "   OVER 0.1 %"))


def sigmas(draws: int = 1000) -> None:
    """σ of `delvto` under the wheel's `_mm` models (ngspice draws, read back per instance)
    against the project's formula and its own numpy draws."""
    print(f"\n1b. mismatch σ: {draws} draws per geometry, ngspice `_mm` and the project's, against pdk.flat.sigma")
    per_deck = 250
    for u in UNITS:
        prefix = f"m.x{{}}.m{MODELS[u.device]}"
        wheel = []
        for seed in range(1, draws // per_deck + 1):
            lines = [Conditions(mismatch=True, seed=seed).lines(), "Vd d 0 0.9", "Vg g 0 0.4"]
            lines += [f"X{i} d g 0 0 {MODELS[u.device]} W={u.w:g} L={u.l:g}" for i in range(per_deck)]
            lines += [".save " + " ".join(f"@{prefix.format(i)}[delvto]" for i in range(per_deck)), ".op", ".end"]
            plot = simulate("* mm\n" + "\n".join(lines) + "\n", f"mm{seed}")[0]
            wheel += [plot[f"v(@{prefix.format(i)}[delvto])"][0] for i in range(per_deck)]
        ours = [flat.offset(1, f"x.d{i}", u.device, u.w, u.l) for i in range(draws)]
        sigma = flat.sigma(u.device, u.w, u.l)
        print(f"   {u.device} {u.w:g}/{u.l:g}: σ {sigma * 1e3:.3f} mV; sample σ / σ: ngspice _mm "
              f"{np.std(wheel, ddof=1) / sigma:.3f}, project {np.std(ours, ddof=1) / sigma:.3f} (limit ±0.05)")


def groups(k: int = 8, samples: int = 60) -> None:
    """Merged group (mean offset; weak-inversion combination) against k separate units."""
    print(f"\n2. groups: {k} parallel units, {samples} mismatch draws per geometry; error of one m={k} instance "
          "against the separate units' summed current (RMS / max %), and the units' own spread (%)")
    header = Conditions().lines(fet_subckts=False)
    delta = 1e-3
    for u in UNITS:
        n = u.device.startswith("n")
        gates = (0.35, 0.45) if n else (0.55, 0.65)  # weak inversion of each type
        strong = 1.2
        # κ: the current's sensitivity to delvto at each gate voltage, from a nominal device
        probe = [f"Vg g 0 0", f"Egp gp 0 vdd g 1", "Vdd vdd 0 1.8"]
        for j, shift in enumerate((0.0, delta)):
            probe.append(f"Vd{j} d{j} {'0' if n else 'vdd'} {0.5 if n else -0.5}")
            probe.append(flat.instance(f"k{j}", u.device, [f"d{j}", "g" if n else "gp", "0" if n else "vdd",
                                                            "0" if n else "vdd"], u.w, u.l, offset=shift))
        points = gates + (strong,)
        sweep = "0.3 1.2 0.05"  # ngspice 39 has no `.dc … list`: points picked from a sweep
        card = flat.card(u.device, u.w, u.l)
        deck = "\n".join(["* kappa", header.rstrip(), card] + probe + [f".dc Vg {sweep}", ".end"])
        p = simulate(deck, f"kappa_{u.device}")[0]
        at = [int(np.argmin(np.abs(p["v(v-sweep)"] - v))) for v in points]
        kappa = (-np.log(np.abs(p["i(vd1)"]) / np.abs(p["i(vd0)"])) / delta)[at]
        slope = 1 / (np.abs(kappa[:2]) * 8.617333262e-5 * 300.15)
        lines = [f"* groups {u.device}", header.rstrip(), card, "Vg g 0 0", "Egp gp 0 vdd g 1", "Vdd vdd 0 1.8"]
        offsets = []
        for s in range(samples):
            units = [flat.offset(1, f"g{s}.x{i}", u.device, u.w, u.l) for i in range(k)]
            offsets.append(units)
            gate, rail = ("g", "0") if n else ("gp", "vdd")
            for tag in ("sep", "mean", "comb"):
                lines.append(f"Vd{tag}{s} d{tag}{s} {rail} {0.5 if n else -0.5}")
            lines += [flat.instance(f"s{s}_{i}", u.device, [f"dsep{s}", gate, rail, rail], u.w, u.l, offset=o)
                      for i, o in enumerate(units)]
            lines.append(flat.instance(f"m{s}", u.device, [f"dmean{s}", gate, rail, rail], u.w, u.l, m=k,
                                       offset=float(np.mean(units))))
            lines.append(flat.instance(f"c{s}", u.device, [f"dcomb{s}", gate, rail, rail], u.w, u.l, m=k,
                                       offset=flat.combine(units, u.device)))
        text = "\n".join(lines + [f".dc Vg {sweep}", ".end"])
        p = simulate(text, f"groups_{u.device}")[0]
        cells = []
        for idx, (v, row) in enumerate(zip(points, at)):
            sep = np.array([abs(p[f"i(vdsep{s})"][row]) for s in range(samples)])
            mean = np.array([abs(p[f"i(vdmean{s})"][row]) for s in range(samples)])
            comb = np.array([abs(p[f"i(vdcomb{s})"][row]) for s in range(samples)])
            err_mean, err_comb = mean / sep - 1, comb / sep - 1
            nominal = abs(p["i(vdsep0)"][row]) / k
            cells.append(f"|Vgs| {v:g} V ({nominal * 1e9:.3g} nA/unit): mean {np.sqrt(np.mean(err_mean ** 2)) * 100:.4f}/"
                         f"{np.max(np.abs(err_mean)) * 100:.4f}, combine {np.sqrt(np.mean(err_comb ** 2)) * 100:.4f}/"
                         f"{np.max(np.abs(err_comb)) * 100:.4f}, spread {sep.std() / sep.mean() * 100:.2f}")
        print(f"   {u.device} {u.w:g}/{u.l:g} (σ {flat.sigma(u.device, u.w, u.l) * 1e3:.2f} mV; slope factor n "
              f"{slope[0]:.2f}/{slope[1]:.2f} measured, {flat.SLOPE_FACTOR[u.device[0]]} used):")
        for c in cells:
            print(f"      {c}")


def _run(deck: str, name: str) -> tuple[dict, object]:
    """Run one deck alone (1 thread) with ngspice's accounting on: times, peak memory,
    time points and Newton iterations (deterministic, unlike times on a shared machine)."""
    deck = deck.replace(".option abstol", ".option acct abstol", 1)
    with tempfile.TemporaryDirectory(prefix="bench-flat-") as tmp:
        with measured({}) as m:
            plot = simulate(deck, name, threads=1, timeout=7200, keep=Path(tmp))[0]
        log = (Path(tmp) / f"{name}.log").read_text()
    found = re.search(r"^Total iterations\s*=\s*(\d+)", log, re.M)
    m["iterations"] = int(found.group(1)) if found else 0
    m["points"] = len(next(iter(plot.vectors.values())))
    return m, plot


def _row(label: str, m: dict) -> str:
    return (f"   {label:<36} {m['cpu']:7.1f} s CPU {m['wall']:7.1f} s wall {m['peak_mb']:7.0f} MB "
            f"{m['points']:6d} points {m['iterations']:6d} iterations")


def _ratio(label: str, old: dict, new: dict) -> str:
    return (f"   {label:<36} {old['cpu'] / new['cpu']:7.1f}x CPU  {old['wall'] / new['wall']:6.1f}x wall "
            f"{old['peak_mb'] / max(new['peak_mb'], 1):6.1f}x memory {old['iterations'] / max(new['iterations'], 1):5.2f}x iterations")


@contextmanager
def engine(name: str):
    """Simulations inside run on the named engine (pdk/engines.py)."""
    before = os.environ.get(engines.VARIABLE)
    os.environ[engines.VARIABLE] = name
    try:
        yield
    finally:
        if before is None:
            del os.environ[engines.VARIABLE]
        else:
            os.environ[engines.VARIABLE] = before


def _backports() -> bool:
    if Path(engines.BACKPORTS.binary).is_file():
        return True
    print(f"   ({engines.BACKPORTS.name} not installed: `make ngspice46` adds its rows)")
    return False


def _against(old: tuple, new: tuple) -> str:
    """States and largest output change of run `new` against run `old` ((outputs, states))."""
    change = np.abs(new[0] - old[0]).max() / max(np.abs(old[0]).max(), 1e-30)
    same = old[1].shape == new[1].shape and (old[1] == new[1]).all()
    return f"states {'identical' if same else 'DIFFER'}, outputs within {change * 100:.3f} %"


def kws(mismatch: bool, old_mismatch: bool) -> None:
    network, inputs = EXAMPLES / "kws_d4.yaml", EXAMPLES / "kws" / "noise_50.csv"
    flat_bench = Bench.load(network, inputs, diode_units=8, flat=True)
    # the landed deck: `.tran` print step step/50 and reltol 1e-4
    landed_plan = replace(flat_bench.plan, max_step=1 / 50, reltol=1e-4)
    forms = {"subckt, step/50 (landed)": (replace(flat_bench, flat=False, plan=landed_plan), engines.DEBIAN),
             "flat, step/50": (replace(flat_bench, plan=landed_plan), engines.DEBIAN),
             "flat, step/10, reltol 1e-4": (replace(flat_bench, plan=replace(landed_plan, max_step=1 / 10)),
                                            engines.DEBIAN),
             f"flat, step/{1 / flat_bench.plan.max_step:g}, reltol {flat_bench.plan.reltol:g} (default)":
                 (flat_bench, engines.DEBIAN)}
    if _backports():
        forms[f"same on {engines.BACKPORTS.name} + KLU"] = flat_bench, engines.BACKPORTS
    nominal = Conditions()
    print(f"\n3. kws_d4 on {inputs.name}: {len(flat_bench.inputs)} steps of {flat_bench.plan.step * 1e3:g} ms, "
          f"{flat_bench.circuit.device_count()['total']} unit devices")
    results = {}
    for label, (bench, spice) in forms.items():
        with engine(spice.name):
            m, plot = _run(bench.deck(nominal), f"kws_{len(results)}")
        results[label] = m, (bench.outputs(plot), bench.cell_states(plot, nominal)), bench.states(plot, nominal)
        print(_row(label, m))
    labels = list(results)
    old, run_old, st_old = results[labels[0]]
    for label in labels[1:]:
        new, run_new, _ = results[label]
        print(_ratio(f"landed / {label.split(' (')[0]}", old, new) + "  " + _against(run_old, run_new))
    default = next(label for label in labels if label.endswith("(default)"))
    print(f"   state agreement with the network: {st_old['agreement'] * 100:.2f} % landed, "
          f"{results[default][2]['agreement'] * 100:.2f} % default (goal: ≥ 5x faster, same states)")
    if not mismatch:
        return
    new = results[default][0]
    sample = Conditions(mismatch=True, seed=1)
    print(f"\n4. kws_d4 mismatch sample (seed 1)")
    m, plot = _run(flat_bench.deck(sample), "kws_flat_mm1")
    st = flat_bench.states(plot, sample)
    print(_row("flat, mismatch (default)", m))
    print(f"   mismatch / nominal (default deck): {m['cpu'] / new['cpu']:.2f}x CPU, {m['wall'] / new['wall']:.2f}x wall, "
          f"{m['iterations'] / new['iterations']:.2f}x iterations (goal ≤ 2x); state agreement {st['agreement'] * 100:.2f} %")
    print(f"   landed nominal / flat mismatch: {old['cpu'] / m['cpu']:.1f}x CPU")
    if old_mismatch:
        m_old, plot = _run(forms[labels[0]].deck(sample), "kws_subckt_mm1")
        print(_row("subckt, mismatch (one per unit)", m_old))
        print(_ratio("subckt / flat, mismatch", m_old, m))


def dims(values: list[int], old_max: int) -> None:
    print(f"\n5. operating points of the power-sweep network (one input vector)")
    for d in values:
        circuit = sweep_circuit(sweep_network(d))
        inputs = sweep_inputs(d, 1)
        row = {}
        for form in (False, True):
            if not form and d > old_max:
                continue
            m, plot = _run(sweep_deck(circuit, inputs, Conditions(), flat=form), f"op_d{d}_{form}")
            row[form] = m, -float(plot["i(vdd)"][0])
            print(_row(f"d={d} ({circuit.device_count()['total']} devices) {'flat' if form else 'subckt'}", m))
        if len(row) == 2:
            print(_ratio(f"d={d} subckt / flat", row[False][0], row[True][0])
                  + f"   supply current change {abs(row[True][1] / row[False][1] - 1) * 100:.4f} %")


def settings(user_seeds: list[int]) -> None:
    """The default solver settings against the former ones (reltol 1e-4) and, when installed,
    on ngspice 46 + KLU, over the project's decks: the flip-flop, the user-shaped networks of
    issue 14 at their datasheet step, and a second kws_d4 sequence."""
    print("\n6. solver settings on the project's decks (default deck: step/10, reltol 1e-3)")
    benches = {"flipflop, flipflop_set": Bench.load(EXAMPLES / "flipflop.yaml", EXAMPLES / "flipflop_set.csv")}
    for seed in user_seeds:
        case = random_user_case(seed, max_inputs=5, max_units=3)
        benches[f"user seed {seed}"] = Bench.of(case.network, case.inputs)
    benches["kws_d4, go_en-us-nyc"] = Bench.load(EXAMPLES / "kws_d4.yaml",
                                                 EXAMPLES / "kws" / "go_en-us-nyc-m8_s177_p45_0.csv", diode_units=8)
    variants = {"reltol 1e-4": engines.DEBIAN, "default": engines.DEBIAN}
    if _backports():
        variants[f"default, {engines.BACKPORTS.name} + KLU"] = engines.BACKPORTS
    nominal = Conditions()
    for name, bench in benches.items():
        runs = {}
        for label, spice in variants.items():
            form = replace(bench, plan=replace(bench.plan, reltol=1e-4)) if label == "reltol 1e-4" else bench
            with engine(spice.name):
                m, plot = _run(form.deck(nominal), f"settings_{len(runs)}")
            runs[label] = m, (form.outputs(plot), form.cell_states(plot, nominal))
        (_, (m_old, old)), *rest = runs.items()
        print(f"   {name:<26} reltol 1e-4 {m_old['cpu']:6.1f} s CPU {m_old['iterations']:6d} iterations")
        for label, (m, run) in rest:
            print(f"   {'':<26} {label:<28} {m['cpu']:6.1f} s CPU {m['iterations']:6d} iterations "
                  f"({m_old['cpu'] / m['cpu']:4.2f}x CPU)  {_against(old, run)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--skip", default="",
                        help="comma-separated parts to skip: cards,sigma,groups,kws,mc,dims,settings")
    parser.add_argument("--user-seeds", default="0-7", help="user-shaped networks of part 6 (default 0-7)")
    parser.add_argument("--dims", default="16,32,64", help="d of the operating points (default 16,32,64)")
    parser.add_argument("--old-max-d", type=int, default=32, help="largest d run in the subckt form (default 32)")
    parser.add_argument("--old-mismatch", action="store_true",
                        help="also run the mismatch sample in the subckt form (> 25 CPU-minutes)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if "cards" not in skip:
        cards()
    if "sigma" not in skip:
        sigmas()
    if "groups" not in skip:
        groups()
    if "kws" not in skip:
        kws("mc" not in skip, args.old_mismatch)
    if "dims" not in skip:
        dims([int(d) for d in args.dims.split(",")], args.old_max_d)
    if "settings" not in skip:
        first, last = args.user_seeds.split("-")
        settings(list(range(int(first), int(last) + 1)))


if __name__ == "__main__":
    main()
