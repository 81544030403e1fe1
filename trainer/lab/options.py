"""The options of ``rldf lab estimators`` and the sweeps it knows, importable without torch (the
CLI builds its parser from them).

Every variant is measured under the recipe's settings plus the lab's loss defaults
(``LAB_LOSS``: REINFORCE with one iteration, no KL, no entropy bonus, token normalisation), which
``--set`` may change for all variants alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import UserError

DEFAULT_ESTIMATORS = ("rldf", "trace", "all_masking", "d1", "random_masking", "coupled", "wd1")
LAB_LOSS = ("loss.num_iterations=1", "loss.beta=0", "loss.entropy_coeff=0", "loss.norm=token")
# the questions the papers argue about, as RLDF variants (``--sweep k,temperature,tau``)
SWEEPS = {
    "k": [f"rldf[k={k}]" for k in (1, 2, 4, 8)],
    "temperature": [f"rldf[rldf.step_temperature={t}]" for t in ("0", "0.5", "1", "2", "inf")],
    "tau": [f"rldf[rldf.low_prob_threshold={t}]" for t in ("0", "0.6", "1")],
}


@dataclass
class LabSettings:
    """``rldf lab estimators`` options (the recipe supplies model, task, sampler, k)."""

    prompts: int = 8
    """Prompts in the fixed batch (the recipe's rollout.prompts_per_step is replaced)."""
    group: int = 8
    """Completions per prompt (rollout.group_size)."""
    draws: int = 16
    """Draws of each estimator's randomness on the fixed batch (R)."""
    samples: int = 32
    """Usefulness: fresh completions per prompt decoded at each stepped model (0 = skip)."""
    step_size: float = 0.03
    """Usefulness: L2 norm of the whole parameter change along each normalised direction (on
    rldf-tiny, |theta| = 48: 0.03 moves reward by a few points, 0.1 either way loses 20-30)."""
    sketch_dim: int = 4096
    """Count-sketch size per draw, for the bootstrap over draws (``trainer.lab.sums``)."""
    n_boot: int = 2000
    estimators: list[str] = field(default_factory=lambda: list(DEFAULT_ESTIMATORS))

    def __post_init__(self) -> None:
        for name, value, low in (("--prompts", self.prompts, 1), ("--group", self.group, 2), ("--draws", self.draws, 2),
                                 ("--samples", self.samples, 0), ("--sketch-dim", self.sketch_dim, 1)):
            if value < low:
                raise UserError(f"{name}={value} must be >= {low}")
        if not self.step_size > 0:
            raise UserError(f"--step-size={self.step_size} must be > 0 (an L2 norm of the parameter change)")


