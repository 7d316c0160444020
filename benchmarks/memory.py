"""Peak memory of a training run, minigrad vs PyTorch: each library trains the MLP benchmark's
model for a number of steps in a fresh process, and the growth of the process's peak resident
memory (Linux's VmHWM, reset just before training) over its resident memory at that moment is
compared (the ratio minigrad / PyTorch). Imports, data and weights are not counted: only what
training itself needs (activations, gradients, temporaries).

``python -m benchmarks.run memory`` starts two subprocesses; Linux only.
"""

import json
import os
import subprocess
import sys

from .harness import Result

TARGET_RATIO = 1.5
STEPS = 20

_CHILD = r"""
import json, sys
import numpy as np
from benchmarks import mlp
library, steps = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
weights = mlp._initial_weights(rng)
x = rng.standard_normal((mlp.BATCH, mlp.SIZES[0])).astype(np.float32)
y = rng.integers(0, mlp.SIZES[-1], mlp.BATCH)
step = (mlp.minigrad_step if library == "minigrad" else mlp.torch_step)(weights, x, y)
def status_kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
before = status_kib("VmRSS")
with open("/proc/self/clear_refs", "w") as f:  # Linux: reset the peak (VmHWM) to the current RSS
    f.write("5")
for _ in range(steps):
    step()
print(json.dumps({"growth_kib": status_kib("VmHWM") - before}))
"""


def _growth(library, threads):
    env_threads = {"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
                   "MKL_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-c", _CHILD, library, str(STEPS)], check=True,
                         capture_output=True, text=True, env={**os.environ, **env_threads})
    return json.loads(out.stdout.strip().splitlines()[-1])["growth_kib"] * 1024


def run(threads=2):
    return Result(f"(m) peak memory growth, MLP training, {STEPS} steps",
                  _growth("minigrad", threads), _growth("torch", threads), TARGET_RATIO,
                  unit="bytes")
