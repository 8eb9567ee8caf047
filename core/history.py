"""The History of training: per-epoch records, one list per key, bounded in size."""

from __future__ import annotations

import bisect


class History(dict):
    """Per-epoch records, one list per key: "epoch", "loss" (mean of the epoch's mini-batch
    losses, penalties included), "accuracy" (the epoch's running accuracy: the rows its mini-batches
    classified right as each step computed its loss, as Keras reports it; classifiers), "val_loss" / "val_accuracy"
    (with validation data), "lr", "seconds",
    "grad_norms" (with track_gradients), "skipped_steps" (with on_divergence="skip": steps dropped
    for a non-finite loss or gradient). The epoch's loss averages the applied steps. With early
    stopping: ``best_epoch``, ``stopped_epoch`` (None if it ran to the end). At most MAX_RECORDS
    records per key: past that, older epochs are thinned ("epoch" says which are kept)."""

    best_epoch = None
    stopped_epoch = None
    #: records kept per key: beyond, the older half is thinned to every other record (the latest
    #: always kept in full), so a run of 10¹² epochs holds a bounded history
    MAX_RECORDS = 100_000

    def stopping(self, best_epoch, stopped_epoch):
        """Where early stopping found the best epoch and where it stopped (None: not stopped)."""
        self.best_epoch, self.stopped_epoch = best_epoch, stopped_epoch

    def append(self, **record):
        for key, value in record.items():
            self.setdefault(key, []).append(value)
        if len(self.get("epoch", ())) > self.MAX_RECORDS:
            self._thin()

    def _thin(self):
        """Drop every other record of the older half (records whose lists are as long as "epoch")."""
        n = len(self["epoch"])
        keep = list(range(0, n // 2, 2)) + list(range(n // 2, n))
        for key, values in self.items():
            if len(values) == n:
                self[key] = [values[i] for i in keep]

    def last(self) -> dict:
        return {key: values[-1] for key, values in self.items() if values}

    def since(self, epoch0: int) -> History:
        """A History of the records after epoch ``epoch0`` (one fit's, out of the cumulative one)."""
        out, epochs = History(), self.get("epoch", [])
        first = bisect.bisect_right(epochs, epoch0)  # epochs rise: one search, not a pass over every fit's
        for key, values in self.items():
            if len(values) == len(epochs):
                out[key] = values[first:]
        return out
