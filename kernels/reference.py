"""The readable specification of every hot operation, in plain array-API code.

Each method states one formula of the notes. A backend's fast kernels (a subclass of
``Reference``) override only the methods they speed up, and are tested against these.

Notation: a batch of n examples is a matrix with one row per example.
Z = A_prev W + b is a layer's pre-activation, A = g(Z) its activation.
The notes' 1/n of the mean loss is applied once, to dZ at the output (``head_loss(...,
scale=1/n)``): backward propagation is linear in dZ, so every dW = A_prevᵀdZ and db = ΣdZ
downstream is then the gradient of the mean loss, as in the notes.

``out=`` arguments name buffers a fast kernel may write its results into (the reference
ignores them); callers always use the returned arrays.
"""

from __future__ import annotations

import math

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Reference:
    """Hot operations stated plainly; ``backend.xp`` does the arithmetic."""

    #: whether the kernels write into ``out=`` buffers (then the caller preallocates workspaces)
    in_place = False

    def __init__(self, backend, precision="fp32"):
        self.backend = backend
        self.xp = backend.xp
        self.precision = precision  # the GEMMs' arithmetic (kernels/__init__.py: PRECISIONS)
        names = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus")
        self._g = {name: getattr(self, f"g_{name}") for name in names}
        self._dg = {name: getattr(self, f"dg_{name}") for name in names}
        heads = ("sigmoid", "softmax", "identity", "poisson")
        self._loss = {name: getattr(self, f"loss_{name}") for name in heads}
        self._row_loss = {name: getattr(self, f"rows_{name}") for name in heads}
        self._out = {name: getattr(self, f"out_{name}") for name in heads}

    # ---- hidden activations: g(Z), and dZ = dA ⊙ g'(Z) -------------------------------------

    def activation(self, name, Z):
        """A = g(Z) for the activation called ``name``."""
        return self._g[name](Z)

    def activation_grad(self, name, dA, Z, A, out=None):
        """dZ = dA ⊙ g'(Z); sigmoid, tanh and ReLU read g' off A alone."""
        return self._dg[name](dA, Z, A)

    def prepare(self):
        """Per-thread set-up before a training loop (nothing for the reference)."""

    #: activations whose derivative reads A alone, so Z need not be kept once A is computed
    GRAD_FROM_A = frozenset({"identity", "sigmoid", "tanh", "relu"})

    def g_identity(self, Z):
        """g(z) = z"""
        return Z

    def dg_identity(self, dA, Z, A):
        """g'(z) = 1"""
        return dA

    def g_sigmoid(self, Z):
        """σ(z) = 1 / (1 + e^(−z)), computed from e^(−|z|) so that nothing overflows."""
        xp = self.xp
        E = xp.exp(-xp.abs(Z))
        return xp.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))

    def dg_sigmoid(self, dA, Z, A):
        """σ'(z) = σ(z)(1 − σ(z)) = A(1 − A)"""
        return dA * A * (1.0 - A)

    def g_tanh(self, Z):
        """tanh(z)"""
        return self.xp.tanh(Z)

    def dg_tanh(self, dA, Z, A):
        """tanh'(z) = 1 − tanh²(z) = 1 − A²"""
        return dA * (1.0 - A * A)

    def g_relu(self, Z):
        """relu(z) = max(z, 0)"""
        return self.xp.maximum(Z, 0.0)

    def dg_relu(self, dA, Z, A):
        """relu'(z) = 1 if z > 0 else 0 (so A > 0)"""
        return self.xp.where(A > 0, dA, 0.0)

    def g_leaky_relu(self, Z):
        """leaky_relu(z) = z if z > 0 else 0.01·z"""
        return self.xp.where(Z > 0, Z, LEAKY_SLOPE * Z)

    def dg_leaky_relu(self, dA, Z, A):
        """leaky_relu'(z) = 1 if z > 0 else 0.01"""
        return self.xp.where(Z > 0, dA, LEAKY_SLOPE * dA)

    def g_elu(self, Z):
        """elu(z) = z if z > 0 else α(e^z − 1), α = 1"""
        xp = self.xp
        return xp.where(Z > 0, Z, ELU_ALPHA * xp.expm1(xp.minimum(Z, 0.0)))

    def dg_elu(self, dA, Z, A):
        """elu'(z) = 1 if z > 0 else α e^z = A + α"""
        return self.xp.where(Z > 0, dA, dA * (A + ELU_ALPHA))

    def g_selu(self, Z):
        """selu(z) = λ·z if z > 0 else λα(e^z − 1), λ ≈ 1.0507, α ≈ 1.6733 (Klambauer et al.)"""
        xp = self.xp
        return SELU_SCALE * xp.where(Z > 0, Z, SELU_ALPHA * xp.expm1(xp.minimum(Z, 0.0)))

    def dg_selu(self, dA, Z, A):
        """selu'(z) = λ if z > 0 else λα e^z = A + λα"""
        return self.xp.where(Z > 0, SELU_SCALE * dA, dA * (A + SELU_SCALE * SELU_ALPHA))

    def g_gelu(self, Z):
        """gelu(z) = z·Φ(z) = ½ z (1 + erf(z/√2)), the exact form"""
        return 0.5 * Z * (1.0 + self.backend.erf(Z * _SQRT_HALF))

    def dg_gelu(self, dA, Z, A):
        """gelu'(z) = Φ(z) + z·φ(z), φ(z) = e^(−z²/2)/√(2π)"""
        Phi = 0.5 * (1.0 + self.backend.erf(Z * _SQRT_HALF))
        return dA * (Phi + Z * _INV_SQRT_2PI * self.xp.exp(-0.5 * Z * Z))

    def g_silu(self, Z):
        """silu(z) = z·σ(z)"""
        return Z * self.g_sigmoid(Z)

    def dg_silu(self, dA, Z, A):
        """silu'(z) = σ(z)(1 + z(1 − σ(z)))"""
        S = self.g_sigmoid(Z)
        return dA * S * (1.0 + Z * (1.0 - S))

    def g_softplus(self, Z):
        """softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^(−|z|))"""
        xp = self.xp
        return xp.maximum(Z, 0.0) + xp.log1p(xp.exp(-xp.abs(Z)))

    def dg_softplus(self, dA, Z, A):
        """softplus'(z) = σ(z)"""
        return dA * self.g_sigmoid(Z)

    # ---- a dense layer -------------------------------------------------------------------------

    def matmul(self, A, B):
        """A · B, the GEMM every dense layer's forward and backward pass makes (in the model's
        dtype here; a backend's table may round the operands, see ``precision``)."""
        return A @ B

    def dense_forward(self, name, A_prev, W, b, out=None):
        """Z = A_prev W + b, then A = g(Z). Returns (Z, A): backward needs both.
        ``out=(Z, A)`` buffers (the same one when g' reads A alone)."""
        Z = self.matmul(A_prev, W) + b
        return Z, self.activation(name, Z)

    def dense_backward(self, A_prev, dZ, W, need_dA_prev=True, out=None):
        """dW = A_prevᵀ dZ, db = Σ_rows dZ, dA_prev = dZ Wᵀ (dZ carries the 1/n).
        Returns (dW, db, dA_prev); ``out=(dW, db, dA_prev)`` buffers."""
        dW = self.matmul(A_prev.T, dZ)
        db = self.xp.sum(dZ, axis=0)
        dA_prev = self.matmul(dZ, W.T) if need_dA_prev else None
        return dW, db, dA_prev

    # ---- output heads: loss from the logits Z, and dZ = A − Y ---------------------------------

    def head_loss(self, name, Z, Y, scale=1.0, out=None):
        """(mean loss over the n rows, dZ = scale·(A − Y)) for the head called ``name``;
        ``out`` a buffer for dZ (it may be Z itself)."""
        loss, dZ = self._loss[name](Z, Y)
        return loss, dZ if scale == 1.0 else dZ * scale

    def head_loss_count(self, name, Z, Y, scale=1.0, out=None):
        """``head_loss`` and the rows the logits Z classify right (``n_correct``, counted before
        dZ may overwrite Z): (loss, dZ, correct)."""
        correct = self.n_correct(name, Z, Y)
        loss, dZ = self.head_loss(name, Z, Y, scale, out)
        return loss, dZ, correct

    def head_loss_weighted(self, name, Z, Y, w):
        """The weighted mean loss and its dZ: (L = Σᵢ rᵢℓᵢ, dZ = r ⊙ (A − Y)), r = w/Σw over the
        batch (r = 0 where every weight is 0), ℓᵢ the row's loss (``head_rows``); w = 1 gives
        ``head_loss(..., scale=1/n)``."""
        ell, D = self._row_loss[name](Z, Y)
        r = self.row_shares(w)
        return self.xp.sum(r * ell), D * r[:, None]

    def row_shares(self, w):
        """r = w/Σw, each row's share of the weighted mean (r = 0 where every weight is 0)."""
        xp = self.xp
        total = xp.sum(w)
        return w / xp.where(total > 0, total, xp.ones_like(total))

    def head_rows(self, name, Z, Y):
        """(ℓᵢ, the loss of each row summed over its outputs; A − Y) for the head ``name``."""
        return self._row_loss[name](Z, Y)

    def n_correct(self, name, Z, Y):
        """Rows the logits Z classify right (the sum of ``rows_correct``)."""
        return self.xp.sum(self.rows_correct(name, Z, Y))

    def rows_correct(self, name, Z, Y):
        """1 for each row the logits Z classify right, else 0: argmax z = y (softmax), every
        output's z ≥ 0 ⇔ y = 1 (sigmoid); 0 for the identity head."""
        xp = self.xp
        if name == "sigmoid":
            return xp.astype(xp.all((Z >= 0) == (Y > 0.5), axis=1), Z.dtype)
        if name == "softmax":
            return xp.astype(xp.argmax(Z, axis=1) == Y, Z.dtype)
        return xp.zeros((Z.shape[0],), dtype=Z.dtype)

    def head_output(self, name, Z):
        """The head's output A: probabilities (sigmoid, softmax) or values (identity)."""
        return self._out[name](Z)

    def head_output_into(self, name, Z):
        """``head_output`` written over Z (NumPy, CuPy: arrays that take ``out=``), the same
        operations: softmax as e^(z − max z) then ÷ Σ, σ from e^(−|z|)."""
        xp = self.xp
        if name == "softmax":
            xp.subtract(Z, xp.max(Z, axis=1, keepdims=True), out=Z)
            xp.exp(Z, out=Z)
            xp.divide(Z, xp.sum(Z, axis=1, keepdims=True), out=Z)
        elif name == "sigmoid":
            Z[...] = self.g_sigmoid(Z)
        return Z

    def out_sigmoid(self, Z):
        return self.g_sigmoid(Z)

    def loss_sigmoid(self, Z, Y):
        """Binary cross-entropy, mean over rows: L = (1/n) Σᵢ ℓᵢ (``rows_sigmoid``); dZ = σ(Z) − Y."""
        ell, D = self.rows_sigmoid(Z, Y)
        return self.xp.sum(ell) / Z.shape[0], D

    def rows_sigmoid(self, Z, Y):
        """Binary cross-entropy from logits per row, summed over outputs:
        ℓᵢ = Σ_k [max(z, 0) − y·z + log1p(e^(−|z|))]  (= −[y log σ(z) + (1−y) log(1−σ(z))]);
        A − Y = σ(Z) − Y."""
        xp = self.xp
        ell = xp.sum(xp.maximum(Z, 0.0) - Y * Z + xp.log1p(xp.exp(-xp.abs(Z))), axis=1)
        return ell, self.g_sigmoid(Z) - Y

    def out_softmax(self, Z):
        """softmax(z)_k = e^(z_k − max z) / Σ_j e^(z_j − max z)"""
        xp = self.xp
        E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
        return E / xp.sum(E, axis=1, keepdims=True)

    def loss_softmax(self, Z, labels):
        """Cross-entropy, mean over rows: L = (1/n) Σᵢ ℓᵢ (``rows_softmax``); dZ = softmax(Z) − onehot(y)."""
        ell, D = self.rows_softmax(Z, labels)
        return self.xp.sum(ell) / Z.shape[0], D

    def rows_softmax(self, Z, labels):
        """Cross-entropy from logits with integer labels y, per row:
        ℓᵢ = logsumexp(z) − z_y, logsumexp(z) = m + log Σ_k e^(z_k − m), m = max z;
        A − Y = softmax(Z) − onehot(y)."""
        xp = self.xp
        k = Z.shape[1]
        m = xp.max(Z, axis=1, keepdims=True)
        E = xp.exp(Z - m)
        s = xp.sum(E, axis=1, keepdims=True)
        Y = self.one_hot(labels, k, Z.dtype)
        ell = xp.reshape(m + xp.log(s) - xp.sum(Y * Z, axis=1, keepdims=True), (-1,))
        return ell, E / s - Y

    def out_identity(self, Z):
        return Z

    def loss_identity(self, Z, Y):
        """Squared error, halved, mean over rows: L = (1/n) Σᵢ ℓᵢ (``rows_identity``); dZ = Z − Y."""
        ell, D = self.rows_identity(Z, Y)
        return self.xp.sum(ell) / Z.shape[0], D

    def rows_identity(self, Z, Y):
        """Squared error, halved, per row, summed over outputs: ℓᵢ = ½‖zᵢ − yᵢ‖²; A − Y = Z − Y."""
        D = Z - Y
        return 0.5 * self.xp.sum(D * D, axis=1), D

    def out_poisson(self, Z):
        return self.xp.exp(Z)

    def loss_poisson(self, Z, Y):
        """Half the Poisson deviance, mean over rows: L = (1/n) Σᵢ ℓᵢ (``rows_poisson``); dZ = e^Z − Y."""
        ell, D = self.rows_poisson(Z, Y)
        return self.xp.sum(ell) / Z.shape[0], D

    def rows_poisson(self, Z, Y):
        """Half the Poisson deviance with the log link A = e^z (scikit-learn's ``loss="poisson"``),
        per row, summed over outputs: ℓᵢ = Σ_k y·log(y/A) − y + A = y·log y − y·z − y + A
        (y·log y = 0 at y = 0); A − Y = e^Z − Y, the canonical link's dZ. Used by the estimators,
        not an ``MLP`` output."""
        xp = self.xp
        A = xp.exp(Z)
        positive = Y > 0
        y_log_y = xp.where(positive, Y * xp.log(xp.where(positive, Y, xp.ones_like(Y))), xp.zeros_like(Y))
        return xp.sum(y_log_y - Y * Z - Y + A, axis=1), A - Y

    def smoothing_shift(self, name, Y, k, eps, dtype):
        """Label smoothing ε as a shift of the targets: C = ε·(T − 1/K), T the one-hot labels and
        K = k (softmax) or T = Y and K = 2 per output (sigmoid), so the smoothed targets
        T′ = (1 − ε)T + ε/K are T − C. For these heads the loss with T′ is the plain loss plus
        Σ_k C_k z_k per row, and dZ = A − T′ = (A − T) + C."""
        T = self.one_hot(Y, k, dtype) if name == "softmax" else Y
        return eps * (T - (1.0 / k if name == "softmax" else 0.5))

    def one_hot(self, labels, k, dtype):
        """Y[i, j] = 1 if labels[i] == j else 0."""
        xp = self.xp
        return xp.astype(labels[:, None] == xp.arange(k, dtype=labels.dtype)[None, :], dtype)

    # ---- regularisation ---------------------------------------------------------------------------

    def hash_uint32(self, x):
        """A murmur3 finaliser on uint32: x ^= x>>16; x *= 0x85ebca6b; x ^= x>>13; x *= 0xc2b2ae35;
        x ^= x>>16 (wrapping), bit-identical on every backend."""
        xp = self.xp
        x = x ^ (x >> xp.uint32(16))
        x = x * xp.uint32(0x85EBCA6B)
        x = x ^ (x >> xp.uint32(13))
        x = x * xp.uint32(0xC2B2AE35)
        return x ^ (x >> xp.uint32(16))

    def dropout_bits(self, shape, seed, step, layer, row0=0):
        """uint32 hashes of (seed, step, layer, element index (row0 + i)·k + j) for an (n, k)
        activation whose rows start at row ``row0`` of the global batch:
        key = h(seed ⊕ h(step ⊕ h(layer·0x9E3779B1 + 0x7F4A7C15))); bits = h(index·0x85EBCA77 ⊕ key)."""
        xp = self.xp
        u32 = xp.uint32

        def one(v):  # a 1-element uint32 array (array arithmetic wraps without warnings)
            return xp.reshape(xp.astype(xp.asarray(v), u32), (1,))

        key = self.hash_uint32(one(layer) * u32(0x9E3779B1) + u32(0x7F4A7C15))
        key = self.hash_uint32(one(step) ^ key)
        key = self.hash_uint32(one(seed % (1 << 32)) ^ key)
        index = xp.reshape(xp.arange(shape[0] * shape[1], dtype=u32), shape) + one(row0 * shape[1])
        return self.hash_uint32(index * u32(0x85EBCA77) ^ key)

    def dropout_mask(self, shape, seed, step, layer, keep, dtype, row0=0):
        """Inverted dropout: M = 1/keep where bits < keep·2³² (kept, probability keep), else 0."""
        xp = self.xp
        threshold = xp.uint32(min(int(keep * 2.0**32), 2**32 - 1))
        bits = self.dropout_bits(shape, seed, step, layer, row0)
        return xp.where(bits < threshold, xp.asarray(1.0 / keep, dtype=dtype), xp.asarray(0.0, dtype=dtype))

    def weight_penalty(self, p, g, mask, l1, l2):
        """On the weights (mask = 1 on W, 0 on b): L = (l2/2)·Σ W² + l1·Σ |W|;
        g ← g + l2·W + l1·sign(W). Returns (L, g)."""
        xp = self.xp
        W = p * mask
        loss = 0.5 * l2 * xp.sum(W * W) + l1 * xp.sum(xp.abs(W))
        return loss, g + l2 * W + l1 * xp.sign(W)

    # ---- flat buffers and the update ------------------------------------------------------------

    def gather(self, X, idx, out=None):
        """The rows X[idx] (a mini-batch); ``out`` a buffer for them."""
        return self.xp.take(X, idx, axis=0)

    def pack(self, arrays):
        """One flat 1-D buffer holding ``arrays`` one after the other (row-major)."""
        xp = self.xp
        return xp.concat([xp.reshape(a, (-1,)) for a in arrays])

    # ---- one optimiser step over the flat buffers (PyTorch's form unless named otherwise) -------
    # g is the mean-loss gradient, t = 1 on the first update; wd > 0 adds coupled L2: g ← g + wd·θ.
    # gs scales g first (1/ranks after an allreduce that summed the ranks' gradients).

    def step_ok(self, loss, g):
        """isfinite(L) ∧ isfinite(g·g): whether a step may be applied (a device boolean)."""
        xp = self.xp
        return xp.isfinite(loss) & xp.isfinite(_sum_of_squares(xp, g))

    def gated(self, ok, update, params, state):
        """``update()``'s (params, state) where ``ok``, else the old ones, selected per buffer."""
        xp = self.xp

        def pick(new, old):
            if isinstance(new, tuple):
                return tuple(xp.where(ok, a, b) for a, b in zip(new, old))
            return xp.where(ok, new, old)

        new_params, new_state = update()
        return pick(new_params, params), {k: pick(v, state[k]) if k in state else v for k, v in new_state.items()}

    def clip_by_global_norm(self, g, max_norm):
        """g ← g · min(1, max_norm / (‖g‖₂ + 1e-6)), the norm taken over all layers at once."""
        xp = self.xp
        factor = xp.minimum(max_norm / (xp.sqrt(_sum_of_squares(xp, g)) + 1e-6), 1.0)
        return tuple(a * factor for a in g) if isinstance(g, tuple) else g * factor

    # ---- optimiser steps: ``(p, g, slots, c)``, c the step's record (kernels/coefficients.py) -----

    def _gradient(self, p, g, c):
        """g' = gs·g + wd·θ (coupled L2)."""
        g = scaled(g, c["gs"])
        return g + c["wd"] * p if _nonzero(c["wd"]) else g

    def sgd_step(self, p, g, slots, c):
        """θ ← θ − lr·g'"""
        return p - c["lr"] * self._gradient(p, g, c), slots

    def momentum_step(self, p, g, slots, c):
        """buf ← μ·buf + damp·g' (the first step: μ = 0, damp = 1);  θ ← θ − lr·(a·g' + b·buf):
        PyTorch's momentum (a = 0, b = 1) or Nesterov (a = 1, b = μ)."""
        g = self._gradient(p, g, c)
        (buf,) = slots
        buf = c["mu"] * buf + c["damp"] * g
        return p - c["lr"] * (c["a"] * g + c["b"] * buf), (buf,)

    def sutskever_step(self, p, g, slots, c):
        """Sutskever's form (scikit-learn, Keras): v ← μv − lr·g';  θ ← θ + a·v − b·g' (a = 1,
        b = 0; Nesterov a = μ, b = lr)."""
        g = self._gradient(p, g, c)
        (v,) = slots
        v = c["mu"] * v - c["lr"] * g
        return p + c["a"] * v - c["b"] * g, (v,)

    def adagrad_step(self, p, g, slots, c):
        """s ← s + g'²;  θ ← θ − lr·g'/(√(s + ε_in) + ε_out) (lr the decayed rate)."""
        g = self._gradient(p, g, c)
        (s,) = slots
        s = s + g * g
        return p - c["lr"] * (g / (self.xp.sqrt(s + c["eps_in"]) + c["eps_out"])), (s,)

    def adadelta_step(self, p, g, slots, c):
        """E_g ← ρE_g + (1−ρ)g'²;  Δ = √(E_Δ + ε)/√(E_g + ε)·g';  E_Δ ← ρE_Δ + (1−ρ)Δ²;  θ ← θ − lr·Δ"""
        g, xp = self._gradient(p, g, c), self.xp
        Eg, Ed = slots
        rho, rest, eps = c["rho"], c["one_minus_rho"], c["eps"]
        Eg = rho * Eg + rest * g * g
        delta = xp.sqrt(Ed + eps) / xp.sqrt(Eg + eps) * g
        Ed = rho * Ed + rest * delta * delta
        return p - c["lr"] * delta, (Eg, Ed)

    def adam_step(self, p, g, slots, c):
        """θ ← θ·decay (AdamW);  m ← lerp(m, g', 1−β₁);  v ← β₂v + (1−β₂)g'²;  v̂ ← max(v̂, v)
        (AMSGrad: a v̂ slot);  θ ← θ − a·m/(√v/B + ε), a and B the bias corrections."""
        g, xp = self._gradient(p, g, c), self.xp
        m, v, vmax = slots
        if _nonzero(c["decay"] - 1.0):
            p = p * c["decay"]
        m = lerp_by(m, g, c["s_m"], c["w"])
        v = c["beta2"] * v + c["one_minus_beta2"] * g * g
        if vmax is not None:
            vmax = xp.maximum(vmax, v)
        root = xp.sqrt(v if vmax is None else vmax)
        return p - c["a"] * (m / (root / c["B"] + c["eps"])), (m, v, vmax)

    def rmsprop_step(self, p, g, slots, c):
        """v ← αv + (1−α)g'²;  r = √v + ε, or centred (a ḡ slot) ḡ ← lerp(ḡ, g', 1−α) and
        r = √(v − ḡ²) + ε;  θ ← θ − lr·g'/r, or with momentum (a buf slot) buf ← μ·buf + g'/r and
        θ ← θ − lr·buf."""
        g, xp = self._gradient(p, g, c), self.xp
        v, g_avg, buf = slots
        v = c["alpha"] * v + c["one_minus_alpha"] * g * g
        if g_avg is not None:
            g_avg = lerp_by(g_avg, g, c["s_a"], c["w"])
            avg = xp.sqrt(v - g_avg * g_avg) + c["eps"]
        else:
            avg = xp.sqrt(v) + c["eps"]
        if buf is not None:
            buf = c["mu"] * buf + g / avg
            return p - c["lr"] * buf, (v, g_avg, buf)
        return p - c["lr"] * (g / avg), (v, g_avg, buf)


def scaled(g, gs):
    """gs·g (g itself when gs = 1)."""
    return g if gs == 1.0 else g * gs


def lerp_by(a, b, s_a, w):
    """lerp(a, b, ·) from the nearer end, as PyTorch's: a + w(b − a) where s_a = 1, else
    b + w(b − a) with w = −(1 − the weight) (kernels/coefficients.py's ``lerp_coefficients``)."""
    return a + w * (b - a) if s_a == 1.0 else b + (b - a) * w


def _nonzero(x) -> bool:
    """Whether a coefficient is not 0 (True for a device value: applied, as a multiply by it)."""
    return not isinstance(x, (int, float)) or x != 0


def _sum_of_squares(xp, g):
    """Σ g² over the flat buffer, or over every leaf of a tuple of leaves."""
    if isinstance(g, tuple):
        return sum(xp.sum(a * a) for a in g)
    return xp.sum(g * g)
