"""asctools.utils: device choice, seeding, threads, glue, progress bars."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
import torch

from asctools import utils
from asctools.utils import get_device, glue, set_seed, set_threads


def test_get_device_explicit_and_env(monkeypatch):
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setenv("ASCTOOLS_DEVICE", "meta")
    assert get_device() == torch.device("meta")


def test_get_device_auto_order(monkeypatch):
    monkeypatch.delenv("ASCTOOLS_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device() == torch.device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")


@pytest.mark.parametrize(
    ("arg", "error", "words"),
    [(3, TypeError, "device must be"), ("gpu9", ValueError, "'gpu9'")],
)
def test_get_device_rejects_bad_input(arg, error, words):
    with pytest.raises(error, match=words):
        get_device(arg)


def draws():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_set_seed_reproduces_every_generator():
    set_seed(123)
    first = draws()
    set_seed(123)
    assert draws() == first
    set_seed(124)
    assert draws() != first


@pytest.mark.parametrize("seed", [1.5, "1", True, None])
def test_set_seed_rejects_non_int(seed):
    with pytest.raises(TypeError, match="seed must be an int"):
        set_seed(seed)


def test_set_threads(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1 == torch.get_num_threads()
        monkeypatch.setenv("ASCTOOLS_THREADS", "2")
        assert set_threads() == 2
        for bad in (0, -1):
            with pytest.raises(ValueError, match="n must be >= 1"):
                set_threads(bad)
        for bad in (1.5, True):  # a wrong type is a TypeError everywhere
            with pytest.raises(TypeError, match="n must be an int"):
                set_threads(bad)
    finally:
        torch.set_num_threads(before)


def test_glue_without_myst_nb(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails
    assert glue("x", 3.5) is None
    assert capsys.readouterr().out == "x = 3.5 (your run)\n"
    glue("x", 3.5, display=True)  # shown as the value, not as name = value
    assert capsys.readouterr().out.strip() == "3.5"


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (1 / 3, "0.333"),  # floats: 3 significant digits
        (123456.0, "1.23e+05"),
        (np.float32(1.23456e-7), "1.23e-07"),
        (torch.tensor(0.98765), "0.988"),  # a 0-d tensor: its number
        (np.array(2.5e-3), "0.0025"),
        (12, "12"),  # ints, bools and the rest as they print
        (True, "True"),
        ("fused", "fused"),
    ],
)
def test_glue_without_myst_nb_prints_name_and_value(
    monkeypatch, capsys, value, printed
):
    monkeypatch.setitem(sys.modules, "myst_nb", None)
    glue("ch00_value", value, display=False)
    assert capsys.readouterr().out == f"ch00_value = {printed} (your run)\n"


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [(3, TypeError, "name must be a str"), ("", ValueError, "non-empty")],
)
def test_glue_rejects_bad_names(monkeypatch, name, error, words):
    monkeypatch.setitem(sys.modules, "myst_nb", None)
    with pytest.raises(error, match=words):
        glue(name, 1.0)


def test_glue_with_myst_nb_delegates(monkeypatch):
    calls = []
    fake = type(sys)("myst_nb")
    fake.glue = lambda name, value, display: calls.append(
        (name, value, display)
    )
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    glue("ratio", 0.25)
    assert calls == [("ratio", 0.25, False)]


def test_glue_gives_a_phrase_without_quotes(monkeypatch):
    """{glue:text} pastes what myst-nb makes of the text/plain repr: a
    phrase arrives without its quotes, and a number written with a
    thousands separator stays that text (not a tuple)."""
    from IPython.core.formatters import PlainTextFormatter
    from myst_nb.core.variables import format_plain_text

    calls = []
    fake = type(sys)("myst_nb")
    fake.glue = lambda name, value, display: calls.append(value)
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    for phrase in ["5 of 5 seeds", "1,600", "it's 3", "0"]:
        glue("verdict", phrase)
        plain = PlainTextFormatter()(calls[-1])
        assert format_plain_text(plain, "") == phrase


def test_progress_bar_is_text_without_ipywidgets(monkeypatch):
    from tqdm.std import tqdm as std_tqdm

    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with utils.progress_bar(total=2, disable=True) as bar:
        assert type(bar) is std_tqdm


def test_importing_asctools_pins_the_cpu_kernels_on_x86():
    """Stored runs reproduce across AVX2 and AVX-512 machines only with
    one kernel family: the package sets it before torch's first op."""
    import os
    import platform
    import subprocess

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the pin is for x86 CPUs")
    code = (
        "import os, torch, asctools\n"
        "print(os.environ['ONEDNN_MAX_CPU_ISA'], "
        "torch.backends.cpu.get_cpu_capability())"
    )
    pins = ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")
    env = {k: v for k, v in os.environ.items() if k not in pins}
    out = subprocess.run([sys.executable, "-c", code], env=env, text=True,
                         capture_output=True, check=True)  # fmt: skip
    assert out.stdout.split() == ["AVX2", "AVX2"]
