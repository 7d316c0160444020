"""A fit that test_backup_and_restore.py kills with SIGKILL and starts again with the same
command: ``python _resume_fit.py BACKUP_DIR OUT SAVE_FREQ``.

Dropout, BatchNormalization, shuffling and Adam with a learning-rate schedule: every piece of
state that a resumed run must get back. Prints ``resuming`` when there is a backup, then
``epoch batch`` after each batch (the test kills it after a random number of lines), and writes
the final weights and history to OUT (npz).
"""

import os
import sys

import numpy as np

import minigrad as mg
from minigrad.train.callbacks import BackupAndRestore, Callback


class Announce(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        print(self.epoch, batch, flush=True)


def main(backup_dir, out, save_freq):
    save_freq = save_freq if save_freq == "epoch" else int(save_freq)
    if os.path.exists(os.path.join(backup_dir, "backup.safetensors")):
        print("resuming", flush=True)
    mg.manual_seed(0)
    data = np.random.default_rng(1)
    x = data.normal(size=(100, 6)).astype("float32")
    y = data.integers(0, 3, size=100)
    model = mg.train.Sequential([mg.nn.Dense(16, activation="relu"), mg.nn.Dropout(0.3),
                                 mg.nn.BatchNormalization(),
                                 mg.nn.Dense(3, activation="softmax")])
    schedule = mg.optim.ExponentialDecay(0.02, decay_steps=7, decay_rate=0.8)
    model.compile(optimizer=mg.optim.Adam(lr=schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=5, shuffle=True, seed=3, verbose=0,
                        validation_split=0.2,
                        callbacks=[BackupAndRestore(backup_dir, save_freq=save_freq),
                                   Announce()])
    result = {f"weights/{k}": v.numpy() for k, v in model.state_dict().items()}
    result.update({f"history/{k}": np.array(v) for k, v in history.history.items()})
    result["epochs"] = np.array(history.epoch)
    result["lr"] = np.array(model.optimizer.lr)
    np.savez(out + ".part.npz", **result)
    os.replace(out + ".part.npz", out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
