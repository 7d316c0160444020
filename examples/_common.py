"""What the dataset examples share: their command line, loading a dataset (with a clear error
when the files are missing), and writing the model file and the training-curve PNG.

Each example is a script that reads top to bottom; only this plumbing lives here.
"""

import argparse
import os
import time
from pathlib import Path

import minigrad as mg

EXAMPLES = Path(__file__).resolve().parent


def parse_args(argv, description, name, epochs, batch_size):
    """The options every dataset example takes; ``name`` picks the default output folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--data-dir", default=os.environ.get("MINIGRAD_DATA"),
                        help="folder holding mnist/, cifar10/ and imdb/ (default: $MINIGRAD_DATA)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N training and N test samples (smoke tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", type=Path, default=EXAMPLES / "output" / name,
                        help="where the model file and the training-curve PNG go")
    parser.add_argument("--distributed", action="store_true",
                        help="insist on training on the ranks of `mpiexec -n N` (fit finds them "
                             "by itself); --batch-size is then per rank")
    args = parser.parse_args(argv)
    args.rank, args.world_size = world(parser, args.distributed)
    if args.device == "cuda" and not mg.cuda.is_available():
        parser.error("--device cuda: no usable GPU (on a machine with one, install CuPy: "
                     "pip install -e \".[gpu]\" in minigrad's clone)")
    mg.manual_seed(args.seed)
    return args


def world(parser, required):
    """(rank, number of ranks) of this process: (0, 1) unless a launcher (mpiexec, srun)
    started several; ``required`` (``--distributed``) makes a missing MPI world an error."""
    if not mg.train.distributed_fit.launched():
        if required:
            parser.error("--distributed: start the script with `mpiexec -n N python ...` (or "
                         "srun); no MPI world found")
        return 0, 1
    import minigrad.distributed

    started = minigrad.distributed.init()
    return started.rank, started.size


def load(dataset, args, **kwargs):
    """``mg.datasets.<dataset>.load_data(root=args.data_dir, **kwargs)``, cut to ``--limit``
    samples; a missing data folder ends the script with a message saying where the files go."""
    import minigrad.datasets

    module = getattr(minigrad.datasets, dataset)
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data(root=args.data_dir, **kwargs)
    except FileNotFoundError as error:  # the loader's message says which files go where
        raise SystemExit(f"{error}\nFor the examples: pass --data-dir <folder> or set "
                         f"MINIGRAD_DATA=<folder>, the folder that holds {dataset}/.") from None
    n = args.limit
    return (x_train[:n], y_train[:n]), (x_test[:n], y_test[:n])


def train_and_report(model, args, name, x_train, y_train, x_test, y_test):
    """Fit with one line per epoch (the test set as validation data, as the tutorials do),
    print the test accuracy, save the model and the training curves; returns the accuracy.
    Under mpiexec every rank trains and rank 0 alone prints and saves."""
    if args.device != "cpu":
        model.to(args.device)
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        validation_data=(x_test, y_test), verbose=2, seed=args.seed)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    if args.rank != 0:  # the same weights on every rank: rank 0 reports and saves them
        return float(accuracy)
    ranks = f" x {args.world_size} ranks" if args.world_size > 1 else ""
    print(f"test accuracy {accuracy:.4f}  ({len(x_test)} samples; trained {args.epochs} epochs "
          f"on {len(x_train)} samples in {seconds:.1f} s on {args.device}{ranks})")

    args.output_dir.mkdir(parents=True, exist_ok=True)
    model_path = args.output_dir / f"{name}.safetensors"
    model.save(model_path)
    print(f"model saved to {model_path}")
    save_curves(history, args.output_dir / f"{name}.png")
    return float(accuracy)


def save_curves(history, path):
    """The loss and accuracy curves (training and validation) as a PNG, or a message saying
    why not when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib not installed: training curves not drawn "
              "(pip install -e '.[plot]')")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in history.history if not n.startswith("val_")]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), squeeze=False)
    for name, ax in zip(names, axes[0]):
        history.plot([name], ax=ax)
        ax.set_title(name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"training curves saved to {path}")
    return path
