"""Training an R²NN lattice: springs and dampers, each clamped to a range, by the adjoint of
the central-difference recursion (numpy, no autograd).

Parameters. The topology is `flows.r2nn.lattice` (3 × 3 main masses, corners clamped,
local resonators, a damper per free node); masses are fixed. Every spring and damper
value is p = lo·(hi/lo)^s with s clipped to [0, 1] after each step (the paper clamps its
springs the same way): local springs k_n put their resonator in the task's band, coupling
springs span the same stiffness range shifted down 4×, dampers give each node a Q between
Q_LOW and Q_HIGH at the band's ends. The ranges are checked stable (Gershgorin: every
node's 2·Σk/m below (ω_LIMIT·fs)²) so no step can leave the scheme's stability region.

Loss: cross-entropy of q_j = E_j^β / Σ_k E_k^β for the true class, mean over the batch
(β = 1: −log of the normalised energy itself; a larger β weighs the margin between the
true class and its strongest rival, and leaves the decision, argmax E, unchanged).

Gradient. x_{n+1} = A₁x_n − A₂x_{n−1} + b u_n with A₁ = P⁻¹(2M − dt²K), A₂ = P⁻¹(M − dt/2·C),
b = dt²·gain·P⁻¹e, P = M + dt/2·C. With g_m = ∂L/∂x_m, the adjoint runs backwards
λ_m = g_m + A₁ᵀλ_{m+1} − A₂ᵀλ_{m+2}; then ∂L/∂A₁ = Σ λ_{n+1}x_nᵀ, ∂L/∂A₂ = −Σ λ_{n+1}x_{n−1}ᵀ,
∂L/∂b = Σ λ_{n+1}u_n, and through A = P⁻¹Q: ∂L/∂Q = P⁻ᵀG, ∂L/∂P = −P⁻ᵀG Aᵀ, down to each
spring (its 2 × 2 stamp in K) and damper (in C). A finite-difference test checks it.

Measured (one core, `bmru train r2nn --task T --seed 0`, defaults; test sets as generated
by `flows.r2nn.tasks`, chance 1/3):

    task      train   test    time
    machine   0.904   0.889    56 s   (examples/r2nn_machine.yaml)
    tactile   0.991   0.972    23 s
    voice     0.660   0.667   146 s   (held-out espeak-ng voice variants)

With --epochs 60: machine 0.911 / 0.894 (105 s), voice 0.694 / 0.708 (324 s).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flows.optim import Adam
from flows.r2nn.lattice import Layout, build
from flows.r2nn.mapping import ROW_SPREAD
from flows.r2nn.model import scores, simulate, stepper
from flows.r2nn.network import R2nnNetwork
from flows.r2nn.tasks import SPECS, TASKS, dataset

MASS = 0.05
Q_LOW, Q_HIGH = 3.0, 200.0
#: The trainer keeps ω·dt below this (the scheme's limit is 2).
OMEGA_LIMIT = 1.8
DEFAULTS = {"machine": {"epochs": 30, "lr": 0.05, "batch": 32, "sharpness": 4.0},
            "tactile": {"epochs": 30, "lr": 0.05, "batch": 32, "sharpness": 1.0},
            "voice": {"epochs": 30, "lr": 0.05, "batch": 24, "sharpness": 1.0}}


@dataclass(frozen=True)
class Ranges:
    """(lo, hi) of every parameter group: coupling and local springs, dampers."""

    coupling: tuple[float, float]
    local: tuple[float, float]
    damping: tuple[float, float]


def ranges(task: str) -> Ranges:
    f_lo, f_hi = SPECS[task].band
    k_lo, k_hi = (MASS * (2 * np.pi * f) ** 2 for f in (f_lo, f_hi))
    r = Ranges((k_lo / 4, k_hi / 4), (k_lo, k_hi),
               (MASS * 2 * np.pi * f_lo / Q_HIGH, MASS * 2 * np.pi * f_hi / Q_LOW))
    bound = 2 * (4 * r.coupling[1] + r.local[1]) / MASS
    limit = (OMEGA_LIMIT * SPECS[task].sample_rate) ** 2
    if bound >= limit:
        raise ValueError(f"{task}: spring ranges allow ω² up to {bound:.4g}, above the stable {limit:.4g}")
    return r


class Lattice:
    """The trainable lattice: s in [0, 1] per coupling, local spring and damper."""

    def __init__(self, task: str, layout: Layout = Layout()):
        self.task, self.layout, self.ranges = task, layout, ranges(task)
        self.sample_rate = SPECS[task].sample_rate
        self.groups = (("coupling", len(layout.couplings())), ("local", len(layout.carriers())),
                       ("damping", len(layout.free())))

    def values(self, s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {g: lo * (hi / lo) ** s[g] for g, (lo, hi) in
                ((g, getattr(self.ranges, g)) for g, _ in self.groups)}

    def network(self, s: dict[str, np.ndarray], name: str | None = None) -> R2nnNetwork:
        v = self.values(s)
        return build(name or f"r2nn_{self.task}", self.layout, self.sample_rate,
                     np.full(self.layout.size, MASS), v["coupling"], v["local"], v["damping"])

    def realisable(self, s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """`s` with every spring raised to at least 1/ROW_SPREAD of the largest spring on
        the main masses it joins: the circuit gives each node's row its own scale, so a
        spring far below its row's largest term gets a tail of a few picoamperes (or none)
        and what it carries is lost (`flows.r2nn.mapping.ROW_SPREAD`). Raising one spring
        can raise another row's largest, so it repeats until nothing moves."""
        v = self.values(s)
        links = self.layout.couplings() + [(m, self.layout.resonator(m)) for m in self.layout.carriers()]
        k = np.concatenate([v["coupling"], v["local"]])
        carriers = set(self.layout.carriers())
        for _ in range(len(links)):
            largest = {m: max(k[j] for j, link in enumerate(links) if m in link) for m in carriers}
            floor = np.array([max([largest[e] / ROW_SPREAD for e in link if e in carriers], default=0.0)
                              for link in links])
            if np.all(k >= floor):
                break
            k = np.maximum(k, floor)
        out = dict(s)
        n = len(v["coupling"])
        for group, values in (("coupling", k[:n]), ("local", k[n:])):
            lo, hi = getattr(self.ranges, group)
            out[group] = np.clip(np.log(np.maximum(values, lo) / lo) / np.log(hi / lo), 0.0, 1.0)
        return out

    def initial(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Resonators spread evenly over the band (log, shuffled), mid couplings and Q.
        (Putting the output resonators at the band's low, middle and high end instead
        trained worse on `machine`: 69 … 75 % against 85 … 88 % test accuracy, 10 epochs.)"""
        n_local = len(self.layout.carriers())
        return {"coupling": rng.uniform(0.3, 0.7, self.groups[0][1]),
                "local": rng.permutation((np.arange(n_local) + 0.5) / n_local),
                "damping": np.full(self.groups[2][1], 0.5)}


def loss_and_gradient(network: R2nnNetwork, u: np.ndarray, labels: np.ndarray,
                      sharpness: float = 1.0) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(mean loss, (batch, outputs) scores, ∂L/∂spring values, ∂L/∂damper values)."""
    st = stepper(network)
    batch, steps = u.shape
    n = len(st.b)
    xs = np.zeros((steps + 2, batch, n))           # xs[m + 1] = x_m, m = −1 … steps
    for m in range(steps):
        xs[m + 2] = xs[m + 1] @ st.a1.T - xs[m] @ st.a2.T + u[:, m, None] * st.b
    out = list(st.out)
    y = xs[2:, :, out]                              # x_1 … x_steps at the outputs
    e = np.einsum("nbo,nbo->bo", y, y)
    rows = np.arange(batch)
    logits = sharpness * np.log(e)
    logits -= logits.max(axis=1, keepdims=True)
    q = np.exp(logits)
    q /= q.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(q[rows, labels])))
    de = sharpness / e * (q - np.eye(e.shape[1])[labels]) / batch
    lam = np.zeros((steps + 4, batch, n))           # lam[m + 1] = λ_m, 0 beyond x_steps
    g = np.zeros((batch, n))
    for m in range(steps, 0, -1):
        g[:, out] = 2 * xs[m + 1][:, out] * de
        lam[m + 1] = g + lam[m + 2] @ st.a1 - lam[m + 3] @ st.a2
    # λ_{n+1} pairs with x_n (n = 0 … steps−1) and x_{n−1}
    lam_next = lam[2:steps + 2]
    g1 = np.einsum("nbi,nbj->ij", lam_next, xs[1:steps + 1])
    g2 = -np.einsum("nbi,nbj->ij", lam_next, xs[0:steps])
    gb = np.einsum("nbi,bn->i", lam_next, u)
    m_, c_, _ = network.matrices()
    dt = network.dt
    p_inv_t = np.linalg.inv(m_ + dt / 2 * c_).T
    gp = -p_inv_t @ (g1 @ st.a1.T + g2 @ st.a2.T + np.outer(gb, st.b))
    gk = -dt * dt * p_inv_t @ g1
    gc = -dt / 2 * p_inv_t @ g2 + dt / 2 * gp
    index = {node: i for i, node in enumerate(network.free)}
    return loss, scores(y.transpose(1, 0, 2)), _stamp_gradient(network.springs, index, gk), \
        _stamp_gradient(network.dampers, index, gc)


def _stamp_gradient(links: np.ndarray, index: dict[int, int], grad: np.ndarray) -> np.ndarray:
    """∂L/∂value of every link from ∂L/∂(matrix) (the link adds to both diagonals of its
    free ends and subtracts from the two off-diagonals)."""
    out = np.zeros(len(links))
    for j, (a, b, _) in enumerate(links):
        i, k = index.get(int(a)), index.get(int(b))
        total = 0.0
        if i is not None:
            total += grad[i, i]
        if k is not None:
            total += grad[k, k]
        if i is not None and k is not None:
            total -= grad[i, k] + grad[k, i]
        out[j] = total
    return out


def accuracy(network: R2nnNetwork, x: np.ndarray, labels: np.ndarray, chunk: int = 64) -> float:
    hits = 0
    for start in range(0, len(x), chunk):
        hits += int((scores(simulate(network, x[start:start + chunk])).argmax(axis=1)
                     == labels[start:start + chunk]).sum())
    return hits / len(x)


def train(task: str = "machine", epochs: int | None = None, seed: int = 0, lr: float | None = None,
          batch: int | None = None, sharpness: float | None = None, train_count: int | None = None,
          cache_dir=None, progress=None, hardware: bool = True) -> tuple[R2nnNetwork, dict]:
    """Train on `task`; returns the network (validated) and {train_accuracy,
    test_accuracy}. Adam with cosine decay over shuffled mini-batches; `train_count` per
    class shrinks a synthetic training set (smoke tests); `progress(epoch, mean loss)`;
    `hardware` keeps every coupling realisable after each step (`Lattice.realisable`)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    settings = dict(DEFAULTS[task])
    for key, value in (("epochs", epochs), ("lr", lr), ("batch", batch), ("sharpness", sharpness)):
        if value is not None:
            settings[key] = value
    train_x, train_y = dataset(task, "train", cache_dir, train_count)
    test_x, test_y = dataset(task, "test", cache_dir)
    rng = np.random.default_rng(seed)
    lattice = Lattice(task)
    keep = lattice.realisable if hardware else (lambda p: p)
    params = keep(lattice.initial(rng))
    adam = Adam(params, bounds=(0.0, 1.0))
    steps = settings["epochs"] * math.ceil(len(train_x) / settings["batch"])
    lo_hi = {g: np.log(getattr(lattice.ranges, g)[1] / getattr(lattice.ranges, g)[0])
             for g, _ in lattice.groups}
    n_coupling = lattice.groups[0][1]
    done = 0
    for epoch in range(settings["epochs"]):
        order = rng.permutation(len(train_x))
        total = 0.0
        for start in range(0, len(order), settings["batch"]):
            rows = order[start:start + settings["batch"]]
            net = lattice.network(params)
            loss, _, dk, dc = loss_and_gradient(net, train_x[rows], train_y[rows], settings["sharpness"])
            values = lattice.values(params)
            grads = {"coupling": dk[:n_coupling] * values["coupling"] * lo_hi["coupling"],
                     "local": dk[n_coupling:] * values["local"] * lo_hi["local"],
                     "damping": dc * values["damping"] * lo_hi["damping"]}
            adam.step(params, grads, settings["lr"] * 0.5 * (1 + math.cos(math.pi * done / steps)))
            params = keep(params)
            done += 1
            total += loss * len(rows)
        if progress is not None:
            progress(epoch, total / len(train_x))
    network = lattice.network(params)
    return network, {"train_accuracy": accuracy(network, train_x, train_y),
                     "test_accuracy": accuracy(network, test_x, test_y)}
