"""Clear errors instead of raw ones, outside the trainer: empty sequences
in the step-wise models, seeds, dtypes, values and devices.

Each message names the argument, says what was expected and what came, in
the package's style (``seq_len must be an int >= 2, got 1``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asctools.dataset import (
    PARENTHESES_ALPHABET,
    adding_problem,
    copy_task,
    delayed_bits,
    first_element_task,
    generate_parentheses_dataset,
    parentheses_one_hot,
)
from asctools.handmade.gradcheck import gradient_check, numerical_gradient
from asctools.rnn import LSTM, RNN
from asctools.utils import get_device, set_seed

# --- 5. empty sequences in the step-wise models --------------------------


@pytest.mark.parametrize("cls", [RNN, LSTM])
@pytest.mark.parametrize("shape", [(2, 0, 3), (0, 4, 3)])
def test_stepwise_models_refuse_empty_sequences(cls, shape):
    model = cls(3, 4, 2)
    with pytest.raises(ValueError, match=r"x must not be empty.*got shape"):
        model(torch.zeros(shape))


# --- 6. seeds ------------------------------------------------------------


def test_set_seed_accepts_numpy_integers():
    """Seeds from np.arange are np.int64: the same draws as the int."""
    draws = []
    for seed in (5, np.int64(5), np.arange(10)[5]):
        set_seed(seed)
        draws.append((np.random.rand(), torch.rand(1).item()))
    assert draws[0] == draws[1] == draws[2]


@pytest.mark.parametrize(
    "call",
    [
        lambda s: set_seed(s),
        lambda s: first_element_task(4, 3, seed=s),
        lambda s: adding_problem(4, 3, seed=s),
        lambda s: copy_task(4, 3, seed=s),
        lambda s: delayed_bits(4, 3, 1, seed=s),
        lambda s: generate_parentheses_dataset(4, seed=s),
    ],
)
def test_seeds_are_bounded_to_what_torch_accepts(call):
    """2**64 − 1 is the largest seed torch takes; 2**64 is refused with a
    message instead of torch's "Overflow when unpacking long long"."""
    call(2**64 - 1)  # the largest one works
    with pytest.raises(ValueError, match=r"seed must be <= 2\*\*64 - 1"):
        call(2**64)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        call(-1)


# --- 7. dtypes and values ------------------------------------------------


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_stepwise_models_name_a_dtype_mismatch(cls):
    model = cls(3, 4, 2)
    x = torch.zeros(2, 5, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"x has dtype torch.float64.*float32"):
        model(x)
    with pytest.raises(TypeError, match="float64"):
        model.step(x[:, 0], model.initHidden(2))
    # and the same model in float64 runs, like torch.nn after .double()
    out, _ = model.double()(x)
    assert out.dtype == torch.float64


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_stepwise_models_name_a_hidden_dtype_mismatch(cls):
    model = cls(3, 4, 2)
    hidden = model.initHidden(2)
    hidden = (
        hidden.double()
        if cls is RNN
        else (hidden[0].double(), hidden[1].double())
    )
    with pytest.raises(TypeError, match="hidden has dtype torch.float64"):
        model(torch.zeros(2, 5, 3), hidden)


def test_one_hot_of_empty_strings_is_empty():
    """'' has no characters: (B, 0, 28), what one-hot encoding of nothing
    is (an independent construction: zeros of that shape)."""
    x = parentheses_one_hot(["", ""])
    assert x.shape == (2, 0, len(PARENTHESES_ALPHABET))
    assert x.dtype == torch.float32
    assert torch.equal(x, torch.zeros(2, 0, len(PARENTHESES_ALPHABET)))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_numerical_gradient_refuses_non_float_arrays(dtype):
    """An integer entry cannot move by ε: refused, not silently wrong."""
    param = np.arange(6).astype(dtype)
    with pytest.raises(TypeError, match="param must be a floating-point"):
        numerical_gradient(lambda: float(param.sum()), param)
    with pytest.raises(TypeError, match="float64"):
        gradient_check(lambda: 0.0, {"w": param}, {"w": np.zeros(6)})


def test_numerical_gradient_is_right_on_float64():
    """The accepted case against the closed form d/dθ Σ θ³ = 3θ²."""
    param = np.linspace(-1, 1, 5)
    grad = numerical_gradient(lambda: float((param**3).sum()), param)
    np.testing.assert_allclose(grad, 3 * param**2, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(
    "noise_std, err",
    [(True, TypeError), ("0.2", TypeError), (-0.1, ValueError),
     (float("inf"), ValueError), (float("nan"), ValueError)],
)  # fmt: skip
def test_first_element_noise_std_must_be_a_real(noise_std, err):
    with pytest.raises(err, match="noise_std"):
        first_element_task(4, 3, noise_std=noise_std)


def test_first_element_accepts_numpy_reals():
    x, _ = first_element_task(4, 3, noise_std=np.float32(0.5), seed=0)
    ref, _ = first_element_task(4, 3, noise_std=0.5, seed=0)
    assert torch.equal(x, ref)


# --- 8. devices ----------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_cuda_says_so(name, monkeypatch):
    monkeypatch.delenv("ASCTOOLS_DEVICE", raising=False)
    with pytest.raises(ValueError, match=r"CUDA is not available.*'cpu'"):
        get_device(name)
    monkeypatch.setenv("ASCTOOLS_DEVICE", "cuda")
    with pytest.raises(ValueError, match="ASCTOOLS_DEVICE"):
        get_device()


def test_a_cuda_index_beyond_the_devices_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert get_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match=r"cuda:3.*1 CUDA device"):
        get_device("cuda:3")


def test_mps_without_mps_says_so(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="MPS is not available"):
        get_device("mps")


def test_trainer_reports_the_missing_device(monkeypatch):
    from asctools.models import RecurrentModel
    from asctools.rnn_trainer import RNNTrainer

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        RNNTrainer(RecurrentModel(1, 2, 2), device="cuda")
