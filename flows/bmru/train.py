"""Trainer for first-quadrant BMRU networks (needs the `[train]` extra: torch).

The forward pass is the exact FQ-BMRU of ARCHITECTURE §3 (Heaviside force-high/force-low,
hold otherwise); only the backward pass uses a surrogate derivative of the two steps, so the
trained network is the one the circuit implements. Parameters are parametrised to stay
realisable: α ∈ (ALPHA_MIN, ALPHA_MAX), β_lo ≥ 0, β_hi − β_lo ≥ MIN_HYSTERESIS, and weights
and biases are projected into [−WEIGHT_MAX, WEIGHT_MAX] after every step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

ALPHA_MIN, ALPHA_MAX = 0.2, 4.0
MIN_HYSTERESIS = 0.1
WEIGHT_MAX = 4.0
WEIGHT_STEP = 1 / 8      # unit-transistor ratio resolution assumed for the rounded report
SURROGATE_SLOPE = 4.0    # 1 / width of the sigmoid surrogate, in software units
L1_WEIGHT = 1e-4
QUANTISE_FROM = 0.8       # fraction of the epochs after which training sees rounded weights
GRAD_CLIP = 1.0          # a Heaviside forward pass makes rare huge gradients; cap the norm
INIT_LOW_QUANTILE = 0.002
INIT_HIGH_QUANTILE = 0.97
LIVENESS_WEIGHT = 1.0
LIVENESS_QUANTILE = 0.001
LIVENESS_MARGIN = 0.0
#: Hardware-aware phase (`Hardware`): weight of the threshold-margin term, and the default
#: margin in σ of the drive-to-threshold distance that mismatch spreads (`spreads`).
MARGIN_WEIGHT = 1.0
MARGIN_SIGMAS = 2.0
#: Re-mappings allowed for a hardware-trained network to land on a grid it maps onto itself.
FIXED_POINT_ROUNDS = 4


@dataclass
class LayerSpec:
    """One layer of the architecture to train (the trainable part of a §3 layer)."""
    kind: str                 # "dense" | "bmru"
    size: int
    activation: str = "relu"  # dense only
    skip_from: int | None = None


@dataclass
class Params:
    """Effective (constrained) parameters of every layer, as they go into the network file."""
    specs: list[LayerSpec]
    input_size: int
    layers: list[dict[str, torch.Tensor]] = field(default_factory=list)

    def rounded(self, step: float = WEIGHT_STEP) -> "Params":
        """A copy with every weight matrix rounded to a multiple of `step` (biases and
        α/β are bias currents, not ratios, and stay as they are)."""
        layers = [{k: (torch.round(v / step) * step if k == "weight" else v) for k, v in p.items()}
                  for p in self.layers]
        return Params(self.specs, self.input_size, layers)

    def without_tiny_biases(self, min_bias: float) -> "Params":
        """A copy with every bias smaller than `min_bias` units set to exactly 0: a bias
        current below the leakage floor (pdk.limits.MIN_BIAS_CURRENT) cannot be built."""
        layers = [{k: (torch.where(v.abs() < min_bias, torch.zeros_like(v), v) if k == "bias"
                       else v) for k, v in p.items()} for p in self.layers]
        return Params(self.specs, self.input_size, layers)

    def as_written(self, min_bias: float) -> "Params":
        """The parameters exactly as the network file will hold them (tiny biases zeroed,
        6 decimals, float64), so that reported accuracies are those of the file."""
        written = self.without_tiny_biases(min_bias).to_layer_dicts()
        return Params.from_layer_dicts(self.input_size, written)

    def to_layer_dicts(self, decimals: int = 6) -> list[dict]:
        """Plain-Python layer dicts in the field order and meaning of schema §3."""
        out = []
        for spec, p in zip(self.specs, self.layers):
            def r(t: torch.Tensor):
                return (np.round(t.detach().double().numpy(), decimals) + 0.0).tolist()  # no -0.0
            layer = {"kind": spec.kind, "weight": r(p["weight"]), "bias": r(p["bias"])}
            if spec.kind == "dense":
                layer["activation"] = spec.activation
            else:
                layer.update(alpha=r(p["alpha"]), beta_lo=r(p["beta_lo"]), beta_hi=r(p["beta_hi"]))
            if spec.skip_from is not None:
                layer["skip_from"] = spec.skip_from
            out.append(layer)
        return out

    @classmethod
    def from_layer_dicts(cls, input_size: int, layers: list[dict]) -> "Params":
        """Parameters from §3 layer dicts (e.g. a loaded network file), as float64 tensors."""
        specs, values = [], []
        for layer in layers:
            weight = torch.tensor(layer["weight"], dtype=torch.float64)
            bias = torch.tensor(layer.get("bias") or [0.0] * weight.shape[0], dtype=torch.float64)
            p = {"weight": weight, "bias": bias}
            if layer["kind"] == "bmru":
                p.update({k: torch.tensor(layer[k], dtype=torch.float64)
                          for k in ("alpha", "beta_lo", "beta_hi")})
            specs.append(LayerSpec(layer["kind"], weight.shape[0], layer.get("activation", "relu"),
                                   layer.get("skip_from")))
            values.append(p)
        return cls(specs, input_size, values)


@lru_cache(maxsize=1)
def spreads() -> dict[str, float]:
    """Relative σ that mismatch gives each kind of parameter, from the characterization:
    BMRU α, β_lo, β_hi from cells/corrections.yaml (the cell's goldens); dense weights and
    biases from the dense block's golden (σ of an output at x = (1, 1) nA, M = 4, largest
    over its outputs, taken relative to 1 nA)."""
    import yaml

    from cells import corrections
    from cells.dense import GOLDEN

    sigma = corrections.load()["mismatch_sigma"]
    bands = yaml.safe_load(GOLDEN.read_text())["specs"]["mismatch_sigma"]["bands"]
    dense = max(band["typ"] for band in bands.values()) / 100
    return {"weight": dense, "bias": dense, "alpha": sigma["bmru_alpha"],
            "beta_lo": sigma["bmru_switch_down"], "beta_hi": sigma["bmru_switch_up"]}


def default_margin() -> float:
    """MARGIN_SIGMAS × the σ of a drive's distance to its threshold (threshold and drive
    spreads in quadrature), as a fraction of the threshold."""
    s = spreads()
    return MARGIN_SIGMAS * math.hypot(max(s["beta_lo"], s["beta_hi"]), s["weight"])


@dataclass(frozen=True)
class Hardware:
    """Hardware-aware training (`bmru train --hardware`), for the epochs from `start`:
    the forward pass runs on the values the compiled circuit realises (`realised`), each
    mini-batch draws a mismatch sample of every parameter from the characterized `spreads`,
    and `margin_penalty` pushes every BMRU drive at least `margin` (a fraction of the
    threshold) away from β_lo and β_hi."""

    unit_current: float = 1e-9
    diode_units: int | None = None
    margin: float = field(default_factory=default_margin)
    mismatch: bool = True
    margin_weight: float = MARGIN_WEIGHT
    #: fraction of the epochs after which training runs on the realised values. kws_d4
    #: recipe at M = 8 (held-out accuracy): from 0.8, 84 % (88 % without the margin and
    #: mismatch terms); from 0.5, 95.7 % (92.0 % without them): the grid needs time at a
    #: learning rate that can still move the weights, and the noise and margin help it.
    start: float = 0.5


def realised(params: Params, unit_current: float = 1e-9, diode_units: int | None = None,
             config=None) -> Params:
    """`params` with the values `bmru compile` realises (flows.bmru.circuit.realised_network:
    weights k/M at the macro's one M, biases and α/β as bias-unit counts); gradients pass
    straight through."""
    from flows.bmru.circuit import realised_network
    from flows.bmru.network import network_from_arrays

    network = network_from_arrays(params.input_size, params.to_layer_dicts(), "training", unit_current)
    mapped = realised_network(network, config, diode_units)
    layers = [{key: value + (torch.as_tensor(np.array(getattr(layer, key)), dtype=value.dtype) - value).detach()
               for key, value in p.items()} for p, layer in zip(params.layers, mapped.layers)]
    return Params(params.specs, params.input_size, layers)


def with_mismatch(params: Params, generator: torch.Generator) -> Params:
    """One mismatch sample: every parameter times (1 + σ·z), σ from `spreads`, z standard normal."""
    sigma = spreads()
    layers = [{key: value * (1 + sigma[key] * torch.randn(value.shape, generator=generator, dtype=value.dtype))
               for key, value in p.items()} for p in params.layers]
    return Params(params.specs, params.input_size, layers)


def margin_penalty(pre: torch.Tensor, p: dict[str, torch.Tensor], margin: float) -> torch.Tensor:
    """How deep the BMRU drives sit inside the bands of ±margin·β around β_lo and β_hi
    (0 when every drive is clear), averaged over batch, time and units."""
    drive = F.relu(pre)
    return sum(F.relu(1 - (drive - p[key]).abs() / (margin * p[key])).mean() for key in ("beta_lo", "beta_hi"))


class _Step(torch.autograd.Function):
    """Heaviside step (z > 0) forward; sigmoid-derivative surrogate backward."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return (z > 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        s = torch.sigmoid(SURROGATE_SLOPE * z)
        return grad * SURROGATE_SLOPE * s * (1 - s)


def hold_scan(hold: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
    """h_t = hold_t · h_{t−1} + drive_t with h_0 = 0, along dim 1, as a log-depth
    associative scan ((a₁,b₁)∘(a₂,b₂) = (a₁a₂, a₂b₁+b₂)) so it stays cheap in autograd."""
    a, b = hold, drive
    offset = 1
    while offset < a.shape[1]:
        b = torch.cat([b[:, :offset], a[:, offset:] * b[:, :-offset] + b[:, offset:]], dim=1)
        a = torch.cat([a[:, :offset], a[:, offset:] * a[:, :-offset]], dim=1)
        offset *= 2
    return b


def _layer(spec: LayerSpec, p: dict[str, torch.Tensor], y: torch.Tensor,
           liveness: list | None = None, margin: tuple[float, list] | None = None) -> torch.Tensor:
    """One layer's own output (before any skip) for inputs y (B, T, n). For a BMRU,
    appends its `liveness_penalty` to `liveness` and, with `margin` = (fraction, list),
    its `margin_penalty` to the list."""
    pre = y @ p["weight"].T + p["bias"]
    if spec.kind == "dense":
        return F.relu(pre) if spec.activation == "relu" else pre
    if liveness is not None:
        liveness.append(liveness_penalty(pre, p))
    if margin is not None:
        margin[1].append(margin_penalty(pre, p, margin[0]))
    h_hat = F.relu(pre)
    high = _Step.apply(h_hat - p["beta_hi"])
    low = _Step.apply(p["beta_lo"] - h_hat)
    return hold_scan(1 - high - low, high * p["alpha"])


def liveness_penalty(pre: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """How far each BMRU unit is from switching both ways within a batch: its drive's
    LIVENESS_QUANTILE from the top should exceed β_hi and from the bottom fall below β_lo.
    A unit stuck high or low gets no surrogate gradient and never recovers without this."""
    flat = pre.reshape(-1, pre.shape[-1])
    top = torch.quantile(flat, 1 - LIVENESS_QUANTILE, dim=0)
    bottom = torch.quantile(flat, LIVENESS_QUANTILE, dim=0)
    return (F.relu(p["beta_hi"] + LIVENESS_MARGIN - top)
            + F.relu(bottom - p["beta_lo"] + LIVENESS_MARGIN)).sum()


def run(params: Params, x: torch.Tensor, liveness: list | None = None,
        margin: tuple[float, list] | None = None) -> torch.Tensor:
    """Outputs (B, T, m) of the network for inputs (B, T, n): §3 semantics exactly."""
    outputs: dict[int, torch.Tensor] = {-1: x}
    y = x
    for i, (spec, p) in enumerate(zip(params.specs, params.layers)):
        y = _layer(spec, p, y, liveness, margin)
        if spec.skip_from is not None:
            y = y + outputs[spec.skip_from]
        outputs[i] = y
    return y


class FQNet(torch.nn.Module):
    """Unconstrained trainable tensors; `params()` maps them to realisable §3 values."""

    def __init__(self, input_size: int, specs: list[LayerSpec]):
        super().__init__()
        self.input_size, self.specs = input_size, specs
        self.raw = torch.nn.ModuleList()
        fan_in = input_size
        for spec in specs:
            m = torch.nn.ParameterDict()
            bound = 1.5 / math.sqrt(fan_in)
            m["weight"] = torch.nn.Parameter(torch.empty(spec.size, fan_in).uniform_(-bound, bound))
            m["bias"] = torch.nn.Parameter(torch.full((spec.size,), 0.1))
            if spec.activation == "none":
                # A zero readout first learns which sign each state carries, instead of
                # dragging the random-signed states towards it (which saturates them).
                m["weight"].data.zero_()
            if spec.kind == "bmru":
                m["weight"].data.abs_()      # start with units that can be driven high
                m["alpha"] = torch.nn.Parameter(torch.zeros(spec.size))        # α ≈ 1.1
                m["beta_lo"] = torch.nn.Parameter(torch.full((spec.size,), -1.0))
                m["width"] = torch.nn.Parameter(torch.full((spec.size,), -0.5))
            self.raw.append(m)
            fan_in = spec.size

    def params(self, round_weights: bool = False) -> Params:
        """Effective parameters; with `round_weights` the forward pass sees weights rounded
        to WEIGHT_STEP while gradients pass straight through (quantisation-aware training)."""
        layers = []
        for spec, m in zip(self.specs, self.raw):
            weight = m["weight"]
            if round_weights:
                weight = weight + (torch.round(weight / WEIGHT_STEP) * WEIGHT_STEP - weight).detach()
            p = {"weight": weight, "bias": m["bias"]}
            if spec.kind == "bmru":
                lo = F.softplus(m["beta_lo"])
                p.update(alpha=ALPHA_MIN + (ALPHA_MAX - ALPHA_MIN) * torch.sigmoid(m["alpha"] - 1.9),
                         beta_lo=lo, beta_hi=lo + MIN_HYSTERESIS + F.softplus(m["width"]))
            layers.append(p)
        return Params(self.specs, self.input_size, layers)

    def forward(self, x: torch.Tensor, liveness: list | None = None,
                round_weights: bool = False) -> torch.Tensor:
        return run(self.params(round_weights), x, liveness)

    @torch.no_grad()
    def init_from_data(self, x: np.ndarray) -> None:
        """Map each BMRU's drive affinely so that, on the data, its INIT_LOW_QUANTILE lands
        on β_lo and its INIT_HIGH_QUANTILE on β_hi: every unit starts as a latch that a
        rare strong input sets and a rarer weak one resets, i.e. a working memory of
        "this feature occurred" (a unit stuck high or low gets no surrogate gradient; one
        that flips often remembers nothing)."""
        outputs = {-1: torch.from_numpy(x)}
        y = outputs[-1]
        for i, (spec, m) in enumerate(zip(self.specs, self.raw)):
            if spec.kind == "bmru":
                p = self.params().layers[i]
                pre = (y @ m["weight"].T + m["bias"]).reshape(-1, spec.size)
                low = torch.quantile(pre, INIT_LOW_QUANTILE, dim=0)
                high = torch.quantile(pre, INIT_HIGH_QUANTILE, dim=0)
                k = (p["beta_hi"] - p["beta_lo"]) / (high - low).clamp_min(1e-6)
                m["weight"].mul_(k[:, None])
                m["bias"].copy_((m["bias"] - low) * k + p["beta_lo"])
            y = _layer(spec, self.params().layers[i], y)
            if spec.skip_from is not None:
                y = y + outputs[spec.skip_from]
            outputs[i] = y

    @torch.no_grad()
    def project(self) -> None:
        """Keep weights and biases within what unit-transistor ratios can realise."""
        for m in self.raw:
            m["weight"].clamp_(-WEIGHT_MAX, WEIGHT_MAX)
            m["bias"].clamp_(-WEIGHT_MAX, WEIGHT_MAX)

    def l1(self) -> torch.Tensor:
        return sum(m["weight"].abs().sum() for m in self.raw)


def setup_determinism(seed: int) -> None:
    """Same seed → same network: one thread, deterministic kernels, seeded generators."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)


def fit(net: FQNet, x: np.ndarray, target: np.ndarray, loss_fn, epochs: int, batch: int,
        lr: float, seed: int, log=None, hardware: Hardware | None = None) -> None:
    """Adam with cosine decay and clipped gradients over shuffled mini-batches;
    projection after each step. The last epochs (from QUANTISE_FROM) train through
    1/8-rounded weights, or with `hardware` through the realised values with mismatch
    samples and the margin term (`Hardware`), so that the float network and the circuit
    end up close."""
    xt, tt = torch.from_numpy(x), torch.from_numpy(target)
    net.init_from_data(x[::max(1, len(x) // 512)])   # spread over the (ordered) set
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps = epochs * math.ceil(len(xt) / batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        late = epoch >= QUANTISE_FROM * epochs
        on_grid = hardware is not None and epoch >= hardware.start * epochs
        for start in range(0, len(xt), batch):
            idx = order[start:start + batch]
            liveness: list[torch.Tensor] = []
            margins: list[torch.Tensor] = []
            if on_grid:
                params = realised(net.params(), hardware.unit_current, hardware.diode_units)
                if hardware.mismatch:
                    params = with_mismatch(params, gen)
                y = run(params, xt[idx], liveness, (hardware.margin, margins))
            else:
                y = net(xt[idx], liveness, late)
            loss = (loss_fn(y, tt[idx]) + L1_WEIGHT * net.l1() + LIVENESS_WEIGHT * sum(liveness)
                    + (hardware.margin_weight * sum(margins) if margins else 0.0))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), GRAD_CLIP)
            opt.step()
            sched.step()
            net.project()
            total += loss.item() * len(idx)
        if log is not None:
            log(epoch, total / len(xt))


def trained_params(net: FQNet, min_bias: float, hardware: Hardware | None = None) -> Params:
    """What the network file holds: the parameters as written (`Params.as_written`), and
    after hardware-aware training the realised values themselves (weights k/M, bias-unit
    counts), which `bmru compile` maps onto themselves (same M, same D): the file is then
    the circuit's own grid, and circuit and network differ by analog error only."""
    params = net.params().as_written(min_bias)
    if hardware is None:
        return params
    for _ in range(FIXED_POINT_ROUNDS):  # the bias unit D is chosen from the values: settle it
        grid = realised(params, hardware.unit_current, hardware.diode_units).as_written(min_bias)
        if grid.to_layer_dicts() == params.to_layer_dicts():
            return grid
        params = grid
    raise RuntimeError(f"the realised grid did not settle in {FIXED_POINT_ROUNDS} rounds")


def last_row_decisions(params: Params, x: np.ndarray) -> np.ndarray:
    """Classifier decisions: the index of the largest output in the last row."""
    with torch.no_grad():
        y = run(params, torch.from_numpy(x).to(params.layers[0]["weight"].dtype))
    return y[:, -1].argmax(dim=1).numpy()


def classifier_metrics(params: Params, x: np.ndarray, labels: np.ndarray, prefix: str) -> dict:
    """Accuracy and per-class recall (the KWS sets are imbalanced), plus the accuracy with
    weights rounded to multiples of WEIGHT_STEP."""
    decided = last_row_decisions(params, x)
    metrics = {f"{prefix}_accuracy": float((decided == labels).mean())}
    for label, word in ((0, "yes"), (1, "other")):
        if (labels == label).any():      # a tiny test split may lack a class
            metrics[f"{prefix}_{word}_recall"] = float((decided[labels == label] == label).mean())
    rounded = last_row_decisions(params.rounded(), x)
    metrics[f"{prefix}_accuracy_rounded"] = float((rounded == labels).mean())
    return metrics


def kws_architecture(hidden: int, state: int) -> list[LayerSpec]:
    """Two published blocks [ReLU → dense → BMRU → dense] with skips, then a linear readout."""
    return [LayerSpec("dense", hidden), LayerSpec("bmru", state),
            LayerSpec("dense", hidden, skip_from=0), LayerSpec("bmru", state),
            LayerSpec("dense", hidden, skip_from=2), LayerSpec("dense", 2, activation="none")]


def kws_row_targets(labels: np.ndarray, onset: np.ndarray, offset: np.ndarray,
                    rows: int) -> np.ndarray:
    """Per-row targets (N, rows) for streaming supervision: "other" (1) everywhere except
    "yes" (0) from the frame after a "yes" ends; rows during a "yes" are not scored (-100).
    Scoring every row after the word, not only the last, gives the memory a dense signal."""
    t = np.arange(rows)[None, :]
    yes = labels[:, None] == 0
    targets = np.where(yes & (t >= offset[:, None]), 0, 1)
    return np.where(yes & (t >= onset[:, None]) & (t < offset[:, None]), -100, targets)


def train_kws(train_x: np.ndarray, train_targets: np.ndarray, test_x: np.ndarray,
              test_y: np.ndarray, *, seed: int, epochs: int, hidden: int, state: int,
              batch: int = 64, lr: float = 0.002, min_bias: float = 0.02,
              log=None, hardware: Hardware | None = None) -> tuple[Params, dict]:
    """Train the KWS classifier ("yes" = 0 vs other = 1) on per-row targets
    (`kws_row_targets`) plus the last row, which is the decision. Biases below `min_bias`
    units are zeroed; the metrics are those of the parameters as written."""
    setup_determinism(seed)
    net = FQNet(train_x.shape[2], kws_architecture(hidden, state))
    train_y = train_targets[:, -1]
    counts = np.bincount(train_y, minlength=2)
    weight = torch.tensor(len(train_y) / (2.0 * np.maximum(counts, 1)), dtype=torch.float32)

    def loss_fn(y, target):
        rows = F.cross_entropy(y.reshape(-1, 2), target.reshape(-1), weight=weight,
                               ignore_index=-100)
        return rows + F.cross_entropy(y[:, -1], target[:, -1], weight=weight)

    fit(net, train_x, train_targets.astype(np.int64), loss_fn, epochs, batch, lr, seed, log, hardware)
    params = trained_params(net, min_bias, hardware)
    metrics = {"train_accuracy": float((last_row_decisions(params, train_x) == train_y).mean())}
    metrics.update(classifier_metrics(params, test_x, test_y, "held_out"))
    return params, metrics


def flipflop_data(rng: np.random.Generator, n: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Set/reset pulses on inputs x0/x1 over a noisy floor; label per step: 0 = "on"
    (last pulse was set), 1 = "off" (reset, or no pulse yet)."""
    kind = rng.choice(3, size=(n, steps), p=[0.7, 0.15, 0.15])    # 0 none, 1 set, 2 reset
    x = rng.uniform(0.0, 0.15, size=(n, steps, 2))
    amplitude = rng.uniform(0.6, 1.0, size=(n, steps))
    x[..., 0] = np.where(kind == 1, amplitude, x[..., 0])
    x[..., 1] = np.where(kind == 2, amplitude, x[..., 1])
    labels = np.ones((n, steps), dtype=np.int64)
    label = np.ones(n, dtype=np.int64)
    for t in range(steps):
        label = np.where(kind[:, t] == 1, 0, np.where(kind[:, t] == 2, 1, label))
        labels[:, t] = label
    return x.astype(np.float32), labels


def flipflop_accuracy(params: Params, x: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of steps whose decision (argmax: y0 = "on", y1 = "off") is the stored bit."""
    with torch.no_grad():
        y = run(params, torch.from_numpy(x).to(params.layers[0]["weight"].dtype))
    return float((y.argmax(dim=-1).numpy() == labels).mean())


def train_flipflop(*, seed: int, epochs: int, hidden: int, state: int, samples: int = 256,
                   steps: int = 30, batch: int = 32, lr: float = 0.03,
                   min_bias: float = 0.02, log=None, hardware: Hardware | None = None) -> tuple[Params, dict]:
    """Train dense(2→H, relu) → bmru(H→d) → dense(d→2) to tell the stored bit at every
    step (y0 = "on", y1 = "off", as `examples/flipflop.yaml`)."""
    setup_determinism(seed)
    rng = np.random.default_rng(seed)
    train_x, train_t = flipflop_data(rng, samples, steps)
    test_x, test_t = flipflop_data(rng, samples, 4 * steps)   # longer: must hold for longer
    net = FQNet(2, [LayerSpec("dense", hidden), LayerSpec("bmru", state),
                    LayerSpec("dense", 2, activation="none")])

    def loss_fn(y, target):
        return F.cross_entropy(y.reshape(-1, 2), target.reshape(-1))

    fit(net, train_x, train_t, loss_fn, epochs, batch, lr, seed, log, hardware)
    params = trained_params(net, min_bias, hardware)
    metrics = {"train_accuracy": flipflop_accuracy(params, train_x, train_t),
               "held_out_accuracy": flipflop_accuracy(params, test_x, test_t),
               "held_out_accuracy_rounded": flipflop_accuracy(params.rounded(), test_x, test_t)}
    return params, metrics


def write_network(path, name: str, unit_current: float, params: Params, header: str = ""):
    """Validate the trained parameters as a bmru-network/1 file and write it atomically
    (comment `header` first); returns the validated `flows.bmru.network.Network`."""
    from pathlib import Path

    from flows.bmru.network import network_from_arrays
    from pdk.cache import write_atomically
    path = Path(path)
    network = network_from_arrays(params.input_size, params.to_layer_dicts(), name, unit_current, str(path))
    write_atomically(path, header + network.to_yaml())
    return network
