"""The math of the network, backend-agnostic: activations, heads and losses, initialisers,
the flat parameter layout, forward and backward propagation, optimisers and the training loop.
Array work goes through a backend's ``xp`` and the kernel table; nothing here names an array library.
"""
