"""Overhead of RNNTrainer over a bare training loop doing the same work.

Both run the same model (an LSTM via RecurrentModel), data, mini-batches,
Adam optimizer and gradient clipping, and read the loss back once per step.
Repetitions alternate (bare, trainer, bare, ...) so that load drifts hit
both alike; the ratio of the medians is printed. Target: ≤ 5 % overhead.

    python benchmarks/bench_trainer.py [--reps 11] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from asctools.dataset import generate_parentheses_dataset, parentheses_one_hot
from asctools.models import RecurrentModel
from asctools.rnn_trainer import RNNTrainer
from asctools.utils import get_device, set_seed, set_threads


def bare_loop(model, x, y, opt, epochs, batch_size, seed):
    """The loop written out by hand: shuffle, zero_grad, forward, loss,
    backward, clip, step."""
    gen = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen).to(x.device)
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad(set_to_none=True)
            out, _ = model(x[idx])  # (b, T, K)
            loss = F.cross_entropy(out[:, -1], y[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
    return losses


def timed(fn, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=11)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--samples", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=25)
    p.add_argument("--device", default=None)
    p.add_argument("--json", default=None, help="write the results here")
    return p.parse_args(argv)


def make_runs(args, device):
    """Two factories of zero-argument runs from the same initial state."""
    seqs, labels = generate_parentheses_dataset(
        args.samples, args.seq_len, args.seq_len, seed=0
    )
    x = parentheses_one_hot(seqs).to(device)  # (N, T, 28)
    y = torch.tensor(labels).to(device)  # (N,)
    init = RecurrentModel(28, args.hidden, 2).to(device).state_dict()

    def fresh():
        model = RecurrentModel(28, args.hidden, 2).to(device)
        model.load_state_dict(init)
        return model, torch.optim.Adam(model.parameters(), lr=0.01)

    def bare():
        model, opt = fresh()
        e, b = args.epochs, args.batch_size
        return lambda: bare_loop(model, x, y, opt, e, b, 0)

    def trainer():
        model, opt = fresh()
        tr = RNNTrainer(model, device=device)
        return lambda: tr.train(
            x, y, optimizer=opt, max_epochs=args.epochs,
            batch_size=args.batch_size, clip_grad_norm=1.0, seed=0,
            show_progress=False,
        )  # fmt: skip

    return bare, trainer


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_threads()
    set_seed(0)
    device = get_device(args.device)
    bare, trainer = make_runs(args, device)
    timed(bare(), device)  # warm-up
    timed(trainer(), device)
    t_bare, t_trainer = [], []
    for _ in range(args.reps):  # interleaved: load drift hits both
        t_bare.append(timed(bare(), device))
        t_trainer.append(timed(trainer(), device))
    result = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "steps_per_run": args.epochs * -(-args.samples // args.batch_size),
        "reps": args.reps,
        "bare_median_s": statistics.median(t_bare),
        "trainer_median_s": statistics.median(t_trainer),
    }
    result["overhead"] = (
        result["trainer_median_s"] / result["bare_median_s"] - 1
    )
    report(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


def report(r) -> None:
    print(
        f"{r['steps_per_run']} steps per run, {r['reps']} interleaved reps "
        f"on {r['device']}: bare {r['bare_median_s'] * 1e3:.1f} ms, "
        f"trainer {r['trainer_median_s'] * 1e3:.1f} ms (medians); "
        f"trainer overhead {100 * r['overhead']:+.1f} % (target <= 5 %)"
    )


if __name__ == "__main__":
    main()
