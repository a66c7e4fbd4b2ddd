"""Tests of asctools.dataset against independent checks and closed forms."""

import math
import re

import pytest
import torch

from asctools.dataset import (
    PARENTHESES_ALPHABET,
    adding_problem,
    copy_task,
    first_element_task,
    generate_parentheses_dataset,
    parentheses_one_hot,
    trivial_baseline,
)
from asctools.utils import set_seed

torch.set_num_threads(1)


def is_matched(s):
    """Independent checker: delete letters, then erase '()' until stuck."""
    s = re.sub("[a-z]", "", s)
    while "()" in s:
        s = s.replace("()", "")
    return s == ""


# ---- parentheses -----------------------------------------------------------


def test_parentheses_contract_defaults():
    seqs, labels = generate_parentheses_dataset(n_samples=300, seed=0)
    assert isinstance(seqs, list) and isinstance(labels, list)
    assert all(type(s) is str and len(s) == 25 for s in seqs)
    assert all(type(y) is int for y in labels)
    assert set("".join(seqs)) <= set(PARENTHESES_ALPHABET)
    assert len(PARENTHESES_ALPHABET) == 28


def test_parentheses_labels_agree_with_independent_checker():
    seqs, labels = generate_parentheses_dataset(1000, 10, 40, seed=1)
    assert [int(is_matched(s)) for s in seqs] == labels
    assert sum(labels) == 500  # balanced classes
    assert {len(s) for s in seqs} <= set(range(10, 41))
    assert len({len(s) for s in seqs}) > 20  # lengths really vary


def test_parentheses_matched_strings_nest():
    seqs, labels = generate_parentheses_dataset(400, seed=2)
    for s, y in zip(seqs, labels, strict=True):
        if y == 1:  # a matched string reaches depth 2 iff it has '(('
            assert "((" in re.sub("[a-z]", "", s)


def test_parentheses_counting_alone_is_not_enough():
    seqs, labels = generate_parentheses_dataset(1000, seed=3)
    invalid = [s for s, y in zip(seqs, labels, strict=True) if y == 0]
    equal = [s.count("(") == s.count(")") for s in invalid]
    # half the unmatched strings have equal counts (order violations) ...
    assert sum(equal) == len(invalid) // 2
    # ... so "matched iff the counts agree" is right on only half of them
    count_only_acc = 1 - sum(equal) / len(invalid)
    assert count_only_acc < 0.6
    assert any(re.sub("[a-z]", "", s).startswith(")") for s in invalid)


def test_parentheses_seeding():
    a = generate_parentheses_dataset(50, seed=7)
    assert a == generate_parentheses_dataset(50, seed=7)
    assert a != generate_parentheses_dataset(50, seed=8)
    set_seed(5)
    b = generate_parentheses_dataset(50)
    set_seed(5)
    assert b == generate_parentheses_dataset(50)


@pytest.mark.parametrize(
    "kw, err",
    [
        ({"n_samples": 0}, ValueError),
        ({"n_samples": 2.0}, TypeError),
        ({"min_length": 3, "max_length": 25}, ValueError),
        ({"min_length": 30, "max_length": 25}, ValueError),
        ({"seed": -1}, ValueError),
        ({"seed": True}, TypeError),
    ],
)
def test_parentheses_validation(kw, err):
    with pytest.raises(err, match=next(iter(kw))):
        generate_parentheses_dataset(**kw)


def test_one_hot_round_trip():
    seqs, _ = generate_parentheses_dataset(20, seed=0)
    x = parentheses_one_hot(seqs)
    assert x.shape == (20, 25, 28) and x.dtype == torch.float32
    assert torch.equal(x.sum(-1), torch.ones(20, 25))
    back = ["".join(PARENTHESES_ALPHABET[i] for i in r) for r in x.argmax(-1)]
    assert back == seqs


@pytest.mark.parametrize(
    "bad, err",
    [
        ("a(b)", TypeError),
        (["ab", "abc"], ValueError),
        (["a[b"], ValueError),
        ([], ValueError),
        (["ab", 3], TypeError),
    ],
)
def test_one_hot_validation(bad, err):
    with pytest.raises(err, match="sequences"):
        parentheses_one_hot(bad)


# ---- first element ---------------------------------------------------------


def test_first_element_task():
    x, y = first_element_task(20000, 30, noise_std=0.2, seed=0)
    assert x.shape == (20000, 30, 1) and x.dtype == torch.float32
    assert y.shape == (20000,) and y.dtype == torch.int64
    assert torch.equal(x[:, 0, 0], 2.0 * y - 1)  # x1 = +1 iff y = 1
    assert abs(y.float().mean() - 0.5) < 0.02
    assert abs(x[:, 1:].std() - 0.2) < 0.002
    assert torch.equal(x, first_element_task(20000, 30, seed=0)[0])
    assert trivial_baseline("first_element") == 0.5


@pytest.mark.parametrize(
    "kw", [{"seq_len": 0}, {"noise_std": -0.1}, {"n_samples": -3}]
)
def test_first_element_validation(kw):
    args = {"n_samples": 4, "seq_len": 5, **kw}
    with pytest.raises(ValueError, match=next(iter(kw))):
        first_element_task(**args)


# ---- adding problem --------------------------------------------------------


def test_adding_modern_markers_and_target():
    t = 12
    x, y = adding_problem(5000, t, seed=0)
    assert x.shape == (5000, t, 2) and y.shape == (5000, 1)
    assert x.dtype == y.dtype == torch.float32
    values, marks = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values <= 1)).all()
    assert torch.equal(marks[:, : t // 2].sum(1), torch.ones(5000))
    assert torch.equal(marks[:, t // 2 :].sum(1), torch.ones(5000))
    assert set(marks.unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(y[:, 0], (values * marks).sum(1))
    # every position can be marked
    assert (marks.sum(0) > 0).all()


def test_adding_modern_baseline_is_target_variance():
    _, y = adding_problem(100_000, 10, seed=1)
    assert abs(y.var().item() - trivial_baseline("adding")) < 0.003
    assert trivial_baseline("adding") == pytest.approx(1 / 6)


def test_adding_hochreiter1997():
    t = 40
    x, y = adding_problem(100_000, t, variant="hochreiter1997", seed=2)
    values, marks = x[..., 0], x[..., 1]
    assert ((values >= -1) & (values <= 1)).all()
    plus = marks == 1
    assert torch.equal(plus.sum(1), torch.full((100_000,), 2))
    assert not plus[:, t // 2 :].any()  # X2 among the first T/2 positions
    assert plus[:, :10].any(1).all()  # X1 among the first ten
    assert plus.any(0)[: t // 2].all()  # all of 0..T/2−1 occur
    # first and last pair carry −1 unless marked; no other −1
    assert (marks[:, -1] == -1).all()
    assert torch.equal(marks[:, 0] == -1, ~plus[:, 0])
    assert not (marks[:, 1:-1] == -1).any()
    torch.testing.assert_close(y[:, 0], 0.5 + (values * plus).sum(1) / 4)
    # closed form 19/480 (X1 = 0 when at position 0), not 1/24
    base = trivial_baseline("adding_hochreiter1997")
    assert base == pytest.approx(19 / 480)
    assert abs(y.var().item() - base) < 0.0008


@pytest.mark.parametrize(
    "kw, err",
    [
        ({"variant": "classic"}, ValueError),
        ({"seq_len": 1}, ValueError),
        ({"seq_len": 19, "variant": "hochreiter1997"}, ValueError),
        ({"seq_len": 10.0}, TypeError),
    ],
)
def test_adding_validation(kw, err):
    args = {"n_samples": 4, "seq_len": 30, **kw}
    name = "variant" if "variant" in kw and len(kw) == 1 else "seq_len"
    with pytest.raises(err, match=name):
        adding_problem(**args)


# ---- copy task -------------------------------------------------------------


def test_copy_task_layout():
    n, t, k, c = 200, 7, 8, 10
    x, y = copy_task(n, t, seed=0)
    assert x.shape == (n, t + 2 * c, k + 2) and x.dtype == torch.float32
    assert y.shape == (n, t + 2 * c) and y.dtype == torch.int64
    tokens = x.argmax(-1)
    assert torch.equal(x.sum(-1), torch.ones(n, t + 2 * c))
    assert (tokens[:, :c] < k).all()
    assert torch.equal(y[:, -c:], tokens[:, :c])  # recall the symbols
    assert (y[:, :-c] == k).all()  # blanks elsewhere
    assert (tokens[:, c + t - 1] == k + 1).all()  # the marker
    rest = torch.cat((tokens[:, c : c + t - 1], tokens[:, c + t :]), 1)
    assert (rest == k).all()


def test_copy_baseline_is_best_memoryless_cross_entropy():
    n, t = 20000, 30
    _, y = copy_task(n, t, n_symbols=8, copy_len=10, seed=1)
    # best predictor without memory: the class frequencies at each step
    counts = torch.nn.functional.one_hot(y, 10).sum(0).float()  # (T', 10)
    p = counts / n
    ce = -torch.log(p.gather(1, y.T)).mean()
    assert ce.item() == pytest.approx(trivial_baseline("copy", t), rel=2e-3)
    assert trivial_baseline("copy", 100) == pytest.approx(
        10 * math.log(8) / 120
    )
    assert trivial_baseline("copy", 5, n_symbols=4, copy_len=3) == (
        pytest.approx(3 * math.log(4) / 11)
    )


def test_trivial_baseline_validation():
    with pytest.raises(ValueError, match="task"):
        trivial_baseline("parity")
    with pytest.raises(ValueError, match="seq_len"):
        trivial_baseline("copy")
    with pytest.raises(TypeError, match="copy_len"):
        trivial_baseline("adding", copy_len=3)
    with pytest.raises(TypeError):
        trivial_baseline("copy", 10, n_classes=3)
    with pytest.raises(ValueError, match="n_symbols"):
        copy_task(3, 5, n_symbols=0)
