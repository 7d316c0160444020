"""Run the benchmarks and print minigrad/PyTorch ratios.

    python -m benchmarks.run                         # all, on the CPU, with 2 threads
    python -m benchmarks.run --threads 1 mlp
    python -m benchmarks.run --device cuda           # on a GPU, PyTorch CUDA beside minigrad

Needs the ``bench`` and ``torch`` extras: ``pip install -e ".[bench,torch]"``; on a GPU also
CuPy (the ``gpu`` or ``gpu13`` extra) and a CUDA build of PyTorch.
"""

import argparse
import platform

from . import bilstm, cnn, cnn_bn, floors, gpu, harness, memory, mlp, mlp_layers, op_overhead

# name -> (function(device) -> result, the devices it runs on)
BENCHMARKS = {
    "mlp": (mlp.run, ("cpu", "cuda")),
    "op_overhead": (op_overhead.run, ("cpu", "cuda")),
    "memory": (lambda device: memory.run(), ("cpu",)),
    "mlp_layers": (mlp_layers.run, ("cpu", "cuda")),
    "mlp_inference": (mlp_layers.run_inference, ("cpu", "cuda")),
    "cnn": (cnn.run, ("cpu", "cuda")),
    "cnn_bn": (cnn_bn.run, ("cpu", "cuda")),
    "floors": (floors.run, ("cpu",)),    # each step's FLOP floor at NumPy's GEMM rate
    "bilstm": (bilstm.run, ("cpu", "cuda")),
    "mlp_flops": (gpu.run_mlp_flops, ("cuda",)),     # achieved FLOP/s vs CuPy's GEMM
    "cnn_speedup": (cnn.run_speedup, ("cuda",)),     # minigrad's CNN step, CPU vs GPU
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run, of {', '.join(BENCHMARKS)} (default: all that "
                             "run on the device)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both libraries")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where both libraries run (default: cpu)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    elsewhere = [name for name in args.names if args.device not in BENCHMARKS[name][1]]
    if elsewhere:
        parser.error(f"{', '.join(elsewhere)} do(es) not run on {args.device}")
    names = args.names or [name for name, (_, devices) in BENCHMARKS.items()
                           if args.device in devices]

    harness.set_threads(args.threads)
    import numpy
    import torch

    import minigrad

    print(f"threads: {args.threads}   BLAS: {harness.blas_description()}")
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, "
          f"torch {torch.__version__}, minigrad {minigrad.__version__}, {platform.machine()}")
    if args.device == "cuda":
        _check_gpu(parser, torch, minigrad)
    for name in names:
        harness.set_threads(args.threads)  # each benchmark starts from the same settings
        print(BENCHMARKS[name][0](device=args.device).line(), flush=True)


def _check_gpu(parser, torch, minigrad):
    """Refuse to run without a GPU for both libraries; print it; keep PyTorch in float32."""
    if not minigrad.cuda.is_available():
        parser.error("--device cuda: minigrad cannot use a GPU (install CuPy: the gpu or gpu13 "
                     "extra)")
    if not torch.cuda.is_available():
        parser.error("--device cuda: this PyTorch has no CUDA (install a CUDA build of torch)")
    import cupy

    # PyTorch would use TF32 tensor cores in cuDNN convolutions by default; CuPy's products
    # are plain float32, so the comparison keeps PyTorch in float32 too.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"GPU: {torch.cuda.get_device_name()}, cupy {cupy.__version__} (CUDA runtime "
          f"{cupy.cuda.runtime.runtimeGetVersion()}), torch CUDA {torch.version.cuda}, "
          "TF32 off in torch")


if __name__ == "__main__":
    main()
