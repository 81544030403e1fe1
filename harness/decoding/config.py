"""``SamplerConfig``: every knob of block-wise masked-diffusion decoding, validated once.

A protocol pins one of these; its fields go into the protocol hash, so two results decoded
differently can never share a leaderboard column by accident.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

REMASKING = ("static", "threshold")
SCORES = ("confidence", "margin", "neg_entropy", "random")


@dataclass(frozen=True)
class SamplerConfig:
    """Block-wise semi-autoregressive decoding settings.

    The completion is ``gen_length`` mask tokens split into blocks of ``block_length``,
    decoded left to right; inside a block masked positions are committed over several forwards.
    """

    gen_length: int = 256
    """Completion length in tokens (all positions are decoded; EOS filler pads the tail)."""
    block_length: int = 32
    """Block size; must divide ``gen_length``. ``block_length == gen_length`` = one block."""
    steps: int = 256
    """Total forward budget for ``static`` remasking, split evenly over blocks (remainder to the
    earliest blocks). Ignored by ``threshold`` remasking, whose number of forwards adapts (at most
    ``block_length`` per block); kept in the protocol hash all the same."""
    remasking: str = "threshold"
    """``static``: commit the scheduled number of top-scored positions per step (counts spread
    evenly over the block's steps, LLaDA-style); ``threshold``: commit every masked position of
    the current block whose score >= ``threshold``, and at least the best one per row per forward
    (Fast-dLLM parallel decoding)."""
    threshold: float = 0.9
    """Score threshold for ``threshold`` remasking, in (0, 1]."""
    score: str = "confidence"
    """How positions are ranked: ``confidence`` (probability of the sampled token),
    ``margin`` (top-1 minus top-2 probability), ``neg_entropy`` (exp(-entropy), so low entropy
    ranks high and the value lies in (0, 1] like the others), ``random``."""
    temperature: float = 0.0
    """0 = greedy (argmax); > 0 samples from softmax(logits / temperature)."""
    top_p: float = 1.0
    """Nucleus truncation of the sampling distribution, in (0, 1]; 1 = off."""
    top_k: int = 0
    """Keep only the k most likely tokens; 0 = off."""
    use_cache: bool = False
    """Prefix KV cache (Fast-dLLM approximation): keys/values of the prompt and finished blocks
    are computed once per block, at the block's first forward, and reused while it is decoded."""
    cache_refresh: int = 0
    """With ``use_cache``: recompute the cached prefix every this many forwards inside a block
    (0 = only at the block's first forward, Fast-dLLM's prefix cache). The cached prefix keys and
    values go stale as the block's tokens are committed; refreshing trades speed for outputs
    closer to the uncached decoder (1 = every forward: identical to it, with no saving)."""
    stop_at_eos: bool = False
    """Once a row has committed a stop token (EOS/PAD/chat end) with everything before it
    committed, fill the rest of its completion with PAD and stop spending forwards on it."""
    defer_eos: bool = False
    """LLaDA's option: EOS/chat-end predictions get the lowest score when choosing positions, so
    they are committed last. It moves code-benchmark scores; protocols must say if it is on."""
    seed: int | None = None
    """Base seed; each row draws from its own generator (see ``decode``'s ``row_seeds``)."""

    def __post_init__(self) -> None:
        def bad(field: str, value: object, fix: str) -> ValueError:
            return ValueError(f"SamplerConfig.{field}={value!r} is invalid: {fix}")

        if self.gen_length <= 0:
            raise bad("gen_length", self.gen_length, "set a positive number of tokens")
        if self.block_length <= 0 or self.gen_length % self.block_length:
            raise bad(
                "block_length", self.block_length, f"it must be positive and divide gen_length={self.gen_length}"
            )
        if self.steps < self.num_blocks:
            raise bad("steps", self.steps, f"need at least one step per block (>= {self.num_blocks})")
        if self.remasking not in REMASKING:
            raise bad("remasking", self.remasking, f"choose one of {', '.join(REMASKING)}")
        if self.score not in SCORES:
            raise bad("score", self.score, f"choose one of {', '.join(SCORES)}")
        if not 0.0 < self.threshold <= 1.0:
            raise bad("threshold", self.threshold, "it must lie in (0, 1]")
        if self.temperature < 0:
            raise bad("temperature", self.temperature, "use 0 for greedy or a positive value to sample")
        if not 0.0 < self.top_p <= 1.0:
            raise bad("top_p", self.top_p, "it must lie in (0, 1] (1 disables it)")
        if self.top_k < 0:
            raise bad("top_k", self.top_k, "use 0 to disable or a positive count")
        if isinstance(self.cache_refresh, bool) or not isinstance(self.cache_refresh, int) or self.cache_refresh < 0:
            raise bad("cache_refresh", self.cache_refresh, "use 0 (refresh only at each block's start) or a positive count")
        if self.cache_refresh and not self.use_cache:
            raise bad("cache_refresh", self.cache_refresh, "it only applies with use_cache=True; set use_cache or cache_refresh=0")

    @property
    def num_blocks(self) -> int:
        return self.gen_length // self.block_length

    def steps_per_block(self) -> list[int]:
        """Static-mode step budget of each block: even split, remainder to the earliest blocks."""
        base, rem = divmod(self.steps, self.num_blocks)
        return [base + (1 if i < rem else 0) for i in range(self.num_blocks)]

    def static_schedule(self, block: int) -> list[int]:
        """Tokens committed at each forward of ``block`` in static mode (zero-count steps dropped).

        ``block_length`` tokens spread over the block's steps, remainder to the earliest steps;
        steps that would commit nothing are skipped (they would only waste a forward).
        """
        steps = self.steps_per_block()[block]
        base, rem = divmod(self.block_length, steps)
        counts = [base + (1 if i < rem else 0) for i in range(steps)]
        return [c for c in counts if c > 0]

    def to_dict(self) -> dict:
        return asdict(self)
