"""Reference accuracies beside the RNN's: the majority class, and a bag of words.

A student should see at once whether the network beats counting words. Both are
fitted on the training split and scored on the validation split the RNN uses, from the
same token ids. The bag of words is a multinomial logistic regression on which words
a text contains (binary, sparse: index arrays), with an L2 penalty, fitted full-batch
by L-BFGS in NumPy: a few hundred milliseconds on 10k short texts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.tokenizer import PAD_ID


@dataclass(frozen=True)
class Baselines:
    majority: float | None  # validation accuracy of always answering the training majority
    bag_of_words: float | None  # validation accuracy of the bag-of-words logistic regression


def majority_accuracy(train_labels: np.ndarray, val_labels: np.ndarray) -> float:
    """Share of validation labels equal to the most frequent training label."""
    majority = np.bincount(train_labels).argmax()
    return float(np.mean(val_labels == majority))


def word_presence(ids: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """ids (N, T) -> (rows, cols) of the sparse binary matrix "text r holds word c"
    ([PAD] left out), sorted by row."""
    N = len(ids)
    keys = np.arange(N, dtype=np.int64)[:, None] * vocab_size + ids  # (N, T)
    keys = np.unique(keys[ids != PAD_ID])
    return keys // vocab_size, keys % vocab_size


class BagOfWords:
    """Multinomial logistic regression on word presence: z = x W + b.

    Parameters
    ----------
    vocab_size, num_classes : V, C.
    l2 : penalty (l2 / 2) * ||W||^2 added to the mean cross-entropy; None = 1 / N
        (scikit-learn's C=1).
    """

    def __init__(self, vocab_size: int, num_classes: int, l2: float | None = None) -> None:
        self.V, self.C, self.l2 = vocab_size, num_classes, l2
        self.W = np.zeros((vocab_size, num_classes))
        self.b = np.zeros(num_classes)

    def _scores(self, rows, cols, n: int, W, b) -> np.ndarray:
        z = np.empty((n, self.C))  # (N, C)
        for c in range(self.C):
            z[:, c] = np.bincount(rows, weights=W[cols, c], minlength=n)
        return z + b

    def fit(
        self, ids: np.ndarray, labels: np.ndarray, iterations: int = 200, progress=None
    ) -> BagOfWords:
        """`progress(fraction)`, if given, hears each L-BFGS iteration (of `iterations`)."""
        rows, cols = word_presence(ids, self.V)
        N, V, C = len(ids), self.V, self.C
        l2 = 1.0 / N if self.l2 is None else self.l2
        onehot = np.eye(C)[labels]  # (N, C)

        def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
            W, b = theta[: V * C].reshape(V, C), theta[V * C :]
            z = self._scores(rows, cols, N, W, b)
            z -= z.max(axis=1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            loss = -np.sum(onehot * log_p) / N + 0.5 * l2 * np.sum(W * W)
            dz = (np.exp(log_p) - onehot) / N  # (N, C)
            dW = np.empty((V, C))
            for c in range(C):
                dW[:, c] = np.bincount(cols, weights=dz[rows, c], minlength=V)
            dW += l2 * W
            return loss, np.concatenate([dW.ravel(), dz.sum(axis=0)])

        theta = lbfgs(loss_and_grad, np.zeros(V * C + C), iterations, progress=progress)
        self.W, self.b = theta[: V * C].reshape(V, C), theta[V * C :]
        return self

    def predict(self, ids: np.ndarray) -> np.ndarray:
        rows, cols = word_presence(ids, self.V)
        return self._scores(rows, cols, len(ids), self.W, self.b).argmax(axis=1)


def lbfgs(
    loss_and_grad, theta: np.ndarray, iterations: int, memory: int = 10, progress=None
) -> np.ndarray:
    """Minimise a smooth function by L-BFGS (two-loop recursion, backtracking line search);
    `progress(fraction)` after each iteration (of at most `iterations`), 1.0 at the end."""
    loss, grad = loss_and_grad(theta)
    s_list: list[np.ndarray] = []
    y_list: list[np.ndarray] = []
    for iteration in range(iterations):
        if progress is not None:
            progress(iteration / iterations)
        direction = -grad
        alphas = []
        for s, y in zip(reversed(s_list), reversed(y_list), strict=True):
            alpha = s @ direction / (y @ s)
            direction -= alpha * y
            alphas.append(alpha)
        if s_list:
            direction *= (s_list[-1] @ y_list[-1]) / (y_list[-1] @ y_list[-1])
        for (s, y), alpha in zip(zip(s_list, y_list, strict=True), reversed(alphas), strict=True):
            direction += s * (alpha - y @ direction / (y @ s))
        slope = grad @ direction
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_list, y_list, direction, slope = [], [], -grad, -(grad @ grad)
        step = 1.0
        while True:
            new_theta = theta + step * direction
            new_loss, new_grad = loss_and_grad(new_theta)
            if new_loss <= loss + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, y = new_theta - theta, new_grad - grad
        theta, loss, grad = new_theta, new_loss, new_grad
        if y @ s > 1e-12:
            s_list.append(s)
            y_list.append(y)
            if len(s_list) > memory:
                s_list.pop(0)
                y_list.pop(0)
        if np.abs(grad).max() < 1e-6:
            break
    if progress is not None:
        progress(1.0)
    return theta


# The bag of words is fitted on at most this many training texts and scored on at most
# this many validation texts (random, fixed seed): on a 100 MB corpus the full fit took
# minutes, and a reference line needs two digits, not the last text.
SAMPLE_LIMIT = 20_000


def _bounded(ids: np.ndarray, labels: np.ndarray, limit: int, rng: np.random.Generator):
    """At most `limit` rows of (ids, labels), a random subset in their order when larger."""
    if len(ids) <= limit:
        return ids, labels
    keep = np.sort(rng.choice(len(ids), size=limit, replace=False))
    return ids[keep], labels[keep]


def compute_baselines(
    train_ids: np.ndarray,
    train_labels: np.ndarray,
    val_ids: np.ndarray,
    val_labels: np.ndarray,
    vocab_size: int,
    num_classes: int,
    sample_limit: int = SAMPLE_LIMIT,
    progress=None,
) -> Baselines:
    """Both baselines on one split (None without validation examples). The majority is
    exact; the bag of words uses at most `sample_limit` texts of each split.
    `progress(fraction)` hears the bag of words' fit, iteration by iteration."""
    if len(val_ids) == 0:
        if progress is not None:
            progress(1.0)
        return Baselines(None, None)
    majority = majority_accuracy(train_labels, val_labels)
    rng = np.random.default_rng(0)
    fit_ids, fit_labels = _bounded(train_ids, train_labels, sample_limit, rng)
    score_ids, score_labels = _bounded(val_ids, val_labels, sample_limit, rng)
    model = BagOfWords(vocab_size, num_classes).fit(fit_ids, fit_labels, progress=progress)
    return Baselines(majority, float(np.mean(model.predict(score_ids) == score_labels)))
