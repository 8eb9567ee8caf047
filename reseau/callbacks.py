"""Callbacks for ``MLP.fit(..., callbacks=[...])``: Keras-style hooks around the training loop
(``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end``, ``on_train_end``; see
``core/callbacks.py``). A callback stops training with ``trainer.stop_training = True``."""

from .core.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    EpochSnapshot,
    GradientNorms,
    LambdaCallback,
    ProgressBar,
    Recorder,
    TensorBoard,
    Verbose,
)

__all__ = [
    "Callback",
    "LambdaCallback",
    "Recorder",
    "EarlyStopping",
    "GradientNorms",
    "CSVLogger",
    "TensorBoard",
    "Verbose",
    "ProgressBar",
    "EpochSnapshot",
]
