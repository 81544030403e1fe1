"""Running sums of an estimator's gradient draws: what the lab keeps instead of R gradient copies.

Per estimator the lab holds one gradient-sized float32 sum (for the mean direction) next to the
reference gradient, and per draw only scalars: ||g_r||^2, <g_r, reference> and a count sketch of
g_r (``sketch_dim`` numbers). Every point estimate (cosines, relative variance) is exact from
these; the sketches serve only the bootstrap over draws, which needs ||mean of a resample||^2,
i.e. the draws' inner products <g_i, g_j>. A count sketch (each coordinate added, with a random
sign, to one of m buckets) estimates those without bias; the bootstrap shifts the exact
||mean||^2 by the sketched difference between resample and sample, so sketch error only widens
or narrows the interval slightly and never moves the point estimate. Memory: one float32 sum and
the reference gradient (in the parameters' dtype) next to the model and its gradient, plus R x m
floats, whatever R is (README, "Estimator lab").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from harness.seeds import generator

Grads = list[torch.Tensor]


def dot(a: Grads, b: Grads) -> float:
    """<a, b> over all parameters, accumulated in float64."""
    return float(sum(torch.dot(x.reshape(-1).double(), y.reshape(-1).double()) for x, y in zip(a, b)))


class CountSketch:
    """A fixed random map from gradients to ``dim`` numbers with E<S a, S b> = <a, b>.

    Bucket and sign of every coordinate come from generators seeded by (seed, parameter index),
    regenerated on each call so nothing gradient-sized is stored (cheap next to a backward).
    """

    def __init__(self, dim: int, seed: int = 0) -> None:
        if dim < 1:
            raise ValueError("sketch dim must be >= 1")
        self.dim, self.seed = dim, seed

    def __call__(self, grads: Grads) -> torch.Tensor:
        out = torch.zeros(self.dim, dtype=torch.float64, device=grads[0].device if grads else "cpu")
        for i, g in enumerate(grads):
            gen = generator(self.seed, "lab-sketch", i, device=g.device)
            n = g.numel()
            bucket = torch.randint(0, self.dim, (n,), generator=gen, device=g.device)
            sign = torch.randint(0, 2, (n,), generator=gen, device=g.device, dtype=torch.int8).double() * 2 - 1
            out.index_add_(0, bucket, g.reshape(-1).double() * sign)
        return out.cpu()


@dataclass
class RunningSums:
    """One estimator's R draws on the fixed batch, reduced as they arrive."""

    reference: Grads
    sketch: CountSketch
    total: Grads | None = None  # sum of the draws' gradients
    sq_norms: list[float] = field(default_factory=list)  # ||g_r||^2
    ref_dots: list[float] = field(default_factory=list)  # <g_r, reference>
    sketches: list[torch.Tensor] = field(default_factory=list)  # S g_r
    forwards: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, grads: Grads, forwards: int, seconds: float) -> None:
        if self.total is None:
            self.total = [g.detach().to(torch.float32, copy=True) for g in grads]
        else:
            for t, g in zip(self.total, grads):
                t.add_(g)
        self.sq_norms.append(dot(grads, grads))
        self.ref_dots.append(dot(grads, self.reference))
        self.sketches.append(self.sketch(grads))
        self.forwards.append(forwards)
        self.seconds.append(seconds)

    @property
    def draws(self) -> int:
        return len(self.sq_norms)

    def mean(self) -> Grads:
        """The mean gradient (the direction the usefulness step follows)."""
        if self.total is None:
            raise ValueError("no draws yet")
        return [t / self.draws for t in self.total]

    def summary(self) -> dict[str, object]:
        """The scalars the metrics need (``trainer.lab.metrics``); JSON-ready except the Gram."""
        if self.total is None:
            raise ValueError("no draws yet")
        sk = torch.stack(self.sketches)
        return {
            "draws": self.draws,
            "total_sq": dot(self.total, self.total),
            "ref_sq": dot(self.reference, self.reference),
            "sq_norms": list(self.sq_norms),
            "ref_dots": list(self.ref_dots),
            "sketch_gram": (sk @ sk.T).numpy(),
            "forwards": list(self.forwards),
            "seconds": list(self.seconds),
        }
