"""Run under ``mpiexec -n N``: fit every case of fit_models with per-rank batch 4 and write what
each rank ends with to ``<out>/<case>-rank<r>.npz`` (weights) and ``.json`` (history, and the
dropout masks the rank draws after fit); the checkpoint and log callbacks write files named
after the rank, so that the test sees which ranks wrote."""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import minigrad as mg  # noqa: E402
from fit_models import CASES, PER_RANK_BATCH, fit, weights  # noqa: E402

out = sys.argv[1]
rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
for case in CASES:
    callbacks = None
    if case == "sgd":
        callbacks = [mg.train.callbacks.ModelCheckpoint(
                         os.path.join(out, f"ckpt-rank{rank}-{{epoch}}.safetensors"),
                         save_weights_only=True),
                     mg.train.callbacks.CSVLogger(os.path.join(out, f"log-rank{rank}.csv")),
                     mg.train.callbacks.BackupAndRestore(os.path.join(out, f"backup-rank{rank}"),
                                                         delete_checkpoint=False)]
    model, history = fit(case, PER_RANK_BATCH, callbacks)
    np.savez(os.path.join(out, f"{case}-rank{rank}.npz"), **weights(model))
    report = {"history": history.history, "params": history.params}
    if case == "dropout":  # masks drawn by this rank's generator after fit
        layer = model.layers[1]
        report["mask"] = (layer(mg.ones(4, 16, dtype="float64"), training=True).numpy() > 0
                          ).astype(int).tolist()
    with open(os.path.join(out, f"{case}-rank{rank}.json"), "w") as file:
        json.dump(report, file)
