"""``TrainConfig``: every setting of an RL run, one dataclass per concern, validated.

Loaded from YAML (``configs/train/*.yaml``) with ``--set section.field=value`` overrides
(``harness.config_io``). Defaults mirror the reference's ``default.yaml`` (RLDF.md A.9) where it
has the setting: beta 0.01 (k3), sample normalisation, k = 4, tau_p = 0.6. Weight decay stays 0,
as in the LLaDA recipes, because ``OptimConfig`` is shared with SFT. The shipped recipes in
``configs/train/`` set every value explicitly. The resolved config is saved with every run and
checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.decoding.config import SamplerConfig
from trainer.estimators.coupled import CoupledSettings
from trainer.estimators.d1 import PromptMaskSettings
from trainer.estimators.random_masking import RandomMaskingSettings
from trainer.estimators.rldf import RLDFSettings
from trainer.estimators.trace import TraceSettings
from trainer.lora import LoRAConfig
from trainer.optim import OptimConfig

LOSS_NORMS = ("token", "sample")
KL_TYPES = ("k1", "k2", "k3")


@dataclass
class ModelConfig:
    path: str = "rldf-tiny"
    """Policy initialisation: checkpoint directory, hub id or shipped name."""
    dtype: str = "float32"
    """Storage dtype of everything the optimizer does not update: the frozen KL reference, the
    rollout copy under FSDP and the exported checkpoint weights (the model's published dtype:
    bfloat16 for LLaDA-8B and Dream-7B). Trainable weights are always float32 master weights
    (trainer/precision.py says why); the compute dtype is run.mixed_precision."""
    gradient_checkpointing: bool = False
    trust_remote_code: bool = False
    lora: LoRAConfig | None = None
    """LoRA adapters (peft) instead of full fine-tuning: {r, alpha, dropout, target_modules, bias};
    null = full fine-tuning. ``--set model.lora.r=8`` turns it on with defaults for the rest."""


@dataclass
class DataConfig:
    task: str = "arithmetic"
    """Reward task (registry name or 'pkg.module:TASK')."""
    split: str = "train"
    source: str | None = None
    """Data source for the task (file, directory, 'hf:<id>'); None = the task's default."""
    n: int | None = None
    """Number of training items to load (generated tasks) / keep (None = all)."""
    template: str = "auto"
    """Prompt family: auto (the model's family when its tokenizer has a chat template, else plain),
    llada, dream or plain."""
    eval_sets: list[str] = field(default_factory=list)
    """Evaluation sets ('task' or 'task:split') whose items are removed from the training data.
    The run's eval tasks are always included."""
    allow_contaminated: bool = False
    """Keep training items that also appear in an eval set (not recommended)."""

    def __post_init__(self) -> None:
        if self.template not in ("auto", "llada", "dream", "plain"):
            raise ValueError(f"data.template={self.template!r}: choose auto, llada, dream or plain")


@dataclass
class RolloutConfig:
    prompts_per_step: int = 8
    """Global number of prompts per optimizer step (split across processes)."""
    group_size: int = 4
    """Completions per prompt (G); advantages are computed within a group."""
    batch_size: int = 32
    """Generation micro-batch (rows decoded together)."""
    sampler: SamplerConfig = field(
        default_factory=lambda: SamplerConfig(
            gen_length=256, block_length=32, steps=256, remasking="threshold", threshold=0.9,
            temperature=1.0, cache="prefix",
        )
    )

    def __post_init__(self) -> None:
        if self.prompts_per_step <= 0 or self.group_size < 2 or self.batch_size <= 0:
            raise ValueError(
                "rollout: prompts_per_step and batch_size must be positive and group_size >= 2 "
                "(advantages compare completions of the same prompt)"
            )


@dataclass
class AdvantageConfig:
    scale_by_std: bool = True
    """A = (r - mean) / max(std + 1e-8, std_floor) (GRPO); false: A = r - mean (d1 / Dr.GRPO)."""
    std_floor: float = 1e-2
    max_groups: int | None = None
    """Keep at most this many groups per process per step (reference 'batch_size_lm'): groups with
    reward variance first, then all-correct, then all-wrong ones with the longest trajectories."""
    skip_zero_advantage: bool = False
    """Drop samples whose advantage is exactly 0 before the estimator forwards (DAPO-style dynamic
    sampling): they carry no policy gradient, only cost. Applies only without KL and entropy terms,
    and changes the loss normaliser (the reference keeps them, diluting the average)."""


@dataclass
class EstimatorConfig:
    """Which estimator, its forward budget, and each estimator's own settings (defined in its file)."""

    name: str = "rldf"
    """rldf | trace | all_masking | d1 | random_masking | coupled | wd1 (one file each in trainer/estimators)."""
    k: int = 4
    """Forwards per update: scheduled steps (rldf), random masks (random_masking)."""
    train_on_stop: bool = True
    """Count each completion's first stop token as a valid position, so the model gets gradient
    on where to stop (the reference treats it as padding when EOS == PAD)."""
    rldf: RLDFSettings = field(default_factory=RLDFSettings)
    random_masking: RandomMaskingSettings = field(default_factory=RandomMaskingSettings)
    d1: PromptMaskSettings = field(default_factory=PromptMaskSettings)
    wd1: PromptMaskSettings = field(default_factory=PromptMaskSettings)
    coupled: CoupledSettings = field(default_factory=CoupledSettings)
    trace: TraceSettings = field(default_factory=TraceSettings)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"estimator.k={self.k} must be >= 1")


@dataclass
class LossConfig:
    num_iterations: int = 1
    """1 = REINFORCE (ratio 1); > 1 = PPO-clip with old log-probs computed on the same masked inputs."""
    clip_eps_low: float = 0.2
    clip_eps_high: float = 0.2
    beta: float = 0.01
    """KL coefficient to a frozen copy of the initial policy (0 = no reference model)."""
    kl_type: str = "k3"
    entropy_coeff: float = 0.0
    """With a reference model: c * |H_ref - H|; without: c * H (positive c lowers entropy)."""
    norm: str = "sample"
    """token: sum over loss positions / their count; sample: mean over samples of per-sample means."""

    def __post_init__(self) -> None:
        if self.num_iterations < 1:
            raise ValueError("loss.num_iterations must be >= 1")
        if self.kl_type not in KL_TYPES:
            raise ValueError(f"loss.kl_type={self.kl_type!r}: choose one of {', '.join(KL_TYPES)}")
        if self.norm not in LOSS_NORMS:
            raise ValueError(f"loss.norm={self.norm!r}: choose token or sample")
        if self.beta < 0 or self.clip_eps_low < 0 or self.clip_eps_high < 0:
            raise ValueError("loss.beta and the clip epsilons must be >= 0")


@dataclass
class EvalConfig:
    every: int = 0
    """Evaluate every N optimizer steps (0 = never; always once at the end if tasks are set)."""
    every_seconds: float | None = None
    """Also evaluate each time training time crosses a multiple of this (wall-clock budgets)."""
    tasks: list[str] = field(default_factory=list)
    protocol: str | None = None
    limit: int | None = None
    at_start: bool = False
    """Also evaluate before the first update."""
    at_end: bool = True
    """Evaluate the final policy (unless the last step was just evaluated)."""


@dataclass
class RunConfig:
    max_steps: int = 100
    max_seconds: float | None = None
    """Wall-clock budget for training (evaluations excluded); checkpoint and stop when spent."""
    seed: int = 2026
    save_every: int = 0
    """Checkpoint every N steps (0 = only at the end)."""
    keep_best: int = 1
    """Checkpoints kept for their eval score, besides the latest."""
    log_every: int = 1
    tensorboard: bool = False
    log_rollouts: bool = False
    """Write every completion of every step (text, token ids, step map, token probabilities,
    reward) to ``OUT/rollouts/step-NNNNNN.rankR.jsonl``."""
    mixed_precision: str = "no"
    """Compute dtype: no (float32) | bf16 | fp16. The optimizer always updates float32 master
    weights; bf16 applies through autocast (one process, DDP), FSDP2's MixedPrecisionPolicy
    (param_dtype=bf16, reduce_dtype=float32) or DeepSpeed's bf16 mode."""

    def __post_init__(self) -> None:
        if self.max_steps < 0:
            raise ValueError("run.max_steps must be >= 0")
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ValueError("run.mixed_precision must be no, bf16 or fp16")


@dataclass
class TrainConfig:
    """An RL run: model, data, rollout, advantages, estimator, loss, optimizer, evaluation, run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    advantage: AdvantageConfig = field(default_factory=AdvantageConfig)
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        from trainer.estimators import ESTIMATORS

        if self.estimator.name not in ESTIMATORS:
            import difflib

            close = difflib.get_close_matches(self.estimator.name, list(ESTIMATORS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"estimator.name={self.estimator.name!r} is unknown{hint}; choose one of {', '.join(ESTIMATORS)}")
        from trainer.estimators import get_estimator

        if get_estimator(self.estimator.name).ratio_free and self.loss.num_iterations > 1:
            raise ValueError(f"{self.estimator.name} is ratio-free: set loss.num_iterations=1")
