"""Data-parallel training on MPI (mpi4py) for CPU tensors and NCCL (CuPy) for GPU tensors.

Every rank holds the whole model; gradients are averaged in a few large buckets; rank 0 alone
prints and writes files (``../shared/design/ARCHITECTURE.md``).
"""
