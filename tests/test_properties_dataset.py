"""Property tests of the data sets: for generated sizes, lengths and seeds,
every label is right by an independent brute-force checker, shapes and
dtypes are as documented, and a seed gives the same data every time.

The checkers are written differently from the generators: parentheses are
matched by deleting "()" pairs until none is left (no counter, no stack),
and the memory tasks' targets are recomputed element by element in Python.
Settings: the profile of tests/conftest.py ("ci": bounded, derandomized).
"""

from __future__ import annotations

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from asctools.dataset import (
    IGNORE_INDEX,
    PARENTHESES_ALPHABET,
    adding_problem,
    copy_task,
    delayed_bits,
    first_element_task,
    generate_parentheses_dataset,
    parentheses_one_hot,
)

SEEDS = st.integers(0, 2**64 - 1)


def matched_by_deletion(s: str) -> bool:
    """Keep the parentheses; delete "()" until nothing changes; matched
    iff nothing is left."""
    word = "".join(ch for ch in s if ch in "()")
    while "()" in word:
        word = word.replace("()", "")
    return word == ""


def depth(s: str) -> int:
    """The deepest nesting, by scanning every prefix."""
    prefixes = (s[:i] for i in range(len(s) + 1))
    return max(p.count("(") - p.count(")") for p in prefixes)


@given(
    n=st.integers(1, 40),
    lengths=st.tuples(st.integers(4, 30), st.integers(0, 10)),
    seed=SEEDS,
)
def test_parentheses_labels_shapes_and_seed(n, lengths, seed):
    lo, extra = lengths
    hi = lo + extra
    seqs, labels = generate_parentheses_dataset(n, lo, hi, seed=seed)
    assert len(seqs) == len(labels) == n
    assert all(isinstance(s, str) and lo <= len(s) <= hi for s in seqs)
    assert set("".join(seqs)) <= set(PARENTHESES_ALPHABET)
    assert labels == [int(matched_by_deletion(s)) for s in seqs]
    assert sum(labels) == math.ceil(n / 2)
    matched = [s for s, y in zip(seqs, labels, strict=True) if y]
    assert all(depth(s) >= 2 for s in matched)
    assert generate_parentheses_dataset(n, lo, hi, seed=seed) == (
        seqs,
        labels,
    )


@given(
    strings=st.lists(
        st.text(alphabet=PARENTHESES_ALPHABET, min_size=3, max_size=3),
        min_size=1,
        max_size=6,
    )
)
def test_one_hot_decodes_back(strings):
    x = parentheses_one_hot(strings)
    assert x.shape == (len(strings), 3, len(PARENTHESES_ALPHABET))
    assert x.dtype == torch.float32
    assert torch.equal(x.sum(-1), torch.ones(len(strings), 3))
    decoded = [
        "".join(PARENTHESES_ALPHABET[i] for i in row)
        for row in x.argmax(-1).tolist()
    ]
    assert decoded == strings


@given(
    n=st.integers(1, 30),
    t=st.integers(1, 20),
    noise=st.floats(0, 2),
    seed=SEEDS,
)
def test_first_element_labels_and_seed(n, t, noise, seed):
    x, y = first_element_task(n, t, noise_std=noise, seed=seed)
    assert x.shape == (n, t, 1) and x.dtype == torch.float32
    assert y.shape == (n,) and y.dtype == torch.int64
    for b in range(n):
        assert x[b, 0, 0].item() in (-1.0, 1.0)
        assert y[b].item() == (1 if x[b, 0, 0].item() == 1.0 else 0)
    x2, y2 = first_element_task(n, t, noise_std=noise, seed=seed)
    assert torch.equal(x, x2) and torch.equal(y, y2)


@given(n=st.integers(1, 20), t=st.integers(2, 40), seed=SEEDS)
def test_adding_modern_targets_by_brute_force(n, t, seed):
    x, y = adding_problem(n, t, seed=seed)
    assert x.shape == (n, t, 2) and y.shape == (n, 1)
    assert x.dtype == y.dtype == torch.float32
    for b in range(n):
        values, markers = x[b, :, 0].tolist(), x[b, :, 1].tolist()
        marked = [i for i, m in enumerate(markers) if m == 1.0]
        assert len(marked) == 2 and markers.count(0.0) == t - 2
        assert marked[0] < t // 2 <= marked[1]
        assert all(0 <= v <= 1 for v in values)
        expected = values[marked[0]] + values[marked[1]]
        assert math.isclose(y[b, 0].item(), expected, rel_tol=1e-6)
    assert torch.equal(adding_problem(n, t, seed=seed)[0], x)


@given(n=st.integers(1, 20), t=st.integers(20, 60), seed=SEEDS)
def test_adding_1997_targets_by_brute_force(n, t, seed):
    x, y = adding_problem(n, t, variant="hochreiter1997", seed=seed)
    for b in range(n):
        values, markers = x[b, :, 0].tolist(), x[b, :, 1].tolist()
        marked = [i for i, m in enumerate(markers) if m == 1.0]
        assert len(marked) == 2 and marked[0] < t // 2 and marked[1] < t // 2
        assert min(marked) < 10  # X1 among the first ten
        for end in (0, t - 1):
            assert markers[end] == (1.0 if end in marked else -1.0)
        x1, x2 = (values[i] for i in marked)
        expected = 0.5 + (x1 + x2) / 4
        assert math.isclose(y[b, 0].item(), expected, abs_tol=1e-6)


@given(
    n=st.integers(1, 10),
    t=st.integers(1, 15),
    k=st.integers(1, 6),
    c=st.integers(1, 6),
    seed=SEEDS,
)
def test_copy_task_targets_by_brute_force(n, t, k, c, seed):
    x, y = copy_task(n, t, n_symbols=k, copy_len=c, seed=seed)
    length = t + 2 * c
    assert x.shape == (n, length, k + 2) and y.shape == (n, length)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    tokens = x.argmax(-1).tolist()
    for b in range(n):
        row, target = tokens[b], y[b].tolist()
        symbols = row[:c]
        assert all(0 <= s < k for s in symbols)
        assert row[c + t - 1] == k + 1  # the marker
        assert [i for i, s in enumerate(row) if s == k + 1] == [c + t - 1]
        assert target[-c:] == symbols
        assert target[:-c] == [k] * (length - c)  # blanks


@given(
    n=st.integers(1, 10),
    delay=st.integers(1, 8),
    extra=st.integers(1, 10),
    seed=SEEDS,
)
def test_delayed_bits_targets_by_brute_force(n, delay, extra, seed):
    length = delay + extra
    x, y = delayed_bits(n, length, delay, seed=seed)
    assert x.shape == (n, length, 1) and y.shape == (n, length)
    for b in range(n):
        bits = x[b, :, 0].tolist()
        for t in range(length):
            want = IGNORE_INDEX if t < delay else int(bits[t - delay] > 0)
            assert y[b, t].item() == want
