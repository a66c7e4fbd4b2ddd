"""Chapter 7's exercises: realistic wrong answers get the right diagnostic,
strict mode. The checks that every exercise must pass (the reference passes,
the skeleton is "not attempted", hints, solution, labels, random state) are
in test_exercises_contract.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from asctools.exercises import CheckFailed
from asctools.exercises import ch07 as ex

torch.set_num_threads(1)


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed, match="LSTM's count"):
        ex.gru_params.check(5920)


# --- 1. Truncated BPTT: the reference against an independent oracle ---


def test_the_tbptt_reference_equals_per_chunk_autograd():
    """Each chunk's gradient, computed alone from the state that a no-grad
    run over the earlier steps reaches, summed over the chunks."""
    model, x, y, k = ex._tbptt_case(seed=4, T=11, k=4)
    expected = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for s in range(0, 11, k):
        with torch.no_grad():
            state = model(x[:, :s])[1] if s else None
        pred, _ = model(x[:, s : s + k], state)
        params = dict(model.named_parameters())
        loss = F.mse_loss(pred, y[:, s : s + k])
        grads = torch.autograd.grad(loss, list(params.values()))
        for n, g in zip(params, grads, strict=True):
            expected[n] += g
    _, got = ex._grads_of(ex._solution_tbptt_grads, model, x, y, k)
    for n, g in expected.items():
        torch.testing.assert_close(got[n], g, rtol=1e-9, atol=1e-12)


def _loop(model, x, y, k, detach=True, carry=True, stop=0, zero=False,
          retain=False):  # fmt: skip
    state, losses = None, []
    for s in range(0, x.shape[1] - stop, k):
        if zero:
            model.zero_grad()
        if state is not None and detach:
            state = tuple(t.detach() for t in state)
        pred, state = model(x[:, s : s + k], state if carry else None)
        loss = F.mse_loss(pred, y[:, s : s + k])
        loss.backward(retain_graph=retain)
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"detach": False}, "backward() failed in the second chunk"),
        ({"detach": False, "retain": True}, "if the state is not detached"),
        ({"carry": False}, "if the state is not carried"),
        ({"stop": 3}, "returned 2 chunk losses, expected 3"),
        ({"zero": True}, "if the gradients are zeroed in every chunk"),
    ],
)
def test_tbptt_wrong_answers_get_the_right_diagnostic(kwargs, needle, verdict):
    status, message = verdict(ex.tbptt_grads, lambda *a: _loop(*a, **kwargs))
    assert status == "incorrect"
    assert needle in message
    if "backward() failed" not in needle:  # the others say where
        assert "test case 1 of 3" in message


def test_tbptt_one_backward_over_the_summed_losses_is_also_right(verdict):
    def summed(model, x, y, k):
        state, total, losses = None, 0.0, []
        for s in range(0, x.shape[1], k):
            if state is not None:
                state = tuple(t.detach() for t in state)
            pred, state = model(x[:, s : s + k], state)
            loss = F.mse_loss(pred, y[:, s : s + k])
            total, losses = total + loss, losses + [loss.item()]
        total.backward()
        return losses

    assert verdict(ex.tbptt_grads, summed)[0] == "correct"


def test_tbptt_a_function_that_never_calls_backward(verdict):
    def forward_only(model, x, y, k):
        return [0.0] * -(-x.shape[1] // k)

    status, message = verdict(ex.tbptt_grads, forward_only)
    assert status == "incorrect" and "chunk losses" in message


# --- 2. Clipping threshold ---


def test_norm_record_has_rare_spikes_at_its_scale():
    a, b = ex.norm_record(5), ex.norm_record(5, scale=10.0)
    np.testing.assert_allclose(b, 10 * a)
    assert np.median(a) == pytest.approx(1.0, rel=0.15)  # lognormal(0, .5)
    assert np.mean(a > 10 * np.median(a)) <= 0.02


@pytest.mark.parametrize(
    ("choose", "needle"),
    [
        (np.max, "too high"),
        (np.median, "too low"),
        (np.mean, "too low"),
        (lambda n: 1.0, "too"),  # a constant fails at some scale
        (lambda n: "1.0", "should be a number"),
    ],
)
def test_threshold_wrong_answers(choose, needle, verdict):
    status, message = verdict(ex.choose_threshold, choose)
    assert status == "incorrect"
    assert needle in message


def test_threshold_high_percentiles_pass(verdict):
    for q in (90, 97, 99):
        choose = lambda n, q=q: float(np.percentile(n, q))  # noqa: E731
        assert verdict(ex.choose_threshold, choose)[0] == "correct"


# --- 3., 4. Predictions ---


def test_bidirectional_shapes_match_torch(verdict):
    lstm = nn.LSTM(8, 16, num_layers=2, bidirectional=True, batch_first=True)
    out, (h_n, c_n) = lstm(torch.zeros(3, 10, 8))
    answer = (tuple(out.shape), tuple(h_n.shape))
    assert answer == ((3, 10, 32), (4, 3, 16))
    assert verdict(ex.bidirectional_shapes, answer)[0] == "correct"
    assert verdict(ex.bidirectional_shapes, (out.shape, h_n.shape))[0] == (
        "correct"
    )


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (((3, 10, 16), (4, 3, 16)), "concatenates both directions"),
        (((10, 3, 32), (4, 3, 16)), "batch_first=True the output"),
        (((3, 10, 32), (2, 3, 16)), "each layer AND direction"),
        (((3, 10, 32), (3, 4, 16)), "batch_first does not apply to h_n"),
        (((3, 10, 32),), "two shapes"),
        (32, "pair of shapes"),
    ],
)
def test_bidirectional_wrong_predictions(answer, needle, verdict):
    status, message = verdict(ex.bidirectional_shapes, answer)
    assert status == "incorrect"
    assert needle in message


def test_gru_params_match_the_closed_form(verdict):
    D, H = 10, 20
    closed = 3 * H * (D + H) + 6 * H + 3 * H * (H + H) + 6 * H
    assert ex.gru_params.reference_answer() == closed
    assert verdict(ex.gru_params, closed)[0] == "correct"


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (4320, "one bias vector"),
        (3840, "second layer's input size"),
        (1920, "one layer"),
        (5920, "LSTM's count"),
        (9999, "too high"),
    ],
)
def test_gru_params_wrong_predictions(answer, needle, verdict):
    status, message = verdict(ex.gru_params, answer)
    assert status == "incorrect"
    assert needle in message
