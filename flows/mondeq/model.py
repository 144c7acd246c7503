"""Reference model of a resistor–diode monDEQ (ARCHITECTURE §3b) and its implicit gradient.

A stage's output is the unique fixed point z = σ(W z + U x + b): the zero of the monotone
operator F(z) + ∂f(z) with F(z) = (I − W) z − (U x + b) (strongly monotone: I − W ⪰ mI) and
σ = prox_f (ReLU: f the indicator of z ≥ 0; diode ReLU: f(z) = κτ·Σ exp(−z/τ)). Two
operator splittings find it iteratively, forward–backward and Peaceman–Rachford, and two
exact solvers check them: an active-set solve for ReLU (an LCP with an M-matrix, so
Howard's iteration ends in at most n + 1 steps) and a damped Newton solve of the diode
stage's strictly convex potential. All are batched over input rows; all agree to 1e-9.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from flows.mondeq.network import DenseReadout, MondeqNetwork, MondeqStage

METHODS = ("peaceman-rachford", "forward-backward", "exact")
TOLERANCE = 1e-12
#: An operator splitting that has not converged after this many steps means a margin far
#: below anything the trainer writes; stop rather than spin.
MAX_ITERATIONS = 200_000


class ConvergenceError(RuntimeError):
    """A solver did not reach its tolerance (only for networks far from realizable)."""


@dataclass(frozen=True, eq=False)
class Trace:
    """Per-layer results for (rows, ·) inputs.

    pre_activations: W z + U x + b at the fixed point (W z + b for the readout);
    activations: the layer's output (the fixed point z; the readout's y);
    iterations: splitting steps the slowest row took per layer (Newton / active-set
    iterations for 'exact'; 0 for the readout).
    """

    pre_activations: tuple[np.ndarray, ...]
    activations: tuple[np.ndarray, ...]
    iterations: tuple[int, ...]

    @property
    def outputs(self) -> np.ndarray:
        return self.activations[-1]


# --- the diode ReLU -------------------------------------------------------------------

def _lambertw_exp(s: np.ndarray) -> np.ndarray:
    """W₀(exp(s)) for any real s without overflow: Newton on u = ln W of e^u + u = s
    (convex in u, so after the first step the iterates fall monotonically onto the root)."""
    s = np.asarray(s, dtype=np.float64)
    big = np.maximum(s, 1.0)
    u = np.where(s > 1.0, np.log(big - np.log(big)), s - np.exp(np.minimum(s, 1.0)))
    for _ in range(60):
        eu = np.exp(u)
        step = (eu + u - s) / (eu + 1.0)
        u = u - step
        if np.all(np.abs(step) <= 1e-15 * np.maximum(1.0, np.abs(u))):
            break
    return np.exp(u)


def diode_relu(a: np.ndarray, softness: float, scale: float) -> np.ndarray:
    """The z solving z − a = κ·exp(−z/τ): a + τ·W₀((κ/τ)·exp(−a/τ)), the proximal operator
    of κτ·exp(−z/τ). Tends to ReLU as τ → 0 (below the knee z ≈ −τ·ln(−a/κ)); smooth,
    increasing, slope in (0, 1)."""
    a = np.asarray(a, dtype=np.float64)
    return a + softness * _lambertw_exp(np.log(scale / softness) - a / softness)


def diode_relu_slope(z: np.ndarray, a: np.ndarray, softness: float) -> np.ndarray:
    """dz/da = 1 / (1 + w) with w = (z − a)/τ = W₀(…)."""
    return 1.0 / (1.0 + (z - a) / softness)


def _prox(stage: MondeqStage, v: np.ndarray, step: float) -> np.ndarray:
    """prox of step·f: ReLU for relu (step-independent), the diode ReLU with κ → step·κ."""
    if stage.activation == "relu":
        return np.maximum(v, 0.0)
    return diode_relu(v, stage.diode.softness, step * stage.diode.scale)


def activation(stage: MondeqStage, a: np.ndarray) -> np.ndarray:
    """σ(a) of the stage."""
    return _prox(stage, a, 1.0)


def slope(stage: MondeqStage, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """σ'(a) at the fixed point: 0/1 for ReLU (0 at the kink), 1/(1 + w) for the diode."""
    if stage.activation == "relu":
        return (a > 0).astype(np.float64)
    return diode_relu_slope(z, a, stage.diode.softness)


# --- fixed-point solvers ----------------------------------------------------------------

def _spectrum(stage: MondeqStage) -> tuple[float, float]:
    eig = np.linalg.eigvalsh(np.eye(stage.size) - (stage.weight + stage.weight.T) / 2)
    return float(eig[0]), float(eig[-1])


def _converged(change: np.ndarray, z: np.ndarray, tol: float) -> bool:
    return bool(np.all(np.abs(change) <= tol * (1.0 + np.abs(z))))


def forward_backward(stage: MondeqStage, drive: np.ndarray, tol: float = TOLERANCE,
                     step: float | None = None) -> tuple[np.ndarray, int]:
    """z ← prox_{αf}(z − α((I − W) z − drive)). I − W is symmetric with spectrum [m, M], so
    this is a proximal-gradient method and converges for 0 < α < 2/M at the rate
    max|1 − αλ|; the default α = 2/(m + M) is the fastest such step (the general monDEQ
    bound α < 2m/‖I − W‖² is a subset of this range)."""
    low, high = _spectrum(stage)
    alpha = 2.0 / (low + high) if step is None else step
    w = stage.weight
    z = _prox(stage, drive, alpha)
    for iteration in range(1, MAX_ITERATIONS + 1):
        new = _prox(stage, z - alpha * (z - z @ w.T - drive), alpha)
        change, z = new - z, new
        if _converged(change, z, tol):
            return z, iteration
    raise ConvergenceError(f"forward–backward did not converge in {MAX_ITERATIONS} steps")


def peaceman_rachford(stage: MondeqStage, drive: np.ndarray, tol: float = TOLERANCE,
                      step: float | None = None) -> tuple[np.ndarray, int]:
    """u ← (2 prox_{αf} − I)(2 (I + α(I − W))⁻¹(· + α drive) − I) u, z = prox_{αf}(u): one LU
    of I + α(I − W) per stage; converges for any α > 0, fastest near α = 1/√(m M)."""
    low, high = _spectrum(stage)
    alpha = 1.0 / np.sqrt(low * high) if step is None else step
    n = stage.size
    lu = scipy.linalg.lu_factor(np.eye(n) + alpha * (np.eye(n) - stage.weight))
    shifted = alpha * drive
    z = _prox(stage, drive, alpha)
    u = z.copy()
    for iteration in range(1, MAX_ITERATIONS + 1):
        half = 2.0 * z - u
        linear = scipy.linalg.lu_solve(lu, (half + shifted).T).T
        u = 2.0 * linear - half
        new = _prox(stage, u, alpha)
        change, z = new - z, new
        if _converged(change, z, tol):
            return z, iteration
    raise ConvergenceError(f"Peaceman–Rachford did not converge in {MAX_ITERATIONS} steps")


def active_set(stage: MondeqStage, drive: np.ndarray) -> tuple[np.ndarray, int]:
    """ReLU stage exactly: z ≥ 0, (I − W) z − drive ≥ 0, complementary — an LCP whose
    matrix I − W is an M-matrix (positive definite, off-diagonals ≤ 0). Howard's iteration
    (guess the active set, solve the linear system on it, move every violated index)
    reaches the unique solution in at most n + 1 solves per row; the result is verified."""
    n = stage.size
    m = np.eye(n) - stage.weight
    z = np.zeros_like(drive)
    most = 0
    for row in range(drive.shape[0]):
        c = drive[row]
        active = c > 0
        for iteration in range(1, n + 3):
            x = np.zeros(n)
            if active.any():
                x[active] = np.linalg.solve(m[np.ix_(active, active)], c[active])
            slack = m @ x - c
            new = (x > 0) | (~active & (slack < 0))  # the branch of min(z, slack) < 0
            if np.array_equal(new, active):
                break
            active = new
        else:
            raise ConvergenceError(f"active-set solve did not settle for row {row}")
        scale = 1.0 + np.abs(c).max()
        if x.min() < -1e-12 * scale or slack.min() < -1e-10 * scale:
            raise ConvergenceError(f"active-set solve: complementarity fails for row {row}")
        z[row] = np.maximum(x, 0.0)
        most = max(most, iteration)
    return z, most


def newton(stage: MondeqStage, drive: np.ndarray, tol: float = TOLERANCE) -> tuple[np.ndarray, int]:
    """Diode stage exactly: the zero of ∇Φ(z) = (I − W) z − drive − κ·exp(−z/τ), the
    gradient of the strictly convex Φ = ½ zᵀ(I − W)z − driveᵀz + κτ·Σ exp(−z/τ). Newton
    steps with Armijo backtracking on Φ, started at the ReLU solution, per row in a batch,
    until the Newton step is below the tolerance (the residual ∇Φ itself is a difference of
    terms as large as κ·exp(−z/τ), so it cannot certify z to 1e-12)."""
    tau, kappa = stage.diode.softness, stage.diode.scale
    m = np.eye(stage.size) - (stage.weight + stage.weight.T) / 2
    exact_m = np.eye(stage.size) - stage.weight

    def potential(z):
        with np.errstate(over="ignore"):
            return (0.5 * np.einsum("ri,ij,rj->r", z, m, z) - (drive * z).sum(axis=1)
                    + kappa * tau * np.exp(-z / tau).sum(axis=1))

    relu_stage = MondeqStage(stage.weight, stage.input_weight, stage.bias,
                             stage.monotone_margin, "relu")
    z, _ = active_set(relu_stage, drive)
    for iteration in range(1, 101):
        e = np.exp(-z / tau)
        grad = z @ exact_m.T - drive - kappa * e
        hessian = m[None] + np.einsum("ri,ij->rij", kappa / tau * e, np.eye(stage.size))
        delta = -np.linalg.solve(hessian, grad[..., None])[..., 0]
        if _converged(delta, z, tol):  # quadratic convergence: the error is far below δ
            return z + delta, iteration
        t = np.ones(len(z))
        local = np.all(np.abs(delta) <= 1e-6 * (1.0 + np.abs(z)), axis=1)
        before = potential(z)
        descent = (grad * delta).sum(axis=1)
        for _ in range(60):
            trial = z + t[:, None] * delta
            # Near the root Φ's decrease is below its rounding: take the full step there.
            ok = (potential(trial) <= before + 1e-4 * t * descent) | local
            if ok.all():
                break
            t = np.where(ok, t, t / 2)
        z = trial
    raise ConvergenceError("Newton solve of the diode stage did not converge")


def solve_stage(stage: MondeqStage, x: np.ndarray, method: str = "peaceman-rachford",
                tol: float = TOLERANCE) -> tuple[np.ndarray, np.ndarray, int]:
    """(z, pre-activation W z + U x + b, iterations) for (rows, in) inputs."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    drive = x @ stage.input_weight.T + stage.bias
    if method == "forward-backward":
        z, iterations = forward_backward(stage, drive, tol)
    elif method == "peaceman-rachford":
        z, iterations = peaceman_rachford(stage, drive, tol)
    elif stage.activation == "relu":
        z, iterations = active_set(stage, drive)
    else:
        z, iterations = newton(stage, drive, tol)
    return z, z @ stage.weight.T + drive, iterations


def run_network(network: MondeqNetwork, inputs: np.ndarray, method: str = "peaceman-rachford",
                tol: float = TOLERANCE) -> Trace:
    """Run (rows, input_size) inputs (one independent input per row) through the stages in
    order (stage k + 1 takes stage k's z) and the readout."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != network.input_size:
        raise ValueError(f"inputs must be (rows, {network.input_size}), got {x.shape}")
    pre_activations, activations, iterations = [], [], []
    signal = x
    for layer in network.layers:
        if isinstance(layer, DenseReadout):
            pre = signal @ layer.weight.T + layer.bias
            signal, count = pre, 0
        else:
            signal, pre, count = solve_stage(layer, signal, method, tol)
        pre_activations.append(pre)
        activations.append(signal)
        iterations.append(count)
    return Trace(tuple(pre_activations), tuple(activations), tuple(iterations))


# --- implicit gradient -----------------------------------------------------------------

def backward(network: MondeqNetwork, inputs: np.ndarray, trace: Trace,
             grad_outputs: np.ndarray) -> list[dict[str, np.ndarray]]:
    """Per-layer gradients of a loss whose gradient with respect to the outputs is
    `grad_outputs` (rows, out), summed over rows. At a stage's fixed point
    (I − J W) dz = J (dW z + dU x + db + U dx) with J = diag(σ'(a)), so with the adjoint
    μ = J (I − Wᵀ J)⁻¹ ∂L/∂z: ∂L/∂W = μ zᵀ (symmetrized, W being symmetric),
    ∂L/∂U = μ xᵀ, ∂L/∂b = μ and ∂L/∂x = Uᵀ μ, which feeds the stage before."""
    x = np.asarray(inputs, dtype=np.float64)
    grads: list[dict[str, np.ndarray]] = [{} for _ in network.layers]
    upstream = np.asarray(grad_outputs, dtype=np.float64)
    for index in range(len(network.layers) - 1, -1, -1):
        layer = network.layers[index]
        below = x if index == 0 else trace.activations[index - 1]
        if isinstance(layer, DenseReadout):
            grads[index] = {"bias": upstream.sum(axis=0), "weight": upstream.T @ below}
            upstream = upstream @ layer.weight
            continue
        z, a = trace.activations[index], trace.pre_activations[index]
        j = slope(layer, z, a)
        n = layer.size
        system = np.eye(n)[None] - layer.weight.T[None] * j[:, None, :]
        mu = j * np.linalg.solve(system, upstream[..., None])[..., 0]
        raw = mu.T @ z
        grads[index] = {"bias": mu.sum(axis=0), "input_weight": mu.T @ below,
                        "weight": (raw + raw.T) / 2}
        upstream = mu @ layer.input_weight
    return grads


def gradient(network: MondeqNetwork, inputs: np.ndarray, targets: np.ndarray,
             method: str = "exact") -> tuple[float, list[dict[str, np.ndarray]]]:
    """(L, per-layer gradients) of L = ½·mean over rows of Σ_j (y_j − t_j)². For a stage,
    `weight` is the gradient within symmetric matrices: moving W_ij and W_ji together by ε
    changes L by 2ε·g_ij (ε·g_ii on the diagonal)."""
    x = np.asarray(inputs, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    trace = run_network(network, x, method)
    if t.shape != trace.outputs.shape:
        raise ValueError(f"targets must be {trace.outputs.shape}, got {t.shape}")
    error = trace.outputs - t
    loss = 0.5 * float((error ** 2).sum(axis=1).mean())
    return loss, backward(network, x, trace, error / len(x))
