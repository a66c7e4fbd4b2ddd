"""Products of step Jacobians ∂h_t/∂h_k of an Elman RNN, and W_hh's spectrum.

For h_t = φ(a_t), a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh, one step's
Jacobian is ∂h_t/∂h_{t−1} = diag(φ′(a_t)) W_hh, so

    ∂h_t/∂h_k = Π_{s=k+1..t} diag(φ′(a_s)) W_hh          (t − k factors).

If |φ′| ≤ γ (γ = 1 for tanh and relu, ¼ for the sigmoid), then
‖diag(φ′(a_s))‖₂ ≤ γ and submultiplicativity gives the bound of Pascanu,
Mikolov & Bengio (2013):  ‖∂h_t/∂h_k‖₂ ≤ (γ σ_max(W_hh))^(t−k).
So σ_max < 1/γ is sufficient for the gradient to vanish, and σ_max > 1/γ
necessary for it to explode. The spectral radius ρ(W_hh) sets the growth
of W_hh^n itself (ρ^n) but is no bound on the product.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from asctools._validate import check_int, check_real
from asctools.gradflow.unroll import layer_kind, unroll
from asctools.models import RecurrentModel, StepwiseModel

__all__ = [
    "GAMMA",
    "Spectrum",
    "JacobianNorms",
    "spectrum",
    "jacobian_product_norms",
    "rnn_jacobian_norms",
    "scale_spectral_norm",
]

# γ = max |φ′|: tanh′(0) = 1, relu′ ∈ {0, 1}, σ′(0) = ¼
GAMMA = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}


@dataclass
class Spectrum:
    """eigenvalues (H,) complex128; singular_values (H,) float64,
    descending; sigma_max = σ_max(W); rho = max |λ| (spectral radius)."""

    eigenvalues: np.ndarray
    singular_values: np.ndarray
    sigma_max: float
    rho: float


@dataclass
class JacobianNorms:
    """‖∂h_{k+n}/∂h_k‖₂ against the lag n = t − k (float64 arrays).

    lag: (N,) 1..N. per_sequence: (B, N). norm_mean, norm_median: (N,)
    over the B sequences. bound: (γ σ_max)^n; rho_power: ρ^n.
    final_singular_values: (B, H), descending: the singular values of
    each sequence's whole product ∂h_{k+N}/∂h_k, i.e. how much each
    direction of h_k survives to the end (a direction with value ≈ 1 is
    kept, one near 0 forgotten).
    """

    lag: np.ndarray
    norm_mean: np.ndarray
    norm_median: np.ndarray
    per_sequence: np.ndarray
    bound: np.ndarray
    rho_power: np.ndarray
    gamma: float
    sigma_max: float
    rho: float
    nonlinearity: str
    final_singular_values: np.ndarray | None = None


def _square(weight_hh) -> Tensor:
    w = torch.as_tensor(weight_hh).detach()
    if w.dim() != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(
            "weight_hh must be a square (H, H) matrix (an Elman RNN's "
            f"W_hh), got shape {tuple(w.shape)}"
        )
    return w.double().cpu()


def spectrum(weight_hh) -> Spectrum:
    """Eigenvalues and singular values of W_hh, a (H, H) tensor/array."""
    w = _square(weight_hh)
    eig = torch.linalg.eigvals(w).numpy()  # (H,) complex
    sv = torch.linalg.svdvals(w).numpy()  # (H,) descending
    return Spectrum(eig, sv, float(sv[0]), float(np.abs(eig).max()))


def _dphi(a: Tensor, nonlinearity: str) -> Tensor:
    """φ′(a), elementwise."""
    if nonlinearity == "tanh":
        return 1 - torch.tanh(a) ** 2  # tanh′ = 1 − tanh²
    if nonlinearity == "relu":
        return (a > 0).to(a.dtype)  # relu′ = [a > 0]
    if nonlinearity == "sigmoid":
        s = torch.sigmoid(a)
        return s * (1 - s)  # σ′ = σ(1 − σ)
    raise ValueError(
        "nonlinearity must be 'tanh', 'relu' or 'sigmoid', "
        f"got {nonlinearity!r}"
    )


def jacobian_product_norms(
    weight_hh, preact: Tensor, nonlinearity: str = "tanh"
) -> JacobianNorms:
    """Spectral norms of ∂h_{k+n}/∂h_k for n = 1..N, built explicitly.

    weight_hh: (H, H). preact: (B, N, H) the pre-activations
    a_{k+1}, ..., a_{k+N}. Computed in float64.
    """
    w = _square(weight_hh)
    if not isinstance(preact, Tensor) or preact.dim() != 3:
        raise ValueError("preact must be a 3-D tensor (B, N, H)")
    if preact.shape[2] != w.shape[0]:
        raise ValueError(
            f"preact must have H = {w.shape[0]} units, got {preact.shape[2]}"
        )
    gamma = GAMMA.get(nonlinearity)
    d = _dphi(preact.detach().double().cpu(), nonlinearity)  # (B, N, H)
    n_b, n_lag, n_h = d.shape
    prod = torch.eye(n_h, dtype=torch.float64).expand(n_b, n_h, n_h)
    norms = torch.empty(n_b, n_lag, dtype=torch.float64)
    for n in range(n_lag):
        jac = d[:, n, :, None] * w  # (B, H, H): diag(φ′(a)) W_hh
        prod = jac @ prod  # ∂h_{k+n+1}/∂h_k = J_{k+n+1} ∂h_{k+n}/∂h_k
        norms[:, n] = torch.linalg.matrix_norm(prod, ord=2)
    spec = spectrum(w)
    lag = np.arange(1, n_lag + 1)
    per_seq = norms.numpy()
    return JacobianNorms(
        lag=lag,
        norm_mean=per_seq.mean(axis=0),
        norm_median=np.median(per_seq, axis=0),
        per_sequence=per_seq,
        bound=(gamma * spec.sigma_max) ** lag.astype(np.float64),
        rho_power=spec.rho ** lag.astype(np.float64),
        gamma=gamma,
        sigma_max=spec.sigma_max,
        rho=spec.rho,
        nonlinearity=nonlinearity,
        final_singular_values=torch.linalg.svdvals(prod).numpy(),
    )


def _elman_weights(model, layer):
    """(W_ih, W_hh, b_ih, b_hh) of an Elman RNN's layer ``layer``."""
    if isinstance(model, StepwiseModel):
        check_int("layer", layer, 0, 0)  # a step-wise model has layer 0 only
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    else:
        if layer_kind(model) != "rnn":
            raise ValueError("model must be an Elman RNN (kind 'rnn')")
        check_int("layer", layer, 0, getattr(model, "num_layers", 1) - 1)
        names = [f"{n}_l{layer}" for n in ("weight_ih", "weight_hh")]
        names += [f"{n}_l{layer}" for n in ("bias_ih", "bias_hh")]
    w = [getattr(model, n, None) for n in names]
    if w[1].shape[0] != w[1].shape[1]:
        raise ValueError("model must be an Elman RNN (square W_hh)")
    return w


def _states(model, x, layer, state):
    """Layer ``layer``'s input (B, T, D) and states h_0..h_{T−1}."""
    u = unroll(model, x, state)
    return u.inputs[layer], torch.stack(u.h[layer][:-1], dim=1)


def _network(rnn):
    """The recurrent part: a RecurrentModel's layer, or ``rnn`` itself."""
    return rnn.rnn if isinstance(rnn, RecurrentModel) else rnn


def rnn_jacobian_norms(
    rnn: torch.nn.Module,
    x: Tensor,
    start: int = 0,
    layer: int = 0,
    state=None,
) -> JacobianNorms:
    """‖∂h_{start+n}/∂h_start‖ of layer ``layer`` of an Elman RNN on x.

    rnn: a torch.nn / asctools.nn ``RNN`` (x follows its ``batch_first``),
    a model with ``.rnn`` (``RecurrentModel``; x batch first) or an
    ``asctools.rnn.RNN``. x: (B, T, D) float. start: k in 0..T−1 (0 = the
    initial state). Lags n = 1..T − start.
    """
    net = _network(rnn)
    w_ih, w_hh, b_ih, b_hh = _elman_weights(net, layer)
    if not isinstance(x, Tensor) or x.dim() != 3:
        raise ValueError("x must be a 3-D tensor (B, T, D)")
    if net is rnn and not getattr(net, "batch_first", True):
        x = x.transpose(0, 1)  # (T, B, D) -> (B, T, D)
    check_int("start", start, 0, x.shape[1] - 1)
    with torch.no_grad():
        inp, h_prev = _states(net, x, layer, state)  # h_prev: h_{t−1}
        # a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh      (B, T, H)
        a = F.linear(inp, w_ih, b_ih) + F.linear(h_prev, w_hh, b_hh)
    act = getattr(net, "nonlinearity", "tanh")
    return jacobian_product_norms(w_hh, a[:, start:], act)


def scale_spectral_norm(
    rnn: torch.nn.Module, sigma_max: float, layer: int = 0
) -> None:
    """Rescale W_hh of an Elman RNN (as :func:`rnn_jacobian_norms` takes
    it) in place so that its largest singular value is ``sigma_max``."""
    w_hh = _elman_weights(_network(rnn), layer)[1]
    sigma_max = check_real("sigma_max", sigma_max, 0, strict=True)
    with torch.no_grad():
        w_hh.mul_(sigma_max / torch.linalg.matrix_norm(w_hh, ord=2))


def jacobian_norms_by_scale(rnn, x, sigmas) -> dict[float, JacobianNorms]:
    """{σ: :func:`rnn_jacobian_norms`} of copies of ``rnn`` whose W_hh is
    rescaled to σ_max = σ (``rnn`` itself is left as it is), on one x."""
    norms = {}
    for sigma in sigmas:
        scaled = copy.deepcopy(rnn)
        scale_spectral_norm(scaled, float(sigma))
        norms[float(sigma)] = rnn_jacobian_norms(scaled, x)
    return norms
