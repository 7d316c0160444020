"""Peak memory of a training run, minigrad vs PyTorch: each library trains a benchmark model for
a number of steps in a fresh process, and the growth of the process's peak resident memory
(Linux's VmHWM, reset just before training) over its resident memory at that moment is compared
(the ratio minigrad / PyTorch). Imports, data and weights are not counted: only what training
itself needs (activations, gradients, temporaries).

``python -m benchmarks.run memory`` starts two subprocesses per model; Linux only.
"""

import json
import os
import subprocess
import sys

import numpy as np

from .harness import Result, Results

TARGET_RATIO = 1.5
STEPS = {"mlp": 20, "cnn": 5, "bilstm": 3}


def _training_step(library, model):
    """The benchmark module's training step for ``library`` on its usual batch."""
    from . import bilstm, cnn, mlp

    rng = np.random.default_rng(0)
    if model == "mlp":
        module, weights = mlp, mlp._initial_weights(rng)
        x = rng.standard_normal((mlp.BATCH, mlp.SIZES[0])).astype(np.float32)
        y = rng.integers(0, mlp.SIZES[-1], mlp.BATCH)
    elif model == "cnn":
        module, weights = cnn, cnn.initial_weights(rng)
        x = rng.uniform(0, 1, (cnn.BATCH, 32, 32, 3)).astype(np.float32)
        y = rng.integers(0, 10, cnn.BATCH)
    else:
        module, weights = bilstm, bilstm.initial_weights(rng)
        x = rng.integers(1, bilstm.VOCABULARY, (bilstm.BATCH, bilstm.LENGTH))
        y = rng.integers(0, 2, (bilstm.BATCH, 1)).astype(np.float32)
    build = module.minigrad_step if library == "minigrad" else module.torch_step
    return build(weights, x, y)


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def child(library, model, steps):
    """In a fresh process: train ``steps`` steps and print the peak growth in KiB as JSON."""
    step = _training_step(library, model)
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # Linux: reset the peak (VmHWM) to the current resident size
    for _ in range(steps):
        step()
    print(json.dumps({"growth_kib": _status_kib("VmHWM") - before}))


def _growth(library, model, threads):
    code = f"from benchmarks.memory import child; child({library!r}, {model!r}, {STEPS[model]})"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env=env, cwd=root)
    return json.loads(out.stdout.strip().splitlines()[-1])["growth_kib"] * 1024


def run(threads=2):
    return Results([Result(f"(m) peak memory growth, {model} training, {steps} steps",
                           _growth("minigrad", model, threads), _growth("torch", model, threads),
                           TARGET_RATIO, unit="bytes")
                    for model, steps in STEPS.items()])
