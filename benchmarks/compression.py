"""Compression of the three tutorial models, measured side by side in one run: file sizes,
test accuracy and inference speed of the float32 model, its int8 and float16 quantizations
(``mg.quantize``), its 80%-pruned version (``mg.prune``, one epoch of fine-tuning, stored
compactly by ``mg.export.save_pruned``), their ONNX exports run by onnxruntime, and the same
architecture with the same weights in PyTorch, float32 and ``quantize_dynamic`` (qint8).

The models (the architectures of examples/): the MNIST MLP (784-512-512-10), the CIFAR-10 CNN
(Conv2D 32-MaxPool-Conv2D 64-MaxPool-Conv2D 64-Dense 64-Dense 10) and the IMDB
Embedding(10000, 16, mask_zero)-Bidirectional(LSTM 64)-Dense 64-Dense 1 on reviews padded to
256 ids at the front. Each is trained briefly on the real data in ``--data-dir`` (default
``$MINIGRAD_DATA``): a couple of epochs, enough to compare a model with its compressed forms,
not to reach the tutorials' accuracy. Trained models are kept in ``--work-dir``, so a rerun
with the same settings skips training (and the pruned model's fine-tuning).

    python -m benchmarks.compression                     # everything, 2 threads
    python -m benchmarks.compression --skip-timing       # sizes and accuracy only
    python -m benchmarks.compression --models mnist_mlp --threads 1
    python -m benchmarks.compression --quick --synthetic # a smoke run on random data

It prints three tables in Markdown (for docs/exporting.rst) and writes them, with every
figure, to ``results.json`` in the work folder:

- sizes: each file in bytes and as a ratio to the float32 model file (minigrad's files, the
  ONNX exports, PyTorch's ``state_dict``);
- accuracy on the test set, and each compressed model's drop in points from the float32 one
  (the pruned model also beside a control: the float32 model trained the same extra epoch
  without pruning);
- inference time at batch 1 and 1000 (the median of many calls, after a warm-up), as a
  ratio to onnxruntime on the float32 export: minigrad float32 and int8, onnxruntime float32
  and int8, PyTorch float32 and ``quantize_dynamic`` (which quantizes Linear and LSTM layers;
  PyTorch's convolutions stay float32 in it). Every library runs on ``--threads`` threads
  (threadpoolctl, Numba, PyTorch, onnxruntime's intra-op threads).

The issue's targets are checked and printed: int8 file <= 0.27x the float32 one, int8
accuracy drop <= 0.3 points (MLP) and <= 1 point (CNN, BiLSTM), pruned MLP within 0.5 points
of the dense one and stored in <= 0.35x its file.

Needs the ``onnx`` extra, and PyTorch for its columns (``pip install -e ".[bench,torch,onnx]"``).
"""

import argparse
import io
import json
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .harness import median_time

MODELS = ("mnist_mlp", "cifar10_cnn", "imdb_bilstm")
SPARSITY = 0.8
VOCABULARY, LENGTH = 10000, 256
#: Training epochs of the float models (a short run: the comparison needs a trained model, not
#: the tutorial's last point of accuracy).
EPOCHS = {"mnist_mlp": 2, "cifar10_cnn": 3, "imdb_bilstm": 1}
BATCH_SIZE = {"mnist_mlp": 128, "cifar10_cnn": 64, "imdb_bilstm": 128}
#: Samples per set with --quick (training, test).
QUICK_SIZES = (2000, 1000)
#: The issue's targets: int8 size ratio, int8 accuracy drop per model (points), pruned MLP.
INT8_SIZE_TARGET = 0.27
INT8_DROP_TARGET = {"mnist_mlp": 0.3, "cifar10_cnn": 1.0, "imdb_bilstm": 1.0}
PRUNED_DROP_TARGET, PRUNED_SIZE_TARGET = 0.5, 0.35
ENGINES = ("minigrad float32", "minigrad int8", "onnxruntime float32", "onnxruntime int8",
           "PyTorch float32", "PyTorch quantize_dynamic")
ANCHOR = "onnxruntime float32"


# --- the models -------------------------------------------------------------------------------
def build(name):
    """The tutorial model ``name`` (as in examples/), compiled, with fresh weights."""
    import minigrad as mg
    from minigrad import nn

    if name == "mnist_mlp":
        model = mg.Sequential([nn.Dense(512, activation="relu", input_shape=(784,)),
                               nn.Dense(512, activation="relu"),
                               nn.Dense(10, activation="softmax")], name=name)
    elif name == "cifar10_cnn":
        model = mg.Sequential([nn.Conv2D(32, 3, activation="relu", input_shape=(32, 32, 3)),
                               nn.MaxPooling2D(), nn.Conv2D(64, 3, activation="relu"),
                               nn.MaxPooling2D(), nn.Conv2D(64, 3, activation="relu"),
                               nn.Flatten(), nn.Dense(64, activation="relu"), nn.Dense(10)],
                              name=name)
    elif name == "imdb_bilstm":
        model = mg.Sequential([nn.Embedding(VOCABULARY, 16, mask_zero=True,
                                            input_shape=(LENGTH,)),
                               nn.Bidirectional(nn.LSTM(64)), nn.Dense(64, activation="relu"),
                               nn.Dense(1, activation="sigmoid")], name=name)
    else:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    compile_for(model, name)
    return model


def compile_for(model, name):
    """Compile ``model`` with the loss of ``name``'s tutorial (for fit and fine-tuning)."""
    from minigrad import nn

    loss = {"mnist_mlp": "sparse_categorical_crossentropy",
            "cifar10_cnn": nn.losses.SparseCategoricalCrossentropy(from_logits=True),
            "imdb_bilstm": "binary_crossentropy"}[name]
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def load_data(name, args):
    """``(x_train, y_train), (x_test, y_test)`` of ``name``'s dataset, as its model takes
    them; the first samples only with ``--quick``; random data of the same shapes with
    ``--synthetic``."""
    if args.synthetic:
        return synthetic_data(name, *args.samples or (10000, 2000))
    import minigrad as mg

    if not args.data_dir:
        raise SystemExit("no data: pass --data-dir or set MINIGRAD_DATA to the folder holding "
                         "mnist/, cifar10/ and imdb/ (or --synthetic for a smoke run)")
    if name == "mnist_mlp":
        (x_train, y_train), (x_test, y_test) = mg.datasets.mnist.load_data(
            root=args.data_dir, download=False)
        x_train = x_train.reshape(len(x_train), 784).astype(np.float32) / 255
        x_test = x_test.reshape(len(x_test), 784).astype(np.float32) / 255
    elif name == "cifar10_cnn":
        (x_train, y_train), (x_test, y_test) = mg.datasets.cifar10.load_data(
            root=args.data_dir, download=False)
        x_train, x_test = x_train.astype(np.float32) / 255, x_test.astype(np.float32) / 255
    else:
        (x_train, y_train), (x_test, y_test) = mg.datasets.imdb.load_data(
            root=args.data_dir, num_words=VOCABULARY, download=False)
        x_train, x_test = (mg.datasets.pad_sequences(x, maxlen=LENGTH, padding="pre",
                                                     truncating="pre").astype(np.int64)
                           for x in (x_train, x_test))  # int64: the ONNX graph's ids
    y_train, y_test = np.asarray(y_train).reshape(-1), np.asarray(y_test).reshape(-1)
    if name == "imdb_bilstm":
        y_train, y_test = y_train.astype(np.float32), y_test.astype(np.float32)
    if args.samples:
        (n_train, n_test) = args.samples
        x_train, y_train, x_test, y_test = (x_train[:n_train], y_train[:n_train],
                                            x_test[:n_test], y_test[:n_test])
    return (x_train, y_train), (x_test, y_test)


def synthetic_data(name, n_train, n_test, seed=0):
    """Random inputs of ``name``'s shapes whose labels follow from them (so that training
    learns something): for a smoke run without the datasets."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    if name == "imdb_bilstm":
        lengths = rng.integers(8, LENGTH + 1, n)
        x = rng.integers(1, VOCABULARY, (n, LENGTH))
        x[np.arange(LENGTH) < (LENGTH - lengths)[:, None]] = 0  # padding in front
        y = ((x % 2 == 1) & (x > 0)).sum(1) > lengths / 2
        y = y.astype(np.float32)
    else:
        shape = (784,) if name == "mnist_mlp" else (32, 32, 3)
        x = rng.random((n, *shape), dtype=np.float32)
        flat = x.reshape(n, -1)
        y = (flat[:, :10] * np.arange(1, 11)).argmax(1) if name == "mnist_mlp" else \
            flat[:, :10].argmax(1)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


# --- training, compression, files ---------------------------------------------------------------
def cache_key(name, args, n_train):
    """The work folder's name for ``name`` trained on these settings."""
    source = "synthetic" if args.synthetic else "real"
    return f"{name}-{source}-n{n_train}-e{args.epochs or EPOCHS[name]}-seed{args.seed}"


def trained_float(name, data, args, folder):
    """The float32 model, trained for ``--epochs`` (or loaded from the work folder)."""
    import minigrad as mg

    path = folder / "float32.safetensors"
    if path.is_file():
        log(f"{name}: the trained float32 model from {path}")
        return compile_for(mg.load_model(path, compile=False), name), 0.0
    (x_train, y_train), _ = data
    mg.manual_seed(args.seed)
    model = build(name)
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=BATCH_SIZE[name], epochs=args.epochs or EPOCHS[name],
              verbose=0, seed=args.seed)
    seconds = time.perf_counter() - start
    model.save(path, include_optimizer=False)
    log(f"{name}: trained {args.epochs or EPOCHS[name]} epoch(s) in {seconds:.0f} s")
    return model, seconds


def dense_control(name, data, args, folder):
    """The pruned model's control: the float model trained the same one more epoch (same
    seed, a fresh Adam), without pruning (or loaded from the work folder). The pruned model's
    fine-tuning is training too: this tells what the pruning cost from what the epoch gave."""
    import minigrad as mg

    path = folder / "dense_plus_1_epoch.safetensors"
    if path.is_file():
        return mg.load_model(path, compile=False)
    (x_train, y_train), _ = data
    model = compile_for(mg.load_model(folder / "float32.safetensors", compile=False), name)
    mg.manual_seed(args.seed + 1)
    model.fit(x_train, y_train, batch_size=BATCH_SIZE[name], epochs=1, verbose=0,
              seed=args.seed + 1)
    model.save(path, include_optimizer=False)
    log(f"{name}: the dense control trained one more epoch")
    return model


def pruned_model(name, data, args, folder):
    """The float model pruned to 80% sparsity (each weight: ``scope="layer"``), fine-tuned
    one epoch with its masks, stripped, stored compactly (or loaded from the work folder)."""
    import minigrad as mg

    path = folder / f"pruned{int(SPARSITY * 100)}.safetensors"
    if path.is_file():
        log(f"{name}: the pruned, fine-tuned model from {path}")
        return mg.load_model(path, compile=False), path
    (x_train, y_train), _ = data
    model = compile_for(mg.load_model(folder / "float32.safetensors", compile=False), name)
    mg.prune(model, SPARSITY)
    mg.manual_seed(args.seed + 1)
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=BATCH_SIZE[name], epochs=1, verbose=0,
              seed=args.seed + 1)
    mg.strip_pruning(model)
    mg.export.save_pruned(model, path)
    log(f"{name}: pruned to {SPARSITY:.0%} and fine-tuned one epoch in "
        f"{time.perf_counter() - start:.0f} s")
    return model, path


def torch_size(module):
    """Bytes of ``torch.save(module.state_dict())``."""
    import torch

    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return len(buffer.getvalue())


# --- the same models in PyTorch -----------------------------------------------------------------
def torch_model(name, model):
    """The architecture of ``name`` as a ``torch.nn.Module`` holding ``model``'s weights (PyTorch
    layouts: Linear (out, in), Conv2d (out, in, kh, kw) on NCHW images, the first Dense after
    Flatten with its rows reordered from (h, w, c) to (c, h, w), LSTM gates i, f, g, o as
    minigrad's i, f, c, o with the bias in bias_ih). Its ``forward`` takes what
    :func:`torch_inputs` gives."""
    import torch
    from torch import nn as tnn

    weights = {n: p.numpy() for n, p in model.named_parameters()}

    def linear(prefix, rows=None):
        kernel = weights[f"{prefix}.kernel"]
        if rows is not None:  # (h, w, c) -> (c, h, w) order of the flattened features
            h, w, c = rows
            kernel = kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
        layer = tnn.Linear(*kernel.shape)
        layer.weight.data = torch.from_numpy(np.ascontiguousarray(kernel.T))
        layer.bias.data = torch.from_numpy(weights[f"{prefix}.bias"].copy())
        return layer

    def conv(prefix):
        kernel = weights[f"{prefix}.kernel"]
        layer = tnn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2])
        layer.weight.data = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        layer.bias.data = torch.from_numpy(weights[f"{prefix}.bias"].copy())
        return layer

    if name == "mnist_mlp":
        module = tnn.Sequential(linear("0"), tnn.ReLU(), linear("1"), tnn.ReLU(), linear("2"),
                                tnn.Softmax(dim=1))
    elif name == "cifar10_cnn":
        module = tnn.Sequential(conv("0"), tnn.ReLU(), tnn.MaxPool2d(2), conv("2"), tnn.ReLU(),
                                tnn.MaxPool2d(2), conv("4"), tnn.ReLU(), tnn.Flatten(),
                                linear("6", rows=(4, 4, 64)), tnn.ReLU(), linear("7"))
    else:
        module = TorchBiLSTM(weights)
    return module.eval()


def _torch_bilstm_class():
    import torch
    from torch import nn as tnn
    from torch.nn.utils.rnn import pack_padded_sequence

    class BiLSTM(tnn.Module):
        """Embedding -> bidirectional LSTM over each review's real steps (packed: PyTorch's way
        of masking padding) -> Dense 64 relu -> Dense 1 sigmoid."""

        def __init__(self, weights):
            super().__init__()
            table = weights["0.embeddings"]
            self.embedding = tnn.Embedding(*table.shape)
            self.embedding.weight.data = torch.from_numpy(table.copy())
            units = weights["1.forward_layer.recurrent_kernel"].shape[0]
            self.lstm = tnn.LSTM(table.shape[1], units, batch_first=True, bidirectional=True)
            for suffix, side in (("", "forward_layer"), ("_reverse", "backward_layer")):
                for ours, theirs in (("kernel", "weight_ih"), ("recurrent_kernel", "weight_hh")):
                    getattr(self.lstm, f"{theirs}_l0{suffix}").data = torch.from_numpy(
                        np.ascontiguousarray(weights[f"1.{side}.{ours}"].T))
                getattr(self.lstm, f"bias_ih_l0{suffix}").data = torch.from_numpy(
                    weights[f"1.{side}.bias"].copy())
                getattr(self.lstm, f"bias_hh_l0{suffix}").data.zero_()
            self.hidden, self.out = tnn.Linear(2 * units, 64), tnn.Linear(64, 1)
            for layer, prefix in ((self.hidden, "2"), (self.out, "3")):
                layer.weight.data = torch.from_numpy(
                    np.ascontiguousarray(weights[f"{prefix}.kernel"].T))
                layer.bias.data = torch.from_numpy(weights[f"{prefix}.bias"].copy())

        def forward(self, ids, lengths):
            packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True,
                                          enforce_sorted=False)
            _, (state, _) = self.lstm(packed)
            features = torch.cat([state[0], state[1]], dim=1)
            return torch.sigmoid(self.out(torch.relu(self.hidden(features))))

    return BiLSTM


def TorchBiLSTM(weights):  # noqa: N802 (a class made on first use: torch is imported late)
    return _torch_bilstm_class()(weights)


def torch_inputs(name, x):
    """The arguments of :func:`torch_model`'s forward for the NumPy batch ``x``: NCHW images;
    for the reviews, the ids moved to the front (the padding after them) and their lengths."""
    import torch

    if name == "cifar10_cnn":
        return (torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))),)
    if name == "imdb_bilstm":
        lengths = np.maximum((x != 0).sum(1), 1)
        shift = (np.arange(x.shape[1]) + (x.shape[1] - lengths)[:, None]) % x.shape[1]
        ids = np.take_along_axis(x, shift, axis=1)  # the real ids first, the zeros after
        return torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(lengths.astype(np.int64))
    return (torch.from_numpy(np.ascontiguousarray(x)),)


def torch_quantized(module):
    """PyTorch's ``quantize_dynamic`` of ``module``: Linear and LSTM weights qint8."""
    import torch

    with warnings.catch_warnings():  # torch.ao.quantization says it moves to torchao
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear, torch.nn.LSTM},
                                                      dtype=torch.qint8)


# --- running each engine ---------------------------------------------------------------------
def minigrad_runner(model):
    """``run(x) -> outputs`` of a minigrad model: one forward pass in evaluation mode without
    gradients (as ``predict`` does, minus its splitting into batches)."""
    import minigrad as mg

    model.eval()

    def run(x):
        with mg.no_grad():
            return model(x)  # floats become the model's dtype, token ids stay integers

    return run, lambda out: out.numpy()


def onnx_runner(path, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (argument,) = session.get_inputs()
    names = [session.get_outputs()[0].name]

    def run(x):
        return session.run(names, {argument.name: x})[0]

    return run, lambda out: out


def torch_runner(name, module):
    import torch

    def run(x, prepared=None):
        with torch.no_grad():
            return module(*(prepared or torch_inputs(name, x)))

    return run, lambda out: out.numpy()


def predictions(run, to_numpy, x, batch=1000):
    """The outputs for all of ``x``, ``batch`` rows at a time."""
    return np.concatenate([to_numpy(run(x[i:i + batch])) for i in range(0, len(x), batch)])


def accuracy(outputs, y):
    """Test accuracy in percent: the top class, or the sigmoid output above 0.5."""
    y = np.asarray(y).reshape(-1)
    guess = outputs[:, 0] > 0.5 if outputs.shape[1] == 1 else outputs.argmax(1)
    return 100.0 * float((guess == y).mean())


# --- one model --------------------------------------------------------------------------------
@dataclass
class Figures:
    """What one model's run measured."""

    name: str
    train_size: int
    test_size: int
    sizes: dict
    accuracy: dict
    agreement: dict
    times: dict
    notes: list


def measure(name, args):
    """Train (or load), compress, export and measure one model; returns its Figures."""
    import minigrad as mg

    data = load_data(name, args)
    (x_train, _), (x_test, y_test) = data
    folder = args.work_dir / cache_key(name, args, len(x_train))
    folder.mkdir(parents=True, exist_ok=True)
    model, _ = trained_float(name, data, args, folder)
    models = {"float32": model, "int8": mg.quantize(model, dtype="int8"),
              "float16": mg.quantize(model, dtype="float16")}
    models["pruned"], pruned_path = pruned_model(name, data, args, folder)
    models["dense + 1 epoch"] = dense_control(name, data, args, folder)
    files = {"float32": folder / "float32.safetensors", "pruned": pruned_path}
    for kind in ("int8", "float16"):
        files[kind] = folder / f"{kind}.safetensors"
        models[kind].save(files[kind], include_optimizer=False)
    notes = []
    for kind in ("float32", "int8"):
        try:
            mg.onnx.export(models[kind], folder / f"{kind}.onnx")
        except (TypeError, ValueError) as error:  # e.g. a layer without an ONNX converter
            notes.append(f"{name}: no ONNX {kind} ({error})")
            log(notes[-1])
        else:
            files[f"onnx {kind}"] = folder / f"{kind}.onnx"
    sizes = {kind: path.stat().st_size for kind, path in files.items()}

    runners = {f"minigrad {kind}": minigrad_runner(models[kind])
               for kind in ("float32", "int8", "float16", "pruned", "dense + 1 epoch")}
    for kind in ("float32", "int8"):
        if f"onnx {kind}" in files:
            runners[f"onnxruntime {kind}"] = onnx_runner(files[f"onnx {kind}"], args.threads)
    if args.torch:
        module = torch_model(name, model)
        quantized = torch_quantized(module)
        runners["PyTorch float32"] = torch_runner(name, module)
        runners["PyTorch quantize_dynamic"] = torch_runner(name, quantized)
        sizes["PyTorch float32"], sizes["PyTorch qint8"] = (torch_size(module),
                                                            torch_size(quantized))

    log(f"{name}: predicting {len(x_test)} test samples with {len(runners)} engines")
    outputs = {engine: predictions(run, to_numpy, x_test) for engine, (run, to_numpy)
               in runners.items()}
    scores = {engine: accuracy(out, y_test) for engine, out in outputs.items()}
    # Each engine against its minigrad model: an export or a port must give its answers.
    pairs = {"onnxruntime float32": "minigrad float32", "onnxruntime int8": "minigrad int8",
             "PyTorch float32": "minigrad float32"}
    agreement = {engine: float(np.abs(outputs[engine] - outputs[reference]).max())
                 for engine, reference in pairs.items() if engine in outputs}
    for engine, difference in agreement.items():
        # onnxruntime runs an int8 graph with its integer kernels, which quantize the
        # activations too (dynamically, per batch): close to minigrad's int8, not equal.
        if difference > 1e-3 and engine != "onnxruntime int8":
            raise RuntimeError(f"{name}: {engine} differs from {pairs[engine]} by {difference:.2g}"
                               " (max abs over the test set): not the same model")
    times = {} if args.skip_timing else time_engines(name, runners, x_test, args)
    return Figures(name, len(x_train), len(x_test), sizes, scores, agreement, times, notes)


def time_engines(name, runners, x_test, args):
    """``{batch: {engine: seconds per call}}``: the median over ``--repeats`` calls (fewer at
    large batches) after a warm-up, all engines on the same batch in one run."""
    times = {}
    for batch in args.batch_sizes:
        x = x_test[:batch]
        if len(x) < batch:
            x = np.concatenate([x] * -(-batch // len(x)))[:batch]
        repeats = max(3, args.repeats // max(1, batch // 100)) if batch > 1 else args.repeats
        times[batch] = {}
        for engine in ENGINES:
            if engine not in runners:
                continue
            run, _ = runners[engine]
            if engine.startswith("PyTorch"):  # the inputs in PyTorch's form, made once
                prepared = torch_inputs(name, x)
                call = (lambda run=run, prepared=prepared: run(None, prepared))
            else:
                call = (lambda run=run: run(x))
            times[batch][engine] = median_time(call, warmup=max(2, repeats // 10),
                                               repeats=repeats)
        log(f"{name}: timed batch {batch}")
    return times


# --- the report -------------------------------------------------------------------------------
def verdict(ok):
    return "ok" if ok else "MISSED"


def _markdown_rows(say, results, titles, cells):
    """A Markdown table: a header of ``titles`` after "model", then ``cells(r)`` per result."""
    say("| model | " + " | ".join(titles) + " |")
    say("| --- |" + " ---: |" * len(titles))
    for r in results:
        say(f"| {r.name} | " + " | ".join(cells(r)) + " |")


def _against_base(values, keys, base_key, show, compare):
    """The cells of ``values[key]`` for ``keys`` ("-" where missing), each but the base's
    followed by ``(compare(value, base))``."""
    base = values[base_key]
    return ["-" if k not in values else show(values[k]) + (
                "" if k == base_key else f" ({compare(values[k], base)})") for k in keys]


def report(results, args):
    """Print the three tables (Markdown) and the targets' verdicts; returns the lines."""
    lines = []
    say = lines.append
    say("### File sizes (bytes; ratio to the float32 model file)")
    say("")
    columns = ["float32", "int8", "float16", "pruned", "onnx float32", "onnx int8"]
    titles = ["minigrad float32", "int8", "float16", f"pruned {SPARSITY:.0%} (compact)",
              "ONNX float32", "ONNX int8"]
    if args.torch:
        columns += ["PyTorch float32", "PyTorch qint8"]
        titles += ["PyTorch float32", "PyTorch qint8"]
    _markdown_rows(say, results, titles, lambda r: _against_base(
        r.sizes, columns, "float32", lambda v: f"{v:,}", lambda v, b: f"{v / b:.3f}x"))
    say("")
    say(f"### Test accuracy (%; drop in points from float32), {results[0].test_size:,}"
        " test samples" if len({r.test_size for r in results}) == 1 else
        "### Test accuracy (%; drop in points from float32)")
    say("")
    engines = ["minigrad float32", "minigrad int8", "minigrad float16", "minigrad pruned",
               "minigrad dense + 1 epoch", "onnxruntime float32", "onnxruntime int8"]
    titles = ["float32", "int8", "float16", f"pruned {SPARSITY:.0%} + 1 epoch",
              "dense + 1 epoch (control)", "ONNX float32 (onnxruntime)",
              "ONNX int8 (onnxruntime)"]
    if args.torch:
        engines += ["PyTorch float32", "PyTorch quantize_dynamic"]
        titles += ["PyTorch float32", "PyTorch quantize_dynamic"]
    _markdown_rows(say, results, titles, lambda r: _against_base(
        r.accuracy, engines, "minigrad float32", lambda v: f"{v:.2f}",
        lambda v, b: f"{v - b:+.2f}"))
    if any(r.times for r in results):
        say("")
        say(f"### Inference time (ms per call; ratio to {ANCHOR}), {args.threads} thread(s)")
        say("")
        present = [e for e in ENGINES if any(e in t for r in results for t in r.times.values())]
        say("| model | batch | " + " | ".join(present) + " |")
        say("| --- | ---: |" + " ---: |" * len(present))
        for r in results:
            for batch, row in r.times.items():
                anchor = row.get(ANCHOR, float("nan"))
                cells = [f"{row[e] * 1e3:.3f} ({row[e] / anchor:.2f}x)" if e in row else "-"
                         for e in present]
                say(f"| {r.name} | {batch} | " + " | ".join(cells) + " |")
    say("")
    say("Targets (a negative drop is a gain):")
    for r in results:
        int8_size = r.sizes["int8"] / r.sizes["float32"]
        drop = r.accuracy["minigrad float32"] - r.accuracy["minigrad int8"]
        say(f"- {r.name}: int8 file {int8_size:.3f}x (<= {INT8_SIZE_TARGET}: "
            f"{verdict(int8_size <= INT8_SIZE_TARGET)}), int8 accuracy drop {drop:.2f} points "
            f"(<= {INT8_DROP_TARGET[r.name]}: {verdict(drop <= INT8_DROP_TARGET[r.name])})")
        if r.name == "mnist_mlp":
            pruned_size = r.sizes["pruned"] / r.sizes["float32"]
            pruned_drop = r.accuracy["minigrad float32"] - r.accuracy["minigrad pruned"]
            control_drop = (r.accuracy["minigrad dense + 1 epoch"]
                            - r.accuracy["minigrad pruned"])
            say(f"- {r.name}: pruned {SPARSITY:.0%} + 1 epoch, accuracy drop {pruned_drop:.2f} "
                f"points (<= {PRUNED_DROP_TARGET}: {verdict(pruned_drop <= PRUNED_DROP_TARGET)})"
                f" ({control_drop:.2f} from the dense model trained the same epoch: "
                f"{verdict(control_drop <= PRUNED_DROP_TARGET)}), compact file "
                f"{pruned_size:.3f}x (<= {PRUNED_SIZE_TARGET}: "
                f"{verdict(pruned_size <= PRUNED_SIZE_TARGET)})")
    for r in results:
        for note in r.notes:
            say(f"- {note}")
    say("")
    say("Largest difference from the minigrad model over the test set: " + "; ".join(
        f"{r.name} " + ", ".join(f"{e} {d:.1e}" for e, d in r.agreement.items())
        for r in results))
    print("\n".join(lines), flush=True)
    return lines


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- command line -----------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compression",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, of {', '.join(MODELS)} (default: all)")
    parser.add_argument("--data-dir", default=os.environ.get("MINIGRAD_DATA"),
                        help="folder holding mnist/, cifar10/ and imdb/ (default: "
                        "$MINIGRAD_DATA)")
    parser.add_argument("--work-dir", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "minigrad" / "compression",
                        help="where the trained models, the compressed and exported files and "
                        "results.json go; a rerun with the same settings reuses the trained "
                        "models (default ~/.cache/minigrad/compression)")
    parser.add_argument("--epochs", type=int,
                        help="training epochs of every float model (default: "
                        + ", ".join(f"{k} {v}" for k, v in EPOCHS.items()) + ")")
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke run: the first {QUICK_SIZES[0]} training and "
                        f"{QUICK_SIZES[1]} test samples, few timed calls")
    parser.add_argument("--samples", metavar="TRAIN,TEST",
                        help="use the first TRAIN training and TEST test samples (default: "
                        f"all; {QUICK_SIZES[0]},{QUICK_SIZES[1]} with --quick)")
    parser.add_argument("--synthetic", action="store_true",
                        help="random data of the datasets' shapes instead of the datasets")
    parser.add_argument("--skip-timing", action="store_true",
                        help="sizes and accuracy only (they do not depend on a quiet machine)")
    parser.add_argument("--no-torch", dest="torch", action="store_false",
                        help="leave out the PyTorch columns")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads of every library (default 2)")
    parser.add_argument("--batch-sizes", default="1,1000",
                        help="comma-separated batch sizes to time (default 1,1000)")
    parser.add_argument("--repeats", type=int,
                        help="timed calls at batch 1 (fewer at large batches; default 200, "
                        "10 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown or not args.models:
        parser.error(f"--models: unknown {', '.join(unknown) or '(none given)'}; choose from "
                     f"{', '.join(MODELS)}")
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    except ValueError:
        parser.error(f"--batch-sizes: expected numbers like 1,1000, got {args.batch_sizes!r}")
    if min(args.batch_sizes) < 1 or args.threads < 1 or (args.epochs or 1) < 1:
        parser.error("--batch-sizes, --threads and --epochs must be at least 1")
    if args.samples is not None:
        try:
            args.samples = tuple(int(n) for n in args.samples.split(","))
        except ValueError:
            args.samples = ()
        if len(args.samples) != 2 or min(args.samples) < 1:
            parser.error("--samples: expected two counts >= 1 like 2000,1000")
    elif args.quick:
        args.samples = QUICK_SIZES
    if args.repeats is None:
        args.repeats = 10 if args.quick else 200
    if args.torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            parser.error("PyTorch is not installed: install it (the torch extra) or pass "
                         "--no-torch")
    return args


def main(argv=None):
    args = parse_args(argv)
    from . import harness

    harness.set_threads(args.threads, with_torch=args.torch)
    import numpy

    import minigrad

    args.work_dir.mkdir(parents=True, exist_ok=True)
    versions = [f"python {platform.python_version()}", f"numpy {numpy.__version__}",
                f"minigrad {minigrad.__version__}"]
    import onnxruntime

    versions.append(f"onnxruntime {onnxruntime.__version__}")
    if args.torch:
        import torch

        versions.append(f"torch {torch.__version__}")
    print(f"{', '.join(versions)}; {platform.machine()}, {os.cpu_count()} CPU(s), "
          f"{args.threads} thread(s); data: "
          f"{'synthetic' if args.synthetic else args.data_dir}{' (quick)' if args.quick else ''}")
    results = [measure(name, args) for name in args.models]
    lines = report(results, args)
    output = args.work_dir / "results.json"
    output.write_text(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()},
                                  "versions": versions,
                                  "results": [vars(r) for r in results],
                                  "report": lines}, indent=1, default=str))
    log(f"figures written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
