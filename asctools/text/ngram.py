"""Baselines for a character language model: counts, no learning.

* :class:`Unigram`: the best memoryless model, each character's
  frequency in the training text (add-one smoothed, so nothing has
  probability 0);
* :class:`KneserNey`: an interpolated Kneser-Ney n-gram model (Kneser &
  Ney 1995; Chen & Goodman 1999, eq. 15) that sees the last ``order − 1``
  characters and nothing before them: the short-context baseline.

Both give ``prob(context, char)``, the whole ``distribution(context)``
over an alphabet, and ``char_probs(text)``: the probability of every
character of ``text`` after the ones before it (the first has no
context and is not scored), the numbers that bits per character and the
bracket probes are made of.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from asctools._validate import check_int, describe

__all__ = ["KneserNey", "Unigram", "bits_per_char"]


def bits_per_char(probs) -> float:
    """Mean of −log2 p over the scored characters."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or (p <= 0).any() or (p > 1).any():
        raise ValueError(
            "probs must be a non-empty 1-D array of probabilities in "
            f"(0, 1], got {describe(probs)}"
        )
    return float(-np.log2(p).mean())


def _check_text(name: str, text, alphabet: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {describe(text)}")
    extra = set(text) - set(alphabet)
    if extra:
        raise ValueError(
            f"{name} must use only the alphabet's characters, got "
            f"{sorted(extra)[:5]}"
        )
    return text


class _CharModel:
    alphabet: str
    order: int

    def prob(self, context: str, char: str) -> float:
        raise NotImplementedError

    def distribution(self, context: str) -> np.ndarray:
        """P(c | context) for every character c of the alphabet."""
        _check_text("context", context, self.alphabet)
        return np.array([self.prob(context, c) for c in self.alphabet])

    def char_probs(self, text: str) -> np.ndarray:
        """P(text[i] | text[:i]) for i = 1 .. len(text) − 1 (float64)."""
        _check_text("text", text, self.alphabet)
        n = self.order - 1
        return np.array(
            [
                self.prob(text[max(0, i - n) : i], text[i])
                for i in range(1, len(text))
            ]
        )


class Unigram(_CharModel):
    """P(c) = (count(c) + 1) / (N + V), whatever came before."""

    order = 1

    def __init__(self, text: str, alphabet: str):
        self.alphabet = alphabet
        counts = Counter(_check_text("text", text, alphabet))
        total = len(text) + len(alphabet)
        self._p = {c: (counts[c] + 1) / total for c in alphabet}

    def prob(self, context: str, char: str) -> float:
        return self._p[char]


def _table(counts: Counter):
    """(counts, totals per context, types per context, discount)."""
    totals, types = Counter(), Counter()
    for gram, c in counts.items():
        totals[gram[:-1]] += c
        types[gram[:-1]] += 1
    seen = Counter(counts.values())
    n1, n2 = seen[1], seen[2]
    return counts, totals, types, (n1 / (n1 + 2 * n2) if n1 else 0.5)


class KneserNey(_CharModel):
    """Interpolated Kneser-Ney over characters, of ``order`` n ≥ 2.

    The highest order the context allows uses counts c(h w), the lower
    ones continuation counts N1+(• h w), the number of different
    characters seen before ``h w``; each level subtracts a discount
    D = n1 / (n1 + 2 n2) (n1, n2: the grams seen once and twice) and
    gives what it took to the next lower level, which ends in the uniform
    distribution:

        P(w | h) = max(c(h w) − D, 0) / c(h •)
                   + D · N1+(h •) / c(h •) · P(w | h minus its first char)

    A context never seen passes all its mass down.
    """

    def __init__(self, text: str, alphabet: str, order: int = 5):
        self.alphabet = alphabet
        self.order = check_int("order", order, 2)
        _check_text("text", text, alphabet)
        n = self.order
        # for each length k: raw counts c(h w), used at the top level (the
        # longest context available), and, for k < n, continuation counts
        # N1+(• h w) from the distinct (k+1)-grams, used below the top
        raw = {k: Counter(text[i : i + k] for i in range(len(text) - k + 1))
               for k in range(1, n + 1)}  # fmt: skip
        self._raw = {k: _table(c) for k, c in raw.items()}
        self._cont = {k: _table(Counter(g[1:] for g in raw[k + 1]))
                      for k in range(1, n)}  # fmt: skip

    def prob(self, context: str, char: str) -> float:
        context = context[max(0, len(context) - self.order + 1) :]
        top = len(context) + 1  # the longest gram this context allows
        p = 1.0 / len(self.alphabet)
        for k in range(1, top + 1):
            h = context[len(context) - k + 1 :]
            counts, totals, types, d = (self._raw if k == top else
                                        self._cont)[k]  # fmt: skip
            total = totals[h]
            if total == 0:
                continue  # an unseen context passes its mass down
            c = counts[h + char]
            p = (max(c - d, 0.0) + d * types[h] * p) / total
        return p

    def __repr__(self) -> str:
        return f"KneserNey(order={self.order}, V={len(self.alphabet)})"
