"""(f) How far each training step is from its floor on the CPU: the FLOPs of its matrix products
(2 per multiply-add) divided by NumPy's float32 matrix-product rate measured in the same run
(a 2048^3 product, with the run's threads) is the step's floor; the fraction printed is that
floor over the step's time, for minigrad and PyTorch (also PyTorch with ``channels_last``
images and weights, its faster layout for convolutions on the CPU). The issue's MLP target is
a fraction >= 50% of the GEMM rate.

``python -m benchmarks.run floors`` (CPU only).
"""

import numpy as np

from . import cnn, cnn_bn, mlp
from .harness import median_time

GEMM_SIZE = 2048
# the CNN's convolutions as matrix products: (rows per image, kh*kw*C, filters); the first
# convolution's input needs no gradient
CONVOLUTIONS = ((30 * 30, 27, 32), (13 * 13, 288, 64), (4 * 4, 576, 64))
DENSE = ((1024, 64), (64, 10))


def gemm_rate(size=GEMM_SIZE, repeats=10):
    """NumPy's float32 matrix-product rate in FLOP/s (2 n^3 per product), the median after a
    warm-up."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size)).astype(np.float32) for _ in range(2))
    out = np.empty_like(a)
    seconds = median_time(lambda: np.matmul(a, b, out=out), warmup=2, repeats=repeats)
    return 2 * size ** 3 / seconds


def cnn_step_flops(batch=cnn.BATCH):
    """The CNN step's matrix-product FLOPs: per layer the forward product, the kernel's
    gradient and (but for the first) the input's; the dense layers likewise."""
    flops = 0
    for i, (rows, depth, filters) in enumerate(CONVOLUTIONS):
        flops += 2 * batch * rows * depth * filters * (3 if i else 2)
    for fan_in, fan_out in DENSE:
        flops += 2 * batch * fan_in * fan_out * 3
    return flops


def run(repeats=20, device="cpu"):
    rate = gemm_rate()
    lines = [f"(f) NumPy float32 GEMM {GEMM_SIZE}^3: {rate / 1e9:.1f} GFLOP/s"]
    models = (("mlp", mlp, mlp.train_step_flops()), ("cnn", cnn, cnn_step_flops()),
              ("cnn_bn", cnn_bn, cnn_step_flops()))
    for name, module, flops in models:
        weights, x, y = module.problem(np.random.default_rng(0))
        steps = [("minigrad", module.minigrad_step(weights, x, y)),
                 ("torch", module.torch_step(weights, x, y))]
        if module is not mlp:
            steps.append(("torch channels_last",
                          module.torch_step(weights, x, y, channels_last=True)))
        floor = flops / rate
        parts = []
        for library, step in steps:
            seconds = median_time(step, warmup=3, repeats=repeats)
            parts.append(f"{library} {seconds * 1e3:.2f} ms = {100 * floor / seconds:.0f}%")
        lines.append(f"(f) {name} step floor {floor * 1e3:.2f} ms ({flops / 1e9:.2f} GFLOP); "
                     + ", ".join(parts))
    return _Lines(lines)


class _Lines(list):
    def line(self):
        return "\n".join(self)
