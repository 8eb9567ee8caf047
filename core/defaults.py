"""The one table of defaults that ``MLP``, ``MLP.fit``, the scikit-learn layer's reseau options and
``reseau train`` share (the README prints it from here).

| setting | default | meaning |
|---|---|---|
| hidden | relu | hidden activation |
| init | None | He √(2/n_in) for ReLU-like layers, LeCun for SELU, Xavier √(1/n_in) otherwise |
| normalize | minmax | numeric inputs x' = (x − min)/(max − min), fitted on the training part |
| target_scaling | standard | regression targets y' = (y − μ)/σ, fitted on the training part, inverted by predict |
| impute | median | missing numbers → training median, missing categories → most frequent |
| handle_unknown | ignore | a category unseen at fit → all-zeros one-hot (with a warning) |
| optimizer | sgd | plain gradient descent θ ← θ − α·g |
| lr | 0.1 | learning rate α |
| epochs | 100 | passes over the training data |
| batch_size | 32 | mini-batch size (None: batch gradient descent) |
| hidden_layers | (16,) | hidden layer sizes, where the caller gives none (the CLI) |
| dtype | float32 | parameter and activation dtype |
| seed | 0 | initial weights, shuffles, splits |
"""

DEFAULTS = {
    "hidden": "relu",
    "init": None,
    "normalize": "minmax",
    "target_scaling": "standard",
    "impute": "median",
    "handle_unknown": "ignore",
    "optimizer": "sgd",
    "lr": 0.1,
    "epochs": 100,
    "batch_size": 32,
    "hidden_layers": (16,),
    "dtype": "float32",
    "seed": 0,
}
