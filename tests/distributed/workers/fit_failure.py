"""Run under ``mpiexec -n 2``: rank 1 fails in the third batch of fit (``raise``: a callback
raises; ``kill``: the process kills itself with SIGKILL) while rank 0 goes on into the next
collective; the job must end, with an error, instead of hanging."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import minigrad as mg  # noqa: E402
from fit_models import data, model  # noqa: E402

how = sys.argv[1]
rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))


class FailOnRankOne(mg.train.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if rank == 1 and batch == 2:
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("rank 1 fails on purpose")


x, y = data(400)
model("mlp", "sgd").fit(x, y, batch_size=4, epochs=50, verbose=0, callbacks=[FailOnRankOne()])
print(f"rank {rank} finished fit: the failure did not stop it", flush=True)
