"""Property tests of the trainer's target shapes: every documented shape
is accepted and compared with the outputs :func:`match_targets` documents
(the first step's loss equals the criterion on that pairing, computed
here by hand), and every other shape is refused with TargetShapeError
before any step (no history, weights unchanged).

The oracle is the docstring's table, written out below independently of
the code: class indices (B,), (B, 1) → last step; (B, T) → every step;
floats (B, 1, K), (B, K) → last step; (B, T, K) → every step.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given
from hypothesis import strategies as st
from torch import nn

from asctools.models import RecurrentModel
from asctools.rnn_trainer import RNNTrainer, TargetShapeError

torch.set_num_threads(1)


def expected_pairing(out, shape, is_float):
    """(pred, target reshape) the docs promise for this target shape, or
    None if the shape is not documented. ``out`` is (B, T, K)."""
    b, t, k = out.shape
    if not is_float:
        if shape in ((b,), (b, 1)):
            return out[:, -1], (b,)
        if shape == (b, t):
            return out.reshape(b * t, k), (b * t,)
        return None
    if shape in ((b, 1, k), (b, k)):
        return out[:, -1], (b, k)
    if shape == (b, t, k):
        return out.reshape(b * t, k), (b * t, k)
    return None


@st.composite
def problems(draw):
    b, t, k = (draw(st.integers(1, n)) for n in (5, 4, 4))
    is_float = draw(st.booleans())
    documented = (
        [(b,), (b, 1), (b, t)]
        if not is_float
        else [(b, 1, k), (b, k), (b, t, k)]
    )
    any_shape = st.lists(st.integers(0, 6), min_size=0, max_size=4).map(tuple)
    shape = draw(st.one_of(st.sampled_from(documented), any_shape))
    return b, t, k, is_float, shape, draw(st.integers(0, 2**32 - 1))


@given(problems())
def test_documented_shapes_train_and_others_are_refused(problem):
    b, t, k, is_float, shape, seed = problem
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, 2, generator=g)
    if is_float:
        y = torch.randn(shape, generator=g)
    else:
        y = torch.randint(0, k, shape, generator=g)
    criterion = nn.MSELoss() if is_float else nn.CrossEntropyLoss()
    torch.manual_seed(seed)
    model = RecurrentModel(2, 3, k)
    with torch.no_grad():
        out = model(x)[0]  # (B, T, K)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = RNNTrainer(model, device="cpu")
    pairing = expected_pairing(out, shape, is_float)
    event("refused" if pairing is None else "accepted")
    if pairing is None:
        with pytest.raises(TargetShapeError, match="targets"):
            trainer.train(x, y, criterion, max_epochs=1, show_progress=False)
        assert trainer.history["step_loss"] == []
        for p, q in zip(model.parameters(), before, strict=True):
            assert torch.equal(p, q)
        return
    pred, target_shape = pairing
    target = y.reshape(target_shape)
    manual = (
        F.mse_loss(pred, target) if is_float else F.cross_entropy(pred, target)
    )
    trainer.train(x, y, criterion, max_epochs=1, show_progress=False)
    step_loss = trainer.history["step_loss"]
    assert step_loss == [pytest.approx(manual.item(), rel=1e-6, abs=1e-7)]
