"""``SamplerConfig``: every knob of block-wise masked-diffusion decoding, validated once.

A protocol pins one of these; its fields go into the protocol hash, so two results decoded
differently can never share a leaderboard column by accident.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

REMASKING = ("static", "threshold", "dream")
SCORES = ("confidence", "margin", "neg_entropy", "random")
CACHES = ("none", "prefix", "dual")
SCORE_DTYPES = ("float64", "float32", "model")
# Dream's own ``alg`` names for the scores its sampler ranks by (``remasking="dream"``).
DREAM_ALGS = {"maskgit_plus": "confidence", "topk_margin": "margin", "entropy": "neg_entropy", "origin": "random"}


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
    (Fast-dLLM parallel decoding); ``dream``: Dream's own ``diffusion_generate`` sampler (one
    block, ``steps`` forwards on the timestep schedule ``linspace(1, eps, steps + 1)``; see
    ``harness/decoding/dream.py``)."""
    threshold: float = 0.9
    """Score threshold for ``threshold`` remasking, in (0, 1]."""
    score: str = "confidence"
    """How positions are ranked: ``confidence`` (probability of the sampled token),
    ``margin`` (top-1 minus top-2 probability), ``neg_entropy`` (exp(-entropy), so low entropy
    ranks high and the value lies in (0, 1] like the others), ``random``. With
    ``remasking="dream"`` these are Dream's ``alg``: maskgit_plus, topk_margin, entropy (scored
    as Dream does, sum p log p) and origin."""
    temperature: float = 0.0
    """0 = greedy (argmax); > 0 samples from softmax(logits / temperature)."""
    top_p: float = 1.0
    """Nucleus truncation of the sampling distribution, in (0, 1]; 1 = off."""
    top_k: int = 0
    """Keep only the k most likely tokens; 0 = off."""
    cache: str = "none"
    """KV cache (Fast-dLLM's approximations). ``prefix``: keys/values of the prompt and finished
    blocks are computed at the block's first forward and reused while it is decoded; later
    forwards run from the block start to the end. ``dual``: the keys/values of everything outside
    the block (prefix and the still-masked suffix) are reused, and later forwards run the block
    only. Old configs' ``use_cache: true/false`` means ``prefix``/``none``."""
    cache_refresh: int = 0
    """With ``cache="prefix"``: recompute the cached prefix every this many forwards inside a block
    (0 = only at the block's first forward, Fast-dLLM's prefix cache). The cached prefix keys and
    values go stale as the block's tokens are committed; refreshing trades speed for outputs
    closer to the uncached decoder (1 = every forward: identical to it, with no saving)."""
    stop_at_eos: bool = False
    """Once a row has committed a stop token (EOS/PAD/chat end) with everything before it
    committed, fill the rest of its completion with PAD and stop spending forwards on it."""
    defer_eos: bool = False
    """LLaDA's option: EOS/chat-end predictions get the lowest score when choosing positions, so
    they are committed last. It moves code-benchmark scores; protocols must say if it is on."""
    cfg_scale: float = 0.0
    """Classifier-free guidance (LLaDA's ``generate.py``): each forward also runs a copy with the
    prompt masked, and the logits become un + (cfg_scale + 1) * (cond - un). 0 = off."""
    eps: float = 1e-3
    """``dream`` remasking: the last timestep of Dream's schedule ``linspace(1, eps, steps + 1)``."""
    alg_temp: float = 0.0
    """``dream`` remasking: 0 = commit the top-scored positions; > 0 = draw them from
    softmax(score / alg_temp) without replacement (Dream's ``alg_temp``)."""
    score_dtype: str | None = None
    """Precision of the softmax that scores positions (and gives ``token_probs``): ``float64``
    (Fast-dLLM, Drift), ``float32``, or ``model`` (the logits' own dtype: LLaDA's ``generate.py``
    and Dream's sampler; bf16 on a bf16 model). None = the mode's reference: float64 for
    ``static``/``threshold``, ``model`` for ``dream``."""
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
            dream = ", ".join(f"{score} ({alg})" for alg, score in DREAM_ALGS.items())
            raise bad("score", self.score, f"choose one of {', '.join(SCORES)}"
                      + (f"; Dream's algs are {dream}" if self.remasking == "dream" else ""))
        if not 0.0 < self.threshold <= 1.0:
            raise bad("threshold", self.threshold, "it must lie in (0, 1]")
        if self.temperature < 0:
            raise bad("temperature", self.temperature, "use 0 for greedy or a positive value to sample")
        if not 0.0 < self.top_p <= 1.0:
            raise bad("top_p", self.top_p, "it must lie in (0, 1] (1 disables it)")
        if self.top_k < 0:
            raise bad("top_k", self.top_k, "use 0 to disable or a positive count")
        if self.cache not in CACHES:
            raise bad("cache", self.cache, f"choose one of {', '.join(CACHES)}")
        if isinstance(self.cache_refresh, bool) or not isinstance(self.cache_refresh, int) or self.cache_refresh < 0:
            raise bad("cache_refresh", self.cache_refresh, "use 0 (refresh only at each block's start) or a positive count")
        if self.cache_refresh and self.cache != "prefix":
            raise bad("cache_refresh", self.cache_refresh, "it only applies to cache='prefix'; set cache='prefix' or cache_refresh=0")
        if self.cfg_scale < 0:
            raise bad("cfg_scale", self.cfg_scale, "use 0 (off) or a positive guidance scale")
        if self.cfg_scale and self.cache != "none":
            raise bad("cfg_scale", self.cfg_scale, "guidance runs without a KV cache; set cache='none' or cfg_scale=0")
        if self.score_dtype is not None and self.score_dtype not in SCORE_DTYPES:
            raise bad("score_dtype", self.score_dtype, f"choose one of {', '.join(SCORE_DTYPES)} (or leave it unset)")
        if not 0.0 < self.eps < 1.0:
            raise bad("eps", self.eps, "Dream's last timestep must lie in (0, 1), e.g. 1e-3")
        if self.alg_temp < 0:
            raise bad("alg_temp", self.alg_temp, "use 0 (top-scored positions) or a positive temperature")
        if self.remasking == "dream":
            self._check_dream(bad)

    def _check_dream(self, bad) -> None:
        """Dream's sampler is one block with no cache, no early stop and no guidance: refuse the rest."""
        if self.block_length != self.gen_length:
            raise bad("block_length", self.block_length,
                      f"remasking='dream' decodes one block; set block_length={self.gen_length} (= gen_length)")
        for name, off in (("cache", "none"), ("stop_at_eos", False), ("defer_eos", False), ("cfg_scale", 0.0)):
            if getattr(self, name) != off:
                raise bad(name, getattr(self, name), f"Dream's sampler has no such option; set {name}={off!r} with remasking='dream'")

    @property
    def use_cache(self) -> bool:
        """Whether any KV cache is used (old configs' ``use_cache``)."""
        return self.cache != "none"

    @property
    def resolved_score_dtype(self) -> str:
        """``score_dtype``, or the mode's reference precision when it is unset."""
        return self.score_dtype or ("model" if self.remasking == "dream" else "float64")

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

    @staticmethod
    def migrate(data: dict) -> dict:
        """Map the old ``use_cache: bool`` key of a config mapping onto ``cache`` (a copy)."""
        if "use_cache" not in data:
            return data
        out = dict(data)
        old = out.pop("use_cache")
        if not isinstance(old, bool):
            raise ValueError(f"SamplerConfig.use_cache={old!r} is invalid: use true/false, or cache: none|prefix|dual")
        if "cache" in out and (out["cache"] != "none") != old:
            raise ValueError(f"SamplerConfig: use_cache={old} contradicts cache={out['cache']!r}; keep only cache")
        out.setdefault("cache", "prefix" if old else "none")
        return out
