"""The language model: embedding -> recurrent cell -> dense head on *every* state.

Next-token prediction, as in min-char-rnn and char-rnn: the state h_t predicts token
t+1. Same layers and parameter layout as the classifier (the head has V outputs);
the loss is the cross-entropy averaged over real (non-[PAD]) targets. `generate`
samples text from a trained model one step at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.cells import cell_module
from rnnviz.losses import softmax, softmax_cross_entropy
from rnnviz.model_base import RecurrentModel
from rnnviz.tokenizer import PAD_ID, UNK_ID


@dataclass(frozen=True)
class LMForwardResult:
    hidden: np.ndarray  # (B, T, H) state after each step
    logits: np.ndarray  # (B, T, V) z_t = h_t W_out + b_out
    proba: np.ndarray  # (B, T, V) distribution of the token after each step

    @property
    def output(self) -> np.ndarray:
        return self.proba


class RNNLanguageModel(RecurrentModel):
    """Predicts the next token from every state of the recurrent cell.

    Parameters
    ----------
    vocab_size, embed_dim, hidden_size : V, D, H (the head has V outputs).
    mask_padding : carry the state through [PAD] input steps.
    dtype : np.float32 for speed, np.float64 for exact gradient checks.
    seed : seeds the initialisation (and the dropout masks).
    init : "xavier" (default), "uniform" (the seed's), or "orthogonal".
    recurrent_gain : multiplies W_h after init (see rnnviz.init.init_recurrent).
    cell : "rnn" (the seed's tanh RNN), "gru" or "lstm".
    gate_init, t_max : a gated cell's biases: "chrono" over t_max steps (the BPTT
        window), or "zero".
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_size: int,
        mask_padding: bool = True,
        dtype=np.float32,
        seed: int = 0,
        init: str = "xavier",
        recurrent_gain: float = 1.0,
        cell: str = "rnn",
        gate_init: str = "chrono",
        t_max: int = 64,
    ) -> None:
        if vocab_size < 3:
            raise ValueError(f"a language model needs at least one real token; V={vocab_size}")
        sizes = (vocab_size, embed_dim, hidden_size, vocab_size)
        super().__init__(
            sizes, cell, mask_padding, dtype, seed, init, recurrent_gain, gate_init, t_max
        )

    @classmethod
    def from_params(
        cls, params: dict, mask_padding: bool = True, cell: str | None = None
    ) -> RNNLanguageModel:
        """A model holding copies of `params` (a checkpoint's or a snapshot's arrays); the
        cell is read from the shapes unless given."""
        V = np.shape(params["embedding"])[0] if "embedding" in params else 0
        if "W_out" in params and np.shape(params["W_out"])[1:] != (V,):
            raise ValueError(f"a language model's head must have V={V} outputs")
        return cls._from_arrays(params, cell, mask_padding=mask_padding)

    @staticmethod
    def loss_share(ids: np.ndarray, targets: np.ndarray) -> int:
        """What the loss of these rows is a mean over (rnnviz.parallel): real targets."""
        return int(np.count_nonzero(targets != PAD_ID))

    def join_parts(self, replicas: list, outputs: list, ids, weights: list) -> np.ndarray:
        """After a split batch: the parts' final states and h0 gradients (scaled by each
        part's weight in the loss) joined in batch order into this model's; returns the
        (T*B, V) time-major probabilities."""
        self.last_state = np.concatenate([r.last_state for r in replicas])
        self.dh0 = np.concatenate([r.dh0 * w for r, w in zip(replicas, weights, strict=True)])
        T, V = ids.shape[1], outputs[0].shape[1]
        return np.concatenate([o.reshape(T, -1, V) for o in outputs], axis=1).reshape(-1, V)

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(V, D, H)."""
        V, D = self.params["embedding"].shape
        return V, D, self.hidden_size

    # ------------------------------------------------------------------ forward
    def _run(
        self, ids: np.ndarray, h0, dropout: float = 0.0, output_dropout: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """ids (B, T) -> (states hs (T+1, B, H), logits (T*B, V)), time-major.

        h0 (B, S) is the start state (S = H, or 2H for the LSTM's [h, c])."""
        # Distinct tokens (a char-level batch repeats a few dozen) when the cell takes
        # them, unless input dropout needs every position's own vector.
        ids_tm, x, tokens = self._inputs(ids, dropout)  # (T, B)
        mask = ids_tm != PAD_ID if self.mask_padding else None
        hs = self.rnn.forward(x, mask, h0, tokens)  # (T+1, B, H)
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        self.last_state = self.rnn.final_state().copy()  # (B, S)
        h_out = hs[1:].reshape(T * B, H)
        self._keep_out = self._dropout_mask(h_out.shape, output_dropout, h_out.dtype)
        if self._keep_out is not None:  # only what the head sees; the recurrence is intact
            h_out = h_out * self._keep_out
        z = self.dense.forward(h_out)  # (T*B, V): one matmul for all steps
        return hs, z

    def forward(self, ids: np.ndarray, h0: np.ndarray | None = None) -> LMForwardResult:
        """Run on ids (B, T) from state h0 (B, S) (default 0): states and next-token
        distributions at every step. Keeps the final state in `last_state`."""
        hs, z = self._run(ids, h0)
        T, B = hs.shape[0] - 1, hs.shape[1]
        z = z.reshape(T, B, -1).transpose(1, 0, 2)  # (B, T, V)
        return LMForwardResult(hs[1:].transpose(1, 0, 2), z, softmax(z))

    @staticmethod
    def default_targets(ids: np.ndarray) -> np.ndarray:
        """ids shifted left by one; the last position has no next token ([PAD], ignored)."""
        ids = np.asarray(ids)
        targets = np.zeros_like(ids)
        targets[:, :-1] = ids[:, 1:]
        return targets

    # ------------------------------------------------------------------ training
    def loss_and_grads(
        self,
        ids: np.ndarray,
        targets: np.ndarray | None = None,
        h0: np.ndarray | None = None,
        dropout: float = 0.0,
        output_dropout: float = 0.0,
        return_output: bool = False,
    ):
        """Mean cross-entropy over real targets (nats/token) and its gradient.

        Parameters
        ----------
        ids : (B, T) input tokens.
        targets : (B, T) next tokens; [PAD] targets are left out of the mean. Default:
            `default_targets(ids)`.
        h0 : (B, S) initial state (default 0), e.g. the state a previous window ended in;
            S = H, or 2H for the LSTM ([h, c]).
        dropout : drop this share of the input vectors' elements (training only).
        output_dropout : drop this share of the states' elements on their way to the head.
        return_output : also return the (T*B, V) time-major probabilities.

        Returns
        -------
        (loss, grads): grads is the model's own buffer, overwritten by the next call.
        The final state is kept in `last_state` (B, S), the gradient of h0 in `dh0`.
        """
        ids = np.asarray(ids)
        targets = self.default_targets(ids) if targets is None else np.asarray(targets)
        if targets.shape != ids.shape:
            raise ValueError(f"targets {targets.shape} must match ids {ids.shape}")
        hs, z = self._run(ids, h0, dropout, output_dropout)
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        t_flat = targets.T.reshape(-1)  # (T*B,) time-major like z
        weights = (t_flat != PAD_ID).astype(z.dtype)
        loss, dz, proba = softmax_cross_entropy(z, t_flat, weights)
        dh_out = self.dense.backward(dz.astype(z.dtype, copy=False))  # (T*B, H)
        if self._keep_out is not None:
            dh_out *= self._keep_out
        dh_seq = dh_out.reshape(T, B, H)
        d_input, self.dh0 = self.rnn.backward(dh_seq=dh_seq)
        if self._keep is not None:
            d_input *= self._keep
        self.embedding.backward(d_input)
        if return_output:
            return loss, self.grads, proba
        return loss, self.grads

    def nll(self, ids: np.ndarray, targets: np.ndarray, h0=None) -> tuple[float, int, int]:
        """(summed nats, correct argmax predictions, counted targets) without gradients."""
        _, z = self._run(ids, h0)
        t_flat = np.asarray(targets).T.reshape(-1)
        real = t_flat != PAD_ID
        z -= z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1))
        picked = z[np.arange(len(t_flat)), t_flat]
        total = float(np.sum((log_norm - picked)[real], dtype=np.float64))
        correct = int(np.count_nonzero((z.argmax(axis=1) == t_flat) & real))
        return total, correct, int(real.sum())


def generate(
    model: RNNLanguageModel,
    tokenizer,
    prime: str,
    length: int,
    temperature: float = 0.8,
    top_k: int | None = None,
    seed: int | None = None,
) -> str:
    """Sample `length` tokens after `prime`; returns prime + continuation.

    Greedy (argmax) when temperature is 0. top_k keeps only the k most likely tokens.
    Unknown prime tokens map to [UNK]; [PAD] and [UNK] are never sampled.
    """
    if temperature < 0:
        raise ValueError(f"temperature cannot be negative; got {temperature}")
    if length < 0:
        raise ValueError(f"length cannot be negative; got {length}")
    p = model.params
    emb, W_out, b_out = p["embedding"], p["W_out"], p["b_out"]
    V, H = emb.shape[0], model.hidden_size
    if V <= 2:
        raise ValueError("the vocabulary has no real tokens to sample")
    step = cell_module(model.cell).step  # the cell's own recurrence, one (1, S) state
    rng = np.random.default_rng(seed)
    state = np.zeros((1, model.state_size), p["W"].dtype)
    prime_ids = [i for i in tokenizer.encode([prime])[0] if i != PAD_ID] if prime else []
    if not prime_ids:  # no context: start from the state after a "\n" (or any token)
        prime_ids = [tokenizer.vocab.get("\n", 2)]
    for i in prime_ids:
        state = step(p, state, emb[i])
    k = V - 2 if not top_k or top_k <= 0 else min(int(top_k), V - 2)
    out_ids = []
    z = np.empty(V, np.float64)
    for _ in range(length):
        z[:] = (state[:, :H] @ W_out)[0]
        z += b_out
        z[PAD_ID] = z[UNK_ID] = -np.inf
        if temperature == 0:
            nxt = int(z.argmax())
        else:
            if k < V - 2:
                cut = np.partition(z, V - k)[V - k]  # the k-th largest logit
                z[z < cut] = -np.inf
            z /= temperature
            z -= z.max()
            np.exp(z, out=z)
            cdf = np.cumsum(z)
            nxt = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
            nxt = min(nxt, V - 1)
        out_ids.append(nxt)
        state = step(p, state, emb[nxt])
    continuation = tokenizer.decode(out_ids)
    if not prime:
        return continuation
    sep = "" if tokenizer.level == "char" else " "
    return prime + sep + continuation if continuation else prime
