"""How the trainer and the instruments call a model: one protocol.

Every model of :mod:`asctools.models`, every ``torch.nn`` / ``asctools.nn``
recurrent layer, and a model of the original course's contract is called
as ``model(x, state)`` and returns ``(output, state)`` (or the output
alone). Models of that contract, such as an older lesson's own
``nn.Module``, need their state: they define ``initHidden(batch_size)``
and their ``forward(input, hidden)`` has no default for ``hidden``. This
module is the one place that knows it.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["initial_state", "output_of", "run"]


def initial_state(model: nn.Module, batch_size: int):
    """``model.initHidden(batch_size)`` for a model of the course's
    contract; None (the model starts from zeros) for any other."""
    init = getattr(model, "initHidden", None)
    return init(batch_size) if callable(init) else None


def output_of(result) -> Tensor:
    """The output of ``model(...)``: the result, or its first element if
    the model returned ``(output, state)``."""
    out = result[0] if isinstance(result, (tuple, list)) else result
    if not isinstance(out, Tensor):
        raise TypeError(
            "the model must return a Tensor or a tuple (output, state), got "
            f"{type(out).__name__}"
        )
    return out


def run(model: nn.Module, x: Tensor, state=None) -> Tensor:
    """The model's output on ``x`` from ``state`` (None: its own start).

    A model that needs no state is called as ``model(x)``, so any module
    with a one-argument ``forward`` can be trained too.
    """
    if state is None:
        state = initial_state(model, x.shape[0])
    return output_of(model(x) if state is None else model(x, state))
