"""Reference model of an R²NN lattice (ARCHITECTURE §3c), its modes and exact references.

The model is the central-difference recursion of §3c on the free nodes, x₀ = x₋₁ = 0,

    (I + dt/2·M⁻¹C) x_{n+1} = 2 x_n − (I − dt/2·M⁻¹C) x_{n−1} − dt²·M⁻¹(K x_n − F_n),

stepped here in the equivalent form x_{n+1} = A₁ x_n − A₂ x_{n−1} + b u_n with
P = M + dt/2·C, A₁ = P⁻¹(2M − dt²K), A₂ = P⁻¹(M − dt/2·C), b = dt²·gain·P⁻¹e_in
(§3c multiplied through by M), batched over waveforms. Row n of an output trace is the
output nodes' x_{n+1}; a class score is Σ_n x² of one output node over the waveform,
normalised over the outputs; the decision is the largest.

Two references check it:

- `exact_discrete`: the same discrete system solved without stepping — the impulse
  response from the eigen-decomposition of the one-step companion matrix (h_j = S V Λʲ V⁻¹ B)
  convolved with the waveform by FFT. It agrees with the recursion to rounding (the tests
  ask 1e-6 relative on random lattices); this is what "an independent integrator to 1e-6"
  can mean for a second-order scheme.
- `continuous`: the continuous lattice M x″ + C x′ + K x = F(t) driven by the waveform
  interpolated linearly between samples (what a PWL source does), solved exactly at the
  sample times by the matrix exponential. Central differences are second-order: they
  differ from it by O((ω dt)²) — each mode's frequency is warped to
  ω_d = (2/dt)·asin(ω dt/2), ≈ (ω dt)²/24 relative — so this comparison checks the
  physics (and the electrical analog), not rounding.

`modes`: the continuous-time modal view a circuit is designed from: the eigenvalues s of
M s² + C s + K = 0; natural frequency |s|/2π, damped frequency Im s/2π, Q = |s|/(−2 Re s).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.signal

from flows.r2nn.network import R2nnNetwork


@dataclass(frozen=True, eq=False)
class Stepper:
    """One-step matrices on the free nodes: x_{n+1} = A₁ x_n − A₂ x_{n−1} + b u_n.
    `inp` / `out`: positions of the input and output nodes among the free nodes."""

    a1: np.ndarray
    a2: np.ndarray
    b: np.ndarray
    inp: int
    out: tuple[int, ...]


def stepper(network: R2nnNetwork) -> Stepper:
    m, c, k = network.matrices()
    dt = network.dt
    p = m + dt / 2 * c
    free = network.free
    inp = free.index(network.input_node)
    e = np.zeros(len(free))
    e[inp] = dt * dt * network.input_gain
    solved = np.linalg.solve(p, np.column_stack([2 * m - dt * dt * k, m - dt / 2 * c, e]))
    n = len(free)
    return Stepper(solved[:, :n], solved[:, n:2 * n], solved[:, 2 * n],
                   inp, tuple(free.index(o) for o in network.outputs))


def _waveforms(waveforms: np.ndarray) -> np.ndarray:
    """(batch, samples) from (samples,), (samples, 1) as load_inputs gives, or (batch, samples)."""
    u = np.asarray(waveforms, dtype=np.float64)
    if u.ndim == 1:
        return u[None]
    if u.ndim == 2 and u.shape[1] == 1:
        return u.T
    if u.ndim != 2:
        raise ValueError(f"waveforms must be (samples,), (samples, 1) or (batch, samples), got {u.shape}")
    return u


def simulate(network: R2nnNetwork, waveforms: np.ndarray) -> np.ndarray:
    """Output displacements (batch, samples, outputs): row n holds x_{n+1}."""
    s = stepper(network)
    u = _waveforms(waveforms)
    batch, samples = u.shape
    a1t, a2t = s.a1.T, s.a2.T
    x_prev = np.zeros((batch, len(s.b)))
    x = np.zeros_like(x_prev)
    keep = list(s.out)
    trace = np.empty((batch, samples, len(s.out)))
    for n in range(samples):
        x, x_prev = x @ a1t - x_prev @ a2t + u[:, n, None] * s.b, x
        trace[:, n] = x[:, keep]
    return trace


def energies(trace: np.ndarray) -> np.ndarray:
    """(batch, outputs) Σ_n x² of each output over the waveform."""
    return np.einsum("bno,bno->bo", trace, trace)


def scores(trace: np.ndarray) -> np.ndarray:
    """Energies normalised to sum 1 per waveform (a silent waveform scores 0 everywhere)."""
    e = energies(trace)
    total = e.sum(axis=1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def decision(trace: np.ndarray) -> dict:
    """The readout of one (samples, outputs) trace: energies, normalised scores and the
    decision (index of the largest), as `bmru model run` should report them."""
    e = energies(trace[None])[0]
    s = scores(trace[None])[0]
    return {"energies": [float(v) for v in e], "scores": [float(v) for v in s],
            "decision": int(np.argmax(s))}


def run_network(network: R2nnNetwork, waveform: np.ndarray) -> np.ndarray:
    """(samples, outputs) trace of one waveform: what `bmru model run` writes."""
    return simulate(network, waveform)[0]


# --- references -------------------------------------------------------------------------

def companion(network: R2nnNetwork) -> tuple[np.ndarray, np.ndarray, Stepper]:
    """(T, B, stepper): the state [x_n; x_{n−1}] steps as s_{n+1} = T s_n + B u_n."""
    s = stepper(network)
    n = len(s.b)
    t = np.block([[s.a1, -s.a2], [np.eye(n), np.zeros((n, n))]])
    return t, np.concatenate([s.b, np.zeros(n)]), s


def exact_discrete(network: R2nnNetwork, waveforms: np.ndarray) -> np.ndarray:
    """The recursion's output trace without stepping: impulse response from the
    eigen-decomposition of T, then a linear convolution by FFT (see the module text)."""
    u = _waveforms(waveforms)
    samples = u.shape[1]
    t, b, s = companion(network)
    lam, v = np.linalg.eig(t)
    weights = np.linalg.solve(v, b.astype(complex))            # V⁻¹ B
    powers = lam[None, :] ** np.arange(samples)[:, None]        # Λʲ, j = 0 … samples−1
    impulse = (powers * weights) @ v[list(s.out)].T             # (samples, outputs): S V Λʲ V⁻¹ B
    impulse = impulse.real
    out = np.empty((u.shape[0], samples, len(s.out)))
    for j in range(len(s.out)):
        out[:, :, j] = scipy.signal.fftconvolve(u, impulse[None, :, j], axes=1)[:, :samples]
    return out


def state_space(network: R2nnNetwork) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of z = [x; v]: z′ = A z + B u(t), on the free nodes."""
    m, c, k = network.matrices()
    n = len(m)
    minv = np.diag(1.0 / np.diag(m))
    a = np.block([[np.zeros((n, n)), np.eye(n)], [-minv @ k, -minv @ c]])
    b = np.zeros(2 * n)
    b[n + network.free.index(network.input_node)] = network.input_gain / m.diagonal()[
        network.free.index(network.input_node)]
    return a, b


def continuous(network: R2nnNetwork, waveforms: np.ndarray, quantity: str = "displacement") -> np.ndarray:
    """The continuous lattice at rest at t = 0, driven by the waveform interpolated
    linearly through (n·dt, u_n) and held at its last value after (a PWL source): the
    output nodes' displacement (or velocity) at t = (n + 1)·dt, row n, exactly (first-order
    hold through the matrix exponential)."""
    a, b = state_space(network)
    s = stepper(network)
    half = len(a) // 2
    pick = [(0 if quantity == "displacement" else half) + o for o in s.out]
    return respond(a, b, pick, waveforms, network.dt)


def respond(a: np.ndarray, b: np.ndarray, pick: list[int], waveforms: np.ndarray, dt: float) -> np.ndarray:
    """z′ = A z + B u(t) from rest, u the PWL through (n·dt, u_n): states `pick` at
    t = (n + 1)·dt (`continuous` for any state space, e.g. a mapped circuit's)."""
    u = _waveforms(waveforms)
    n2 = len(a)
    aug = np.zeros((n2 + 2, n2 + 2))
    aug[:n2, :n2] = a * dt
    aug[:n2, n2] = b * dt
    aug[n2, n2 + 1] = 1.0
    e = scipy.linalg.expm(aug)
    phi, gamma0, gamma1 = e[:n2, :n2], e[:n2, n2], e[:n2, n2 + 1]
    # u(t_n + τ dt) = u_n + τ (u_{n+1} − u_n): z_{n+1} = Φ z_n + Γ₀ u_n + Γ₁ (u_{n+1} − u_n)
    nxt = np.concatenate([u[:, 1:], u[:, -1:]], axis=1)
    z = np.zeros((u.shape[0], n2))
    out = np.empty((u.shape[0], u.shape[1], len(pick)))
    phit = phi.T
    for n in range(u.shape[1]):
        z = z @ phit + u[:, n, None] * gamma0 + (nxt[:, n] - u[:, n])[:, None] * gamma1
        out[:, n] = z[:, pick]
    return out


# --- modal view -------------------------------------------------------------------------

@dataclass(frozen=True)
class Mode:
    """One underdamped mode of the continuous lattice (frequencies in Hz)."""

    frequency: float         # natural, |s|/2π
    damped_frequency: float  # Im s/2π
    q: float                 # |s|/(−2 Re s); inf when undamped


def modes(network: R2nnNetwork) -> tuple[list[Mode], list[float]]:
    """(underdamped modes by frequency, decay rates 1/s of overdamped real eigenvalues)."""
    a, _ = state_space(network)
    s = np.linalg.eigvals(a)
    scale = np.abs(s).max(initial=1.0)
    result, real = [], []
    for value in s:
        if value.imag > 1e-9 * scale:
            q = np.inf if value.real >= 0 else abs(value) / (-2 * value.real)
            result.append(Mode(float(abs(value) / (2 * np.pi)), float(value.imag / (2 * np.pi)), float(q)))
        elif abs(value.imag) <= 1e-9 * scale:
            real.append(float(-value.real))
    return sorted(result, key=lambda mode: mode.frequency), sorted(real)


def mobility(network: R2nnNetwork, frequencies: np.ndarray) -> np.ndarray:
    """(frequencies, free) complex velocity of every free node per unit input sample
    (force gain·1) at each frequency in Hz: jω (K − ω²M + jωC)⁻¹ e_in·gain."""
    m, c, k = network.matrices()
    e = np.zeros(len(m))
    e[network.free.index(network.input_node)] = network.input_gain
    out = []
    for f in np.asarray(frequencies, dtype=np.float64):
        w = 2 * np.pi * f
        out.append(1j * w * np.linalg.solve(k - w * w * m + 1j * w * c, e))
    return np.array(out)
