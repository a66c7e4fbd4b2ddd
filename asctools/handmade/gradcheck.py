"""A finite-difference gradient check for hand-written backward passes.

Central differences: for every entry θ_j of every parameter array, with
L(±kε) short for L(θ ± kε e_j),

    order 2:  g_num = (L(+ε) − L(−ε)) / (2ε),                 error O(ε²)
    order 4:  g_num = (8(L(+ε) − L(−ε)) − (L(+2ε) − L(−2ε))) / (12ε),
                                                               error O(ε⁴)

plus a rounding error of about u·|L|/ε (u ≈ 1e−16 in float64). For order 2
the best ε is ~1e−5 and the absolute error ~1e−11; order 4 with ε ~ 1e−4
gets ~1e−12 (a larger ε lets the O(ε⁴) term in). That matters for the
small entries of a recurrent weight matrix: a gradient of 1e−5 checked to
1e−6 relative needs an absolute error below 1e−11. A wrong backward pass
is usually off by O(1), so a tolerance of 1e−6 separates right from wrong
by orders of magnitude. Run it in float64: in float32 rounding alone is
~1e−3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "GradCheckResult",
    "gradient_check",
    "numerical_gradient",
    "relative_error",
]


def relative_error(analytic, numeric, floor=1e-12):
    """|a − n| / max(|a|, |n|, floor), entry by entry (same shape)."""
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    if analytic.shape != numeric.shape:
        raise ValueError(
            f"analytic and numeric must have the same shape, got "
            f"{analytic.shape} and {numeric.shape}"
        )
    scale = np.maximum(np.maximum(abs(analytic), abs(numeric)), floor)
    return abs(analytic - numeric) / scale


@dataclass
class GradCheckResult:
    """Per parameter: the largest relative and absolute error over entries.

    ``table`` maps a parameter name to ``{"max_rel_err", "max_abs_err",
    "max_abs_grad", "n_entries"}``; ``passed`` is True when every
    ``max_rel_err`` is below ``tol``.
    """

    table: dict = field(default_factory=dict)
    tol: float = 1e-6

    @property
    def passed(self):
        return all(r["max_rel_err"] < self.tol for r in self.table.values())

    @property
    def max_rel_err(self):
        return max(r["max_rel_err"] for r in self.table.values())

    def __str__(self):
        lines = [
            f"{'parameter':<12}{'shape':>12}{'max rel err':>14}"
            f"{'max abs err':>14}"
        ]
        for name, r in self.table.items():
            lines.append(
                f"{name:<12}{str(r['shape']):>12}"
                f"{r['max_rel_err']:>14.2e}{r['max_abs_err']:>14.2e}"
            )
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(f"{verdict} (tolerance {self.tol:g})")
        return "\n".join(lines)


def _shifted_loss(loss_fn, flat, j, delta):
    """L(θ + δ e_j), restoring θ_j afterwards."""
    old = flat[j]
    flat[j] = old + delta
    loss = loss_fn()
    flat[j] = old
    return loss


def numerical_gradient(loss_fn, param, eps=1e-4, order=4):
    """Central-difference gradient of ``loss_fn()`` w.r.t. ``param``.

    ``param`` is changed in place, one entry at a time, and restored.
    ``order`` is 2 (two evaluations per entry) or 4 (four).
    """
    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    if not isinstance(param, np.ndarray) or not param.flags.c_contiguous:
        raise ValueError("param must be a C-contiguous np.ndarray")
    if not np.issubdtype(param.dtype, np.floating):
        raise TypeError(
            f"param must be a floating-point array (float64 for a gradient "
            f"check), got dtype {param.dtype}: an integer entry cannot move "
            "by ε"
        )
    grad = np.zeros_like(param)
    flat, gflat = param.reshape(-1), grad.reshape(-1)  # views
    for j in range(flat.size):
        d1 = _shifted_loss(loss_fn, flat, j, eps) - _shifted_loss(
            loss_fn, flat, j, -eps
        )  # L(+ε) − L(−ε)
        if order == 2:
            gflat[j] = d1 / (2.0 * eps)
            continue
        d2 = _shifted_loss(loss_fn, flat, j, 2 * eps) - _shifted_loss(
            loss_fn, flat, j, -2 * eps
        )  # L(+2ε) − L(−2ε)
        gflat[j] = (8.0 * d1 - d2) / (12.0 * eps)
    return grad


def gradient_check(
    loss_fn, params, grads, eps=1e-4, order=4, tol=1e-6, floor=1e-12
):
    """Compare analytic gradients with central differences.

    Args:
        loss_fn: a callable with no arguments returning the scalar loss for
            the *current* values of the arrays in ``params``.
        params: dict name -> float64 ndarray, the arrays ``loss_fn`` reads
            (perturbed in place and restored).
        grads: dict name -> ndarray, the analytic gradients at the current
            parameters (same keys and shapes).
        eps: the finite-difference step ε (use ~1e−5 with order 2).
        order: 2 or 4, the order of the central difference.
        tol: the pass threshold for each parameter's max relative error.
        floor: relative errors divide by max(|a|, |n|, floor).

    Returns:
        GradCheckResult with a per-parameter table and ``passed``.
    """
    if not isinstance(params, dict) or not isinstance(grads, dict):
        raise TypeError("params and grads must be dicts name -> ndarray")
    if params.keys() != grads.keys():
        raise ValueError(
            f"params and grads must have the same keys, got "
            f"{sorted(params)} and {sorted(grads)}"
        )
    result = GradCheckResult(tol=tol)
    for name, p in params.items():
        if not isinstance(p, np.ndarray) or p.dtype != np.float64:
            raise TypeError(f"params[{name!r}] must be a float64 ndarray")
        num = numerical_gradient(loss_fn, p, eps, order)
        ana = np.asarray(grads[name])
        result.table[name] = {
            "shape": p.shape,
            "max_rel_err": float(relative_error(ana, num, floor).max()),
            "max_abs_err": float(abs(ana - num).max()),
            "max_abs_grad": float(abs(num).max()),
            "n_entries": p.size,
        }
    return result
