"""The adding problem at T = 100: an LSTM solves it, a tanh RNN does not.

Both models (RecurrentModel, hidden 32, Adam 1e-2, batch 64, clip 1) train
on fresh batches (``RNNTrainer.train_stream``) for at most 50,000
sequences; every 50 steps they are tested on 1000 fixed sequences never
trained on. The LSTM stops once its test MSE is below 0.01; the RNN uses
the whole budget. The trivial baseline (predict the mean) is MSE 1/6.

    python benchmarks/adding_check.py [--hidden 32] [--json out.json]

Exit status 1 if the LSTM misses 0.01 or the RNN gets below 0.1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from torch import nn

from asctools.dataset import adding_problem, trivial_baseline
from asctools.models import RecurrentModel
from asctools.rnn_trainer import RNNTrainer
from asctools.utils import get_device, set_seed, set_threads

TEST_SEED = 1_000_000  # far from the training seeds 0, 1, 2, ...


def run(kind, args, device) -> dict:
    """Train one model; return sequences used, test MSE and seconds."""
    set_seed(args.seed)
    model = RecurrentModel(2, args.hidden, 1, kind=kind)
    trainer = RNNTrainer(model, device=device)
    test = adding_problem(1000, args.seq_len, seed=TEST_SEED)
    start = time.perf_counter()
    trainer.train_stream(
        lambda step: adding_problem(args.batch, args.seq_len, seed=step),
        steps=args.max_sequences // args.batch,
        criterion=nn.MSELoss(),
        learning_rate=args.lr,
        clip_grad_norm=1.0,
        eval_every=50,
        val_data=test,
        stop_below=args.target if kind == "lstm" else None,
        show_progress=not args.quiet,
    )
    hist = trainer.history
    return {
        "kind": kind,
        "sequences": hist["sequences"][-1],
        "test_mse": hist["val_loss"][-1],
        "best_test_mse": min(hist["val_loss"]),
        "seconds": time.perf_counter() - start,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seq-len", type=int, default=100)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--max-sequences", type=int, default=50_000)
    p.add_argument("--target", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args(argv)
    set_threads()
    device = get_device(args.device)
    base = trivial_baseline("adding")
    results = [run("lstm", args, device), run("rnn", args, device)]
    print(f"adding problem, T = {args.seq_len}, H = {args.hidden}, "
          f"{device}; baseline MSE {base:.4f}")  # fmt: skip
    for r in results:
        print(
            f"  {r['kind']:>4}: {r['sequences']:6d} sequences, test MSE "
            f"{r['test_mse']:.4f} (best {r['best_test_mse']:.4f}), "
            f"{r['seconds']:.1f} s"
        )
    lstm, rnn = results
    ok = lstm["test_mse"] < args.target and rnn["best_test_mse"] > 0.1
    print("PASS" if ok else "FAIL")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
