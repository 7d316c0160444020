"""A job whose rank 1 fails in the way named by argv[1] while the other ranks go on into an
allreduce: ``raise`` (an uncaught exception), ``kill`` (SIGKILL: no Python left to say
anything), ``exit`` (sys.exit(3) without a word), ``hang`` (rank 1 stops calling collectives;
the others wait in vain). Every case must end the whole job, non-zero, in bounded time: the
last two through the collective timeout, ``argv[2]`` seconds, set after the first barrier (so
that a rank slow to start on a busy machine is not taken for a hung one)."""

import os
import signal
import sys
import time

import numpy as np

import minigrad.distributed as dist

mode = sys.argv[1]
world = dist.init()
dist.barrier()
if len(sys.argv) > 2:
    world.comm.timeout = float(sys.argv[2])
if world.rank == 1:
    if mode == "raise":
        raise RuntimeError("rank 1 fails on purpose")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "exit":
        sys.exit(3)
    if mode == "hang":
        time.sleep(600)
dist.allreduce_array(np.ones(4))
print(f"rank {world.rank} got past the allreduce", flush=True)
