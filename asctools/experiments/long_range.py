"""Long-range experiments: train RNN, LSTM and GRU on the memory tasks.

:func:`run_task` trains one ``RecurrentModel`` (torch's fused layers) on
fresh batches of a task (:mod:`asctools.experiments.tasks`) and tests it
every ``eval_every`` steps on sequences it never saw; it stops once the
test metric is below the task's threshold, or when ``max_sequences``
training sequences are used up. :func:`length_sweep` repeats that over
models, lengths and seeds. Both return plain data (:class:`TaskResult`):
the test metric against the number of training sequences seen, the
sequences needed to reach the threshold, the trivial baseline. Seeds
follow :mod:`asctools.experiments.driver`'s rule.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from asctools._validate import check_choice, check_int, check_seed
from asctools.experiments.driver import test_seed, train_fresh
from asctools.experiments.initialisation import init_kwargs
from asctools.experiments.tasks import TASKS, task_spec
from asctools.models import KINDS, RecurrentModel
from asctools.utils import set_seed

__all__ = [
    "TASKS",
    "KINDS",
    "BUILD_SWEEP",
    "FULL_SWEEP",
    "TaskResult",
    "run_task",
    "length_sweep",
]


@dataclass
class TaskResult:
    """One training run: plain numbers and lists, ready to plot or tabulate.

    ``sequences[i]`` training sequences had been seen when the test metric
    was ``test_metric[i]``; ``train_loss[i]`` is the mean training loss
    since the evaluation before. ``solved_at`` is the first entry of
    ``sequences`` whose test metric was below ``threshold`` (None if
    never); ``final`` the last test metric.
    """

    task: str
    kind: str
    seq_len: int
    seed: int
    metric: str
    baseline: float
    threshold: float
    sequences: list[int] = field(default_factory=list)
    test_metric: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    solved_at: int | None = None
    seconds: float = 0.0
    init: str = "default"
    budget: int = 0
    model: object = field(default=None, repr=False, compare=False)

    @property
    def final(self) -> float:
        """The last test metric (NaN before any evaluation)."""
        return self.test_metric[-1] if self.test_metric else math.nan

    def record(self) -> dict:
        """The run as plain JSON data (the results store's format)."""
        keys = ("task", "kind", "init", "seq_len", "seed", "budget",
                "solved_at", "sequences", "test_metric", "train_loss",
                "metric", "baseline", "threshold", "seconds")  # fmt: skip
        return {k: getattr(self, k) for k in keys}


def run_task(
    task,
    kind,
    seq_len,
    *,
    max_sequences=20_000,
    hidden_size=32,
    batch_size=64,
    learning_rate=1e-2,
    eval_every=25,
    n_test=500,
    stop_when_solved=True,
    init="default",
    forget_bias=None,
    t_max=None,
    seed=0,
    device=None,
    keep_model=False,
) -> TaskResult:
    """Train a ``RecurrentModel(kind=kind)`` on fresh batches of ``task``.

    Adam (``learning_rate``), batches of ``batch_size`` fresh sequences,
    gradient norm clipped at 1, hidden size ``hidden_size``. Every
    ``eval_every`` steps the model is tested on ``n_test`` fixed sequences
    (seed ``TEST_SEED + seed``). The model's initial weights come from
    ``set_seed(seed)``.

    Args:
        task: one of :data:`TASKS`. kind: one of :data:`KINDS`.
        seq_len: the task's T (the distance to remember over).
        max_sequences: the training budget in sequences (≥ batch_size).
        stop_when_solved: stop at the first test below the threshold.
        init: a key of :data:`asctools.experiments.initialisation.INITS`
            (chrono prepares for lags up to ``t_max``).
        forget_bias: LSTM only: the forget gate's starting bias on top of
            ``init="default"`` (None = torch's default init, b_f drawn
            from U(−2/√H, 2/√H)).
        t_max: the longest lag an initialisation prepares for (default
            ``seq_len``; the copy task's is ``seq_len + 20``).
        device: where to train (None = :func:`asctools.get_device`).
        keep_model: keep the trained model in ``result.model``.

    Returns:
        A :class:`TaskResult`.
    """
    spec = _checked(task, kind, seq_len, max_sequences, batch_size,
                    eval_every, n_test, seed)  # fmt: skip
    gates = init_kwargs(init, kind, seq_len if t_max is None else t_max)
    if forget_bias is not None:
        gates = {**gates, "forget_bias": forget_bias}
    set_seed(seed)
    model = RecurrentModel(
        spec.input_size, hidden_size, spec.output_size, kind=kind, **gates
    )
    test = spec.make(n_test, test_seed(seed))
    result = TaskResult(task, kind, seq_len, seed, spec.metric,
                        spec.baseline, spec.threshold, init=init,
                        budget=max_sequences)  # fmt: skip

    def on_eval(trainer):
        """Test the model; note when it is first solved; True = stop."""
        loss, acc = trainer.evaluate(*test, criterion=spec.criterion)
        value, seen = spec.score(loss, acc), trainer.history["sequences"][-1]
        result.sequences.append(seen)
        result.test_metric.append(value)
        result.train_loss.append(trainer.history["loss"][-1])
        if result.solved_at is None and value < spec.threshold:
            result.solved_at = seen
        return stop_when_solved and result.solved_at is not None

    start = time.perf_counter()
    train_fresh(
        model, spec.make, max_sequences // batch_size, seed=seed,
        batch_size=batch_size, eval_every=eval_every, device=device,
        criterion=spec.criterion, learning_rate=learning_rate,
        clip_grad_norm=1.0, on_eval=on_eval,
    )  # fmt: skip
    result.seconds = time.perf_counter() - start
    result.model = model.cpu().eval() if keep_model else None
    return result


BUILD_SWEEP = {"lengths": (10, 30, 100), "seeds": (0,)}
FULL_SWEEP = {
    "lengths": (10, 30, 100, 300),
    "seeds": (0, 1, 2),
    "max_sequences": 100_000,
}


def length_sweep(
    task, kinds=KINDS, lengths=None, seeds=None, full=False, **kw
) -> list[TaskResult]:
    """:func:`run_task` for every kind × length × seed (in that order).

    ``lengths`` and ``seeds`` default to :data:`BUILD_SWEEP` (small enough
    for the book's build), or with ``full=True`` to :data:`FULL_SWEEP`,
    which also raises ``max_sequences`` to 100,000 unless ``kw`` sets it.
    ``kw`` goes to :func:`run_task` (``max_sequences``, ``hidden_size``,
    ...). Returns the results in a flat list.
    """
    preset = dict(FULL_SWEEP if full else BUILD_SWEEP)
    lengths = preset.pop("lengths") if lengths is None else lengths
    seeds = preset.pop("seeds") if seeds is None else seeds
    kw = {"max_sequences": preset.get("max_sequences", 20_000), **kw}
    for name, values in (("kinds", kinds), ("lengths", lengths),
                         ("seeds", seeds)):  # fmt: skip
        if isinstance(values, (str, bytes)) or not isinstance(
            values, (list, tuple)
        ):
            raise TypeError(f"{name} must be a list or tuple, got {values!r}")
        if not values:
            raise ValueError(f"{name} must not be empty")
    return [
        run_task(task, kind, t, seed=s, **kw)
        for kind in kinds
        for t in lengths
        for s in seeds
    ]


def _checked(task, kind, seq_len, max_sequences, batch_size, eval_every,
             n_test, seed):  # fmt: skip
    """Check run_task's arguments; return the task's spec."""
    check_choice("kind", kind, KINDS)
    check_choice("task", task, TASKS)
    check_int("seq_len", seq_len, 2)
    check_int("eval_every", eval_every, 1)
    check_int("n_test", n_test, 1)
    check_seed("seed", seed, allow_none=False)
    batch_size = check_int("batch_size", batch_size, 1)
    if check_int("max_sequences", max_sequences, 1) < batch_size:
        raise ValueError(
            f"max_sequences must be >= batch_size ({batch_size}), got "
            f"{max_sequences}"
        )
    return task_spec(task, seq_len)
