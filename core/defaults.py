"""The one table of defaults that ``MLP``, ``MLP.fit``, the scikit-learn layer's reseau options and
``reseau train`` share (the README prints it from here).

| setting | default | meaning |
|---|---|---|
| hidden | relu | hidden activation |
| init | None | He √(2/n_in) for ReLU-like layers, LeCun for SELU, Xavier √(1/n_in) otherwise |
| normalize | robust | numeric inputs z = (x − median)/(IQR/1.349), then z/√(1 + (z/3)²), fitted on the training part ("minmax": the notes' (x − min)/(max − min)) |
| target_scaling | standard | regression targets y' = (y − μ)/σ, fitted on the training part, inverted by predict |
| impute | median | missing numbers → training median, missing categories → most frequent |
| handle_unknown | ignore | a category unseen at fit → all-zeros one-hot (with a warning) |
| optimizer | adam | Adam (PyTorch's form); "sgd" is the notes' plain θ ← θ − α·g |
| lr | 0.003 | learning rate α (a named optimiser given without lr takes its own default) |
| schedule | cosine | with the default optimiser: α_t = α(1 + cos(πt/T))/2 over the fit's T epochs (a named optimiser: constant α unless a schedule is given) |
| l2 | auto | with the default optimiser, the L2 penalty λ = 2/n for n training rows (a fixed Gaussian prior on the weights); 0 with a named optimiser |
| epochs | 100 | passes over the training data |
| batch_size | 32 | mini-batch size (None: batch gradient descent) |
| early_stopping | 20 | ``reseau train``: stop after 20 epochs without a better val_loss, the best epoch's weights kept |
| hidden_layers | (16,) | hidden layer sizes, where the caller gives none (the CLI) |
| dtype | float32 | parameter and activation dtype |
| seed | 0 | initial weights, shuffles, splits |
"""

DEFAULTS = {
    "hidden": "relu",
    "init": None,
    "normalize": "robust",
    "target_scaling": "standard",
    "impute": "median",
    "handle_unknown": "ignore",
    "optimizer": "adam",
    "lr": 3e-3,
    "schedule": "cosine",
    "l2": "auto",
    "epochs": 100,
    "batch_size": 32,
    "early_stopping": 20,
    "hidden_layers": (16,),
    "dtype": "float32",
    "seed": 0,
}
