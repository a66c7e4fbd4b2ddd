"""Chapter 2's exercises: realistic wrong answers get the right diagnostic,
strict mode. The checks that every exercise must pass (the reference passes,
the skeleton is "not attempted", hints, solution, labels, random state) are
in test_exercises_contract.py."""

from __future__ import annotations

import pytest
import torch

from asctools.exercises import CheckFailed, checks
from asctools.exercises import ch02 as ex

torch.set_num_threads(1)
F64 = torch.float64


def test_strict_mode_raises_on_incorrect_and_error(monkeypatch):
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed, match="one factor too many"):
        ex.rnn_jacobian.check(jacobian_one_too_many)
    with pytest.raises(CheckFailed, match="ZeroDivisionError"):
        ex.clip_by_global_norm.check(lambda grads, max_norm: 1 / 0)
    assert ex.rnn_jacobian.check(ex.rnn_jacobian.reference_answer()).passed


# --- 1. The Jacobian product ---


def _net(seed=0, T=6, D=2, H=3):
    gen = torch.Generator().manual_seed(seed)
    x, W_xh, W_hh, b = (
        torch.randn(*s, generator=gen, dtype=F64)
        for s in ((T, D), (H, D), (H, H), (H,))
    )
    return x, W_xh, 0.8 * W_hh, 0.5 * b


def test_rnn_forward_equals_torch_rnn():
    x, W_xh, W_hh, b = _net()
    h = ex.rnn_forward(x, W_xh, W_hh, b)
    assert h.shape == (7, 3) and torch.equal(h[0], torch.zeros(3, dtype=F64))
    rnn = torch.nn.RNN(2, 3, dtype=F64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(W_xh)
        rnn.weight_hh_l0.copy_(W_hh)
        rnn.bias_ih_l0.copy_(b)
        rnn.bias_hh_l0.zero_()
    out, _ = rnn(x[:, None])  # (T, 1, H), time first
    assert torch.allclose(h[1:], out[:, 0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("k", "t"), [(1, 4), (0, 6), (2, 2)])
def test_the_jacobian_solution_equals_finite_differences(k, t):
    x, W_xh, W_hh, b = _net(seed=1)
    h_k = ex.rnn_forward(x, W_xh, W_hh, b)[k]

    def h_t(h):  # h_k -> h_t, from the network's equations
        for j in range(k + 1, t + 1):
            h = torch.tanh(W_xh @ x[j - 1] + W_hh @ h + b)
        return h

    rows = [
        checks.central_difference(lambda h, i=i: h_t(h)[i], h_k)
        for i in range(3)
    ]
    J = ex.rnn_jacobian.reference_answer()(x, W_xh, W_hh, b, k, t)
    assert torch.allclose(J, torch.stack(rows), rtol=1e-6, atol=1e-9)


def _factors(x, W_xh, W_hh, b):
    h = ex.rnn_forward(x, W_xh, W_hh, b)
    return h, [torch.diag(1 - h[j] ** 2) @ W_hh for j in range(len(h))]


def jacobian_reversed(x, W_xh, W_hh, b, k, t):
    _, F = _factors(x, W_xh, W_hh, b)
    J = torch.eye(W_hh.shape[0], dtype=x.dtype)
    for j in range(k + 1, t + 1):
        J = J @ F[j]  # oldest factor ends up on the left
    return J


def jacobian_one_too_many(x, W_xh, W_hh, b, k, t):
    _, F = _factors(x, W_xh, W_hh, b)
    J = torch.eye(W_hh.shape[0], dtype=x.dtype)
    for j in range(k, t + 1):  # t - k + 1 factors
        J = F[j] @ J
    return J


def jacobian_one_too_few(x, W_xh, W_hh, b, k, t):
    _, F = _factors(x, W_xh, W_hh, b)
    J = torch.eye(W_hh.shape[0], dtype=x.dtype)
    for j in range(k + 1, t):  # t - k - 1 factors
        J = F[j] @ J
    return J


def jacobian_no_derivative(x, W_xh, W_hh, b, k, t):
    return torch.linalg.matrix_power(W_hh, t - k)


def jacobian_row_vector_habit(x, W_xh, W_hh, b, k, t):
    h = ex.rnn_forward(x, W_xh, W_hh, b)
    J = torch.eye(W_hh.shape[0], dtype=x.dtype)
    for j in range(k + 1, t + 1):
        J = torch.diag(1 - h[j] ** 2) @ W_hh.T @ J  # as in h @ W_hh.T
    return J


def jacobian_previous_derivative(x, W_xh, W_hh, b, k, t):
    h = ex.rnn_forward(x, W_xh, W_hh, b)
    J = torch.eye(W_hh.shape[0], dtype=x.dtype)
    for j in range(k + 1, t + 1):
        J = torch.diag(1 - h[j - 1] ** 2) @ W_hh @ J
    return J


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (jacobian_reversed, "if the factors are multiplied oldest-on-the"),
        (jacobian_one_too_many, "if there is one factor too many"),
        (jacobian_one_too_few, "if there is one factor too few"),
        (jacobian_no_derivative, "if diag(φ′) is left out"),
        (jacobian_row_vector_habit, "if W_hh is transposed"),
        (jacobian_previous_derivative, "if φ′ is taken at step j - 1"),
        (
            lambda x, W_xh, W_hh, b, k, t: torch.eye(4),
            "has dtype torch.float32, expected torch.float64",
        ),
        (lambda x, W_xh, W_hh, b, k, t: W_hh[:2], "has shape (2, 4)"),
    ],
)
def test_jacobian_wrong_answers_get_the_right_diagnostic(
    answer, needle, verdict
):
    status, message = verdict(ex.rnn_jacobian, answer)
    assert status == "incorrect"
    assert needle in message


# --- 2. Predict: scale W_hh ---


def test_scale_w_hh_choices(verdict):
    assert verdict(ex.scale_w_hh, "(c)")[0] == "correct"
    status, message = verdict(ex.scale_w_hh, "b")
    assert status == "incorrect" and "saturate" in message
    status, message = verdict(ex.scale_w_hh, "a")
    assert status == "incorrect" and "scale^49" in message
    status, message = verdict(ex.scale_w_hh, "e")
    assert status == "incorrect" and "not one of" in message


# --- 3. Clipping by the global norm ---


def _grads(seed, scale):
    gen = torch.Generator().manual_seed(seed)
    return [
        scale * torch.randn(*s, generator=gen, dtype=F64)
        for s in ((5, 2), (4,), (3, 3))
    ]


@pytest.mark.parametrize(("scale", "max_norm"), [(3.0, 1.0), (0.05, 1.0)])
def test_clip_solution_equals_torch_and_keeps_the_direction(scale, max_norm):
    grads = _grads(0, scale)
    clipped, total = ex.clip_by_global_norm.reference_answer()(
        [g.clone() for g in grads], max_norm
    )
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    expected = torch.nn.utils.clip_grad_norm_(params, max_norm)
    assert torch.allclose(total, expected.double(), rtol=1e-12)
    for c, p in zip(clipped, params, strict=True):
        assert torch.allclose(c, p.grad, rtol=1e-5)
    flat, orig = (
        torch.cat([c.flatten() for c in clipped]),
        torch.cat([g.flatten() for g in grads]),
    )
    cos = flat @ orig / (flat.norm() * orig.norm())
    assert abs(float(cos) - 1) < 1e-12  # parallel
    assert float(flat.norm()) == pytest.approx(min(max_norm, float(total)))


def _global_norm(grads):
    return torch.sqrt(sum((g**2).sum() for g in grads))


def clip_per_parameter(grads, max_norm):
    total = _global_norm(grads)
    out = []
    for g in grads:
        n = g.norm()
        out.append(g * max_norm / n if n > max_norm else g)
    return out, total


def clip_even_below(grads, max_norm):
    total = _global_norm(grads)
    return [g * max_norm / total for g in grads], total


def clip_post_norm(grads, max_norm):
    total = _global_norm(grads)
    clipped = [g * min(1.0, max_norm / float(total)) for g in grads]
    return clipped, _global_norm(clipped)


def clip_no_norm(grads, max_norm):
    total = _global_norm(grads)
    return [g * min(1.0, max_norm / float(total)) for g in grads]


def clip_sum_of_norms(grads, max_norm):
    total = sum(g.norm() for g in grads)
    return [g * min(1.0, max_norm / float(total)) for g in grads], total


def clip_in_place(grads, max_norm):  # in place, as clip_grad_norm_: fine
    total = _global_norm(grads)
    for g in grads:
        g.mul_(min(1.0, max_norm / float(total)))
    return grads, float(total)


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (clip_per_parameter, "if each tensor is clipped to the threshold"),
        (clip_even_below, "if the gradient is rescaled to length τ even"),
        (clip_post_norm, "is the norm *after* clipping"),
        (clip_no_norm, "returned only the clipped gradients"),
        (clip_sum_of_norms, "if the global norm is the sum of the tensors'"),
        (
            lambda grads, m: ([g.clamp(-m, m) for g in grads], 1.0),
            "if each entry is clamped to [-τ, τ]",
        ),
        (lambda grads, m: (grads, "1.0"), "should be a number"),
        (lambda grads, m: (grads[:2], 1.0), "a list of 3 tensors"),
    ],
)
def test_clip_wrong_answers_get_the_right_diagnostic(answer, needle, verdict):
    status, message = verdict(ex.clip_by_global_norm, answer)
    assert status == "incorrect"
    assert needle in message, message


def test_clip_in_place_with_a_float_norm_is_accepted(verdict):
    assert verdict(ex.clip_by_global_norm, clip_in_place)[0] == "correct"


# --- 4. Random orthogonal matrices ---


def test_the_orthogonal_solution_is_orthogonal_and_seeded():
    Q = ex.random_orthogonal.reference_answer()(6, 3)
    assert torch.allclose(Q.T @ Q, torch.eye(6, dtype=F64), atol=1e-12)
    singular = torch.linalg.svdvals(Q)
    assert torch.allclose(singular, torch.ones(6, dtype=F64), atol=1e-12)
    assert torch.equal(Q, ex.random_orthogonal.reference_answer()(6, 3))


def _gaussian(n, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, n, generator=gen, dtype=F64)


def orthogonal_r(n, seed):
    return torch.linalg.qr(_gaussian(n, seed))[1]


def orthogonal_scaled(n, seed):
    return 2.0 * torch.linalg.qr(_gaussian(n, seed))[0]


def orthogonal_global_rng(n, seed):
    return torch.linalg.qr(torch.randn(n, n, dtype=F64))[0]


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (_gaussian, "before the QR decomposition"),
        (orthogonal_r, "that is R of the QR, not Q"),
        (orthogonal_scaled, "not of length 1"),
        (lambda n, seed: torch.eye(n, dtype=F64), "not random"),
        (orthogonal_global_rng, "gave different matrices"),
        (
            lambda n, seed: torch.linalg.qr(_gaussian(n, seed).float())[0],
            "should be a float64",
        ),
        (lambda n, seed: torch.linalg.qr(_gaussian(n, 0))[0], "same matrix"),
    ],
)
def test_orthogonal_wrong_answers_get_the_right_diagnostic(
    answer, needle, verdict
):
    status, message = verdict(ex.random_orthogonal, answer)
    assert status == "incorrect"
    assert needle in message, message


# --- What the book's solutions show and run ---


def test_the_scale_reference_prints_r_and_the_check_does_not(capsys):
    assert ex.scale_w_hh.solution_fn() == "c"
    table = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in table] == [
        "W_hh x 1.0", "W_hh x 0.5", "W_hh x 2.0",
    ]  # fmt: skip
    ex.scale_w_hh.check("c")  # reruns the experiment, quietly
    assert "r =" not in capsys.readouterr().out


def test_the_orthogonal_demo_measures_what_the_chapter_says(capsys):
    ratios = ex.random_orthogonal.demo()
    assert list(ratios) == [
        "default", "orthogonal", "orthogonal x 0.9", "orthogonal x 1.1",
    ]  # fmt: skip
    assert len(capsys.readouterr().out.splitlines()) == 4
    default, ortho = ratios["default"], ratios["orthogonal"]
    assert all(o > 1e3 * d for o, d in zip(ortho, default, strict=True))
    assert ratios["orthogonal x 0.9"][1] < ortho[1]
    r_50, r_1 = ratios["orthogonal x 1.1"]
    assert r_1 < r_50 < 1  # still shrinks with the distance
    code = ex.random_orthogonal.solution().code
    assert "Q = random_orthogonal(64, seed=0)" in code


def test_the_jacobian_solution_shows_rnn_forward():
    code = ex.rnn_jacobian.solution().code
    assert code.index("def rnn_jacobian(") < code.index("def rnn_forward(")
