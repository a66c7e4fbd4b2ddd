"""What a character model remembers, measured on held-out code.

* :func:`closer_probs`: the probability a model gave each closing
  bracket or quote, read from its per-character log-probabilities;
* :func:`by_distance`: those probabilities averaged within bins of the
  distance back to the opener (chapter 4's parentheses, in the wild);
* :func:`context_positions`, :func:`charlm_context_bits`,
  :func:`ngram_context_bits`: the loss at fixed positions when the model
  sees only the last k characters (its state reset k characters back);
* :func:`unit_correlations`, :func:`best_units`: Pearson's r between each
  unit's activation and each per-character feature of
  :mod:`asctools.text.syntax`, and the units that track them best.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from asctools._validate import check_int, describe

__all__ = [
    "DISTANCE_EDGES",
    "best_units",
    "by_distance",
    "charlm_context_bits",
    "closer_probs",
    "context_positions",
    "ngram_context_bits",
    "unit_correlations",
]

# distance bins [1, 2), [2, 4), ..., [2048, ∞): log-spaced
DISTANCE_EDGES = tuple(2**i for i in range(12))


def closer_probs(log2p, closers) -> np.ndarray:
    """P(closer) for each closer, from ``log2p[i] = log2 P(t[i + 1] |
    t[:i + 1])`` (what :func:`~asctools.text.charlm.char_log2_probs` and
    an n-gram's ``char_probs`` give, as log2)."""
    log2p = np.asarray(log2p, dtype=np.float64)
    pos = np.array([c.pos for c in closers], dtype=np.int64)
    if pos.size and (pos.min() < 1 or pos.max() > log2p.size):
        raise ValueError(
            f"closers must lie in [1, {log2p.size}] (the scored "
            f"characters), got positions {pos.min()}..{pos.max()}"
        )
    return np.exp2(log2p[pos - 1])


def by_distance(values, distances, edges=DISTANCE_EDGES) -> dict:
    """Mean and count of ``values`` in each bin ``[edges[j],
    edges[j + 1])`` of ``distances`` (the last bin is open-ended)."""
    v = np.asarray(values, dtype=np.float64)
    d = np.asarray(distances)
    if v.shape != d.shape or v.ndim != 1:
        raise ValueError(
            f"values and distances must be 1-D of one length, got "
            f"{v.shape} and {d.shape}"
        )
    which = np.searchsorted(np.asarray(edges), d, side="right") - 1
    means, counts = [], []
    for j in range(len(edges)):
        sel = which == j
        counts.append(int(sel.sum()))
        means.append(float(v[sel].mean()) if sel.any() else None)
    return {"edges": list(edges), "mean": means, "count": counts}


def context_positions(n: int, max_context: int, count: int, seed=0):
    """``count`` positions drawn without replacement from
    ``[max_context, n)``, sorted: the characters scored at every k."""
    check_int("count", count, 1)
    lo = check_int("max_context", max_context, 1)
    if n - lo < count:
        raise ValueError(
            f"n must leave {count} positions after max_context={lo}, got n={n}"
        )
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(np.arange(lo, n), size=count, replace=False))


@torch.no_grad()
def charlm_context_bits(model, ids, positions, k, batch=256) -> float:
    """Mean −log2 P(ids[p] | ids[p − k : p]) over ``positions``: the
    model run from a zero state over the last ``k`` characters only."""
    check_int("k", k, 1)
    pos = torch.as_tensor(np.asarray(positions), dtype=torch.long)
    if pos.min().item() < k:
        raise ValueError(f"positions must be >= k = {k}, got {pos.min()}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total = 0.0
    for part in pos.split(batch):
        windows = part[:, None] + torch.arange(-k, 0)  # (b, k)
        logits, _ = model(ids[windows].to(device))
        logp = logits[:, -1].float().log_softmax(-1).cpu()  # (b, V)
        total -= logp.gather(1, ids[part][:, None]).sum().item()
    model.train(was_training)
    return total / pos.numel() / math.log(2)


def ngram_context_bits(ngram, text: str, positions, k: int) -> float:
    """The same for an n-gram model: it sees min(k, order − 1) chars."""
    check_int("k", k, 1)
    return float(
        -np.mean(
            [
                math.log2(ngram.prob(text[p - k : p], text[p]))
                for p in positions
            ]  # fmt: skip
        )
    )


def unit_correlations(acts, features: dict) -> dict[str, np.ndarray]:
    """Pearson's r of every unit (column of ``acts``, (N, H)) with each
    feature (N values); r = 0 where either side is constant."""
    a = np.asarray(acts, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"acts must be (N, H), got {describe(acts)}")
    az = a - a.mean(0)
    a_norm = np.sqrt((az**2).sum(0))
    out = {}
    for name, values in features.items():
        f = np.asarray(values, dtype=np.float64)
        if f.shape != (a.shape[0],):
            raise ValueError(
                f"feature {name!r} must hold {a.shape[0]} values (one per "
                f"row of acts), got shape {f.shape}"
            )
        fz = f - f.mean()
        denom = a_norm * math.sqrt((fz**2).sum())
        r = np.divide(fz @ az, denom, out=np.zeros(a.shape[1]),
                      where=denom > 0)  # fmt: skip
        out[name] = r
    return out


def best_units(correlations: dict[str, np.ndarray]) -> list[dict]:
    """For each feature, the unit with the largest |r|, and r."""
    rows = []
    for name, r in correlations.items():
        unit = int(np.abs(r).argmax())
        rows.append({"feature": name, "unit": unit, "r": float(r[unit])})
    return rows
