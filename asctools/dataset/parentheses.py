"""Parentheses matching (the Dyck-1 language) with letters as filler.

A string is *matched* (label 1) when every ``)`` closes an earlier ``(``
and every ``(`` is closed. Half of the strings are matched. The other half
are unmatched in two equally frequent ways:

* **count** violations: a matched word with one parenthesis deleted,
  inserted or flipped, so the numbers of ``(`` and ``)`` differ;
* **order** violations: as many ``(`` as ``)``, but some prefix closes
  more than it opened (``)(``, ``a)b(c``, ``())(``).

A classifier that only compares the two counts therefore scores 50 % on
the unmatched half: the model has to track the nesting depth in order.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from asctools._validate import check_int
from asctools.dataset._common import numpy_rng

__all__ = [
    "PARENTHESES_ALPHABET",
    "generate_parentheses_dataset",
    "parentheses_one_hot",
]

PARENTHESES_ALPHABET = "abcdefghijklmnopqrstuvwxyz)("
_INDEX = {ch: i for i, ch in enumerate(PARENTHESES_ALPHABET)}
_LETTERS = np.array(list(PARENTHESES_ALPHABET[:26]))
_PAREN = {1: "(", -1: ")"}  # +1 opens, −1 closes


def generate_parentheses_dataset(
    n_samples=1000, min_length=25, max_length=25, seed=None
):
    """Strings over :data:`PARENTHESES_ALPHABET`, half of them matched.

    Each string has a length drawn uniformly from
    ``[min_length, max_length]`` and holds k pairs' worth of parentheses,
    k uniform in ``[2, max(2, length // 3)]``; the other positions are
    random letters. Matched strings nest at least two deep. Labels:
    ``ceil(n/2)`` ones (matched); the zeros are split between count and
    order violations (see the module docstring). The order is shuffled.

    Args:
        n_samples: number of strings (≥ 1).
        min_length, max_length: lengths (≥ 4); equal by default, so the
            one-hot tensors stack.
        seed: int ≥ 0, or None for NumPy's global generator (seeded by
            :func:`asctools.utils.set_seed`).

    Returns:
        ``(sequences, labels)``: ``list[str]`` and ``list[int]`` (0/1).
    """
    n = check_int("n_samples", n_samples, 1)
    lo = check_int("min_length", min_length, 4)
    hi = check_int("max_length", max_length, 4)
    if hi < lo:
        raise ValueError(f"max_length must be >= min_length, got {hi} < {lo}")
    rng = numpy_rng(seed)
    n_valid = (n + 1) // 2
    n_count = (n - n_valid + 1) // 2
    kinds = ["valid"] * n_valid + ["count"] * n_count
    kinds += ["order"] * (n - len(kinds))
    makers = {
        "valid": _matched,
        "count": _count_violation,
        "order": _order_violation,
    }
    sequences, labels = [], []
    for i in rng.permutation(n):
        length = int(rng.integers(lo, hi + 1))
        k = int(rng.integers(2, max(2, length // 3) + 1))  # pairs
        parens = makers[kinds[i]](k, length, rng)
        sequences.append(_fill(parens, length, rng))
        labels.append(int(kinds[i] == "valid"))
    return sequences, labels


def _dyck_word(k, rng):
    """A uniformly random matched word of k pairs (+1 = '(', −1 = ')').

    Cycle lemma: of the 2k+1 rotations of a sequence with k (+1)s and
    k+1 (−1)s, exactly one keeps every partial sum ≥ 0 until its last step:
    the one starting right after the first minimum of the partial sums.
    """
    steps = rng.permutation(np.array([1] * k + [-1] * (k + 1)))
    start = int(np.argmin(np.cumsum(steps))) + 1
    return np.roll(steps, -start)[:-1]  # drop the final −1


def _matched(k, length, rng):
    """A matched word of k pairs that nests at least two deep."""
    while True:
        word = _dyck_word(k, rng)
        if np.cumsum(word).max() >= 2:
            return word


def _count_violation(k, length, rng):
    """A nested matched word with one parenthesis deleted, inserted or
    flipped: the counts of '(' and ')' differ."""
    word = list(_matched(k, length, rng))
    ops = ["delete", "flip"] + (["insert"] if 2 * k < length else [])
    op = ops[int(rng.integers(len(ops)))]
    j = int(rng.integers(len(word)))
    if op == "delete":
        del word[j]
    elif op == "flip":
        word[j] = -word[j]
    else:
        word.insert(int(rng.integers(len(word) + 1)), int(rng.choice([-1, 1])))
    return np.array(word)


def _order_violation(k, length, rng):
    """k '(' and k ')' in an order where some prefix goes below zero."""
    while True:
        word = rng.permutation(np.array([1] * k + [-1] * k))
        if np.cumsum(word).min() < 0:
            return word


def _fill(parens, length, rng):
    """Spread the parentheses over ``length`` positions (order kept) and
    fill the rest with random letters."""
    chars = _LETTERS[rng.integers(0, 26, size=length)]
    where = np.sort(rng.choice(length, size=len(parens), replace=False))
    chars[where] = [_PAREN[int(p)] for p in parens]
    return "".join(chars)


def parentheses_one_hot(sequences):
    """One-hot encode equal-length strings over :data:`PARENTHESES_ALPHABET`.

    Args:
        sequences: a list (or tuple) of B strings of the same length T.

    Returns:
        float32 tensor ``(B, T, 28)``; ``x[b, t, PARENTHESES_ALPHABET.
        index(ch)] = 1`` for the character ``ch`` at position t. Empty
        strings give ``(B, 0, 28)`` (nothing to encode; the trainer and
        the models refuse an empty sequence with a clear error).
    """
    if isinstance(sequences, str) or not isinstance(sequences, (list, tuple)):
        raise TypeError(
            "sequences must be a list of strings (wrap a single string in "
            f"a list), got {type(sequences).__name__}"
        )
    if not sequences:
        raise ValueError("sequences must not be empty")
    lengths = {len(s) if isinstance(s, str) else -1 for s in sequences}
    if -1 in lengths:
        raise TypeError("sequences must contain only strings")
    if len(lengths) != 1:
        raise ValueError(
            "sequences must all have the same length to stack, got lengths "
            f"{sorted(lengths)}"
        )
    bad = set("".join(sequences)) - set(PARENTHESES_ALPHABET)
    if bad:
        raise ValueError(
            f"sequences contain characters outside the alphabet: {bad}"
        )
    idx = torch.tensor(
        [[_INDEX[ch] for ch in s] for s in sequences], dtype=torch.long
    )  # (B, T) class indices, also when T = 0
    return F.one_hot(idx, len(PARENTHESES_ALPHABET)).float()  # (B, T, 28)
