"""Run the benchmarks and print minigrad/PyTorch ratios.

    python -m benchmarks.run                 # all, with 2 threads
    python -m benchmarks.run --threads 1 mlp

Needs the ``bench`` and ``torch`` extras: ``pip install -e ".[bench,torch]"``.
"""

import argparse
import platform

from . import bilstm, cnn, harness, memory, mlp, mlp_layers, op_overhead

BENCHMARKS = {"mlp": mlp.run, "op_overhead": op_overhead.run, "memory": memory.run,
              "mlp_layers": mlp_layers.run, "mlp_inference": mlp_layers.run_inference,
              "cnn": cnn.run, "bilstm": bilstm.run}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run, of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both libraries")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    harness.set_threads(args.threads)
    import numpy
    import torch

    import minigrad

    print(f"threads: {args.threads}   BLAS: {harness.blas_description()}")
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, "
          f"torch {torch.__version__}, minigrad {minigrad.__version__}, {platform.machine()}")
    for name in args.names or BENCHMARKS:
        print(BENCHMARKS[name]().line(), flush=True)


if __name__ == "__main__":
    main()
