"""``load_model``: a checkpoint directory, hub id or shipped name -> ``DiffusionLM``.

Official LLaDA/Dream checkpoints load into the native implementations (no
``trust_remote_code``). Before any weights are read we compare the checkpoint's tensor names
and shapes (safetensors headers only) with what the config implies, so a missing or
mis-shaped tensor fails with one line naming it instead of a partly random model. Hub ids are
resolved lazily (only when asked, never at import) through ``huggingface_hub``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness.errors import UserError
from harness.models.adapters import adapter_base, apply_adapter, is_adapter_dir
from harness.models.base import DiffusionLM
from harness.models.dream import DreamConfig, DreamModel
from harness.models.llada import LLaDAConfig, LLaDAModelLM

log = logging.getLogger(__name__)

# model_type in config.json -> (family, config class, model class)
ARCHITECTURES: dict[str, tuple[str, type, type]] = {
    "llada": ("llada", LLaDAConfig, LLaDAModelLM),
    "Dream": ("dream", DreamConfig, DreamModel),
}
# Special-token names per family, used when the config does not carry an id.
MASK_TOKENS = {"llada": "<|mdm_mask|>", "dream": "<|mask|>"}
DEFAULT_MASK_IDS = {"llada": 126336, "dream": 151666}
EOT_TOKENS = ("<|eot_id|>", "<|im_end|>")
ASSETS = Path(__file__).resolve().parents[1] / "assets"
# Models shipped inside the package, addressable by name everywhere a model is taken.
SHIPPED = {"rldf-tiny": ASSETS / "rldf-tiny"}

_DTYPES = {
    "float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
}


def parse_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    """'bf16'/'bfloat16'/'fp32'/... or a torch dtype -> torch dtype; None/'auto' -> None."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return None
    if dtype not in _DTYPES:
        raise UserError(f"unknown dtype {dtype!r}; use one of: {', '.join(sorted(_DTYPES))}, auto")
    return _DTYPES[dtype]


def resolve_model_path(path_or_hub_id: str | os.PathLike, trust_remote_code: bool = False) -> Path:
    """Shipped name, local directory or hub id -> local directory holding config.json."""
    name = str(path_or_hub_id)
    if name in SHIPPED:
        path = SHIPPED[name]
        if not (path / "config.json").exists():
            raise UserError(f"shipped model '{name}' is missing at {path}; reinstall rldf or run the recipe in configs/sft/")
        return path
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UserError(f"model path {path} is a file; pass the checkpoint directory (with config.json)")
        if not (path / "config.json").exists():
            raise UserError(f"model path {path} has no config.json; pass a Hugging Face-format checkpoint directory")
        return path
    if name.count("/") == 1 and not name.startswith((".", "/", "~")):
        return _download(name, trust_remote_code)
    raise UserError(f"model '{name}' not found: not a directory, a hub id (org/name) or a shipped name ({', '.join(SHIPPED)})")


def _download(repo_id: str, trust_remote_code: bool) -> Path:
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "tokenizer*", "*.txt", "*.model", "*.jinja"]
    if trust_remote_code:
        patterns.append("*.py")
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as exc:  # the hub raises many types; all mean "not available"
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = " (HF_HUB_OFFLINE=1 and it is not in the local cache)" if offline else ""
        raise UserError(f"model '{repo_id}' could not be fetched from the hub{hint}: {type(exc).__name__}") from exc


def _checkpoint_shapes(path: Path) -> dict[str, tuple[int, ...]] | None:
    """Tensor name -> shape from safetensors headers (single file or sharded index); None if no safetensors."""
    from safetensors import safe_open

    index = path / "model.safetensors.index.json"
    if index.exists():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    elif (path / "model.safetensors").exists():
        files = ["model.safetensors"]
    else:
        return None
    shapes: dict[str, tuple[int, ...]] = {}
    for fname in files:
        fpath = path / fname
        if not fpath.exists():
            raise UserError(f"{path}: shard {fname} listed in the index is missing; re-download the checkpoint")
        try:
            with safe_open(str(fpath), framework="pt") as fh:
                for key in fh.keys():
                    shapes[key] = tuple(fh.get_slice(key).get_shape())
        except Exception as exc:  # safetensors raises its own error types for corrupt headers
            raise UserError(f"{fpath}: not a readable safetensors file ({exc})") from exc
    return shapes


def validate_checkpoint(path: Path, model_cls: type, config: Any) -> None:
    """Refuse a checkpoint whose tensors do not match the config, naming the first bad tensor."""
    found = _checkpoint_shapes(path)
    if found is None:
        return  # e.g. a .bin checkpoint: transformers will report problems itself
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in model_cls(config).state_dict().items()}
    tied = set(getattr(model_cls, "_tied_weights_keys", None) or {}) if getattr(config, "tie_word_embeddings", False) else set()
    for key, shape in expected.items():
        if key not in found:
            if key in tied:
                continue
            raise UserError(f"{path}: checkpoint is missing tensor '{key}' (expected shape {list(shape)})")
        if found[key] != shape:
            raise UserError(
                f"{path}: tensor '{key}' has shape {list(found[key])}, but config.json implies {list(shape)}"
            )
    extra = sorted(set(found) - set(expected))
    if extra:
        log.warning("%s: ignoring %d tensor(s) the architecture does not use, e.g. %s", path, len(extra), extra[0])


def weights_fingerprint(path: str | os.PathLike, full_limit: int = 256 << 20) -> str:
    """A content hash of the weights that identifies a checkpoint in results and resume keys.

    Up to ``full_limit`` bytes of weights are hashed in full ("sha256:..."); larger checkpoints
    (8B models are 16 GB) hash file sizes, headers and 64 evenly spaced 64 KiB chunks per file
    ("sampled-sha256:..."), which tells any two training checkpoints apart in seconds.
    """
    path = Path(path)
    files = sorted(p for p in path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
    if not files:
        raise UserError(f"{path}: no weight files (*.safetensors or *.bin) found")
    total = sum(p.stat().st_size for p in files)
    h = hashlib.sha256()
    full = total <= full_limit
    for p in files:
        size = p.stat().st_size
        h.update(p.name.encode() + size.to_bytes(8, "little"))
        with open(p, "rb") as fh:
            if full:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            else:
                h.update(fh.read(1 << 20))  # header + start
                for i in range(64):
                    fh.seek(int(size * i / 64))
                    h.update(fh.read(64 << 10))
    return ("sha256:" if full else "sampled-sha256:") + h.hexdigest()


def _load_tokenizer(path: Path) -> Any:
    if not any((path / f).exists() for f in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")):
        return None
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        log.warning("%s: tokenizer files present but not loadable (%s); continuing without a tokenizer", path, exc)
        return None


def _token_id(tokenizer: Any, token: str) -> int | None:
    if tokenizer is None:
        return None
    tid = tokenizer.convert_tokens_to_ids(token)
    if tid is None or (tokenizer.unk_token_id is not None and tid == tokenizer.unk_token_id):
        return None
    return int(tid)


def _first(value: Any) -> int | None:
    if isinstance(value, (list, tuple)):
        return int(value[0]) if value else None
    return None if value is None else int(value)


class _RemoteCodeNet(nn.Module):
    """Adapter for checkpoints loaded with their own code: plain forwards only.

    Remote LLaDA/Dream code has incompatible signatures for masks, positions and caches, so we
    refuse those features loudly rather than silently ignoring them.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.inner = net

    def get_input_embeddings(self) -> nn.Module:
        return self.inner.get_input_embeddings()

    def forward(self, input_ids, attention_mask=None, position_ids=None, cache=None, use_cache=False, **_):
        if cache is not None or use_cache or position_ids is not None or (
            attention_mask is not None and not bool(attention_mask.all())
        ):
            raise UserError(
                "a model loaded with trust_remote_code supports only unpadded, uncached forwards; "
                "use the native implementation (trust_remote_code=False) or set use_cache=false and batch size 1"
            )
        return self.inner(input_ids)


def load_model(
    path_or_hub_id: str | os.PathLike,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype | None = None,
    trust_remote_code: bool = False,
    base: str | None = None,
) -> DiffusionLM:
    """Load an LLaDA or Dream checkpoint as a ``DiffusionLM`` (eval mode, on ``device``).

    ``dtype`` None/"auto" keeps the checkpoint's dtype (float32 if it does not say).
    ``trust_remote_code=True`` runs the checkpoint's own modelling code instead of ours.
    A LoRA adapter directory (peft's format) loads its base — ``base``, or the one its
    ``adapter_config.json`` names — with the adapter applied (``harness.models.adapters``).
    """
    if is_adapter_dir(path_or_hub_id):
        lm = load_model(adapter_base(path_or_hub_id, base), device, dtype, trust_remote_code)
        return apply_adapter(lm, path_or_hub_id)
    path = resolve_model_path(path_or_hub_id, trust_remote_code)
    try:
        cfg_dict = json.loads((path / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path / 'config.json'}: not readable JSON ({exc})") from exc
    model_type = cfg_dict.get("model_type")
    arch = ARCHITECTURES.get(model_type) or next(
        (v for k, v in ARCHITECTURES.items() if k.lower() == str(model_type).lower()), None
    )
    if arch is None:
        raise UserError(
            f"{path / 'config.json'}: model_type {model_type!r} is not a supported diffusion LM "
            f"(supported: {', '.join(ARCHITECTURES)})"
        )
    family, config_cls, model_cls = arch
    torch_dtype = parse_dtype(dtype)
    if trust_remote_code:
        from transformers import AutoConfig, AutoModel

        config = AutoConfig.from_pretrained(str(path), trust_remote_code=True)
        inner = AutoModel.from_pretrained(str(path), trust_remote_code=True, dtype=torch_dtype or "auto")
        net: nn.Module = _RemoteCodeNet(inner)
    else:
        try:
            config = config_cls.from_pretrained(str(path))
        except (ValueError, TypeError) as exc:
            raise UserError(f"{path / 'config.json'}: {exc}") from exc
        validate_checkpoint(path, model_cls, config)
        if torch_dtype is None:
            torch_dtype = config.dtype if isinstance(config.dtype, torch.dtype) else torch.float32
        from transformers.utils import logging as hf_logging

        shown = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # our own progress display is the only one
        try:
            net = model_cls.from_pretrained(str(path), config=config, dtype=torch_dtype)
        finally:
            if shown:
                hf_logging.enable_progress_bar()
    net.to(device).eval()
    return _describe(net, config, family, path, str(path_or_hub_id))


def _describe(net: nn.Module, config: Any, family: str, path: Path, name: str) -> DiffusionLM:
    """The ``DiffusionLM`` of a loaded network: tokenizer and special ids (config first, then the
    tokenizer, then the family's defaults), and the ids no prediction may take."""
    tokenizer = _load_tokenizer(path)
    mask_id = getattr(config, "mask_token_id", None)
    if mask_id is None:
        mask_id = _token_id(tokenizer, MASK_TOKENS[family]) or DEFAULT_MASK_IDS[family]
    eos_id = _first(getattr(config, "eos_token_id", None))
    if eos_id is None and tokenizer is not None:
        eos_id = tokenizer.eos_token_id
    if eos_id is None:
        raise UserError(f"{path / 'config.json'}: no eos_token_id in the config or tokenizer; add one")
    pad_id = _first(getattr(config, "pad_token_id", None))
    if pad_id is None:
        pad_id = tokenizer.pad_token_id if tokenizer is not None and tokenizer.pad_token_id is not None else eos_id
    eot_id = next((t for t in (_token_id(tokenizer, s) for s in EOT_TOKENS) if t is not None), None)
    vocab = int(net.get_input_embeddings().weight.shape[0])
    if tokenizer is not None:
        unused = range(min(len(tokenizer), vocab), vocab)  # embedding rows no token maps to
    else:
        unused = range(int(mask_id) + 1, vocab) if family == "dream" else range(0)
    suppressed = tuple(sorted({int(mask_id), *unused}))
    return DiffusionLM(
        net=net,
        family=family,
        mask_id=int(mask_id),
        eos_id=int(eos_id),
        pad_id=int(pad_id),
        tokenizer=tokenizer,
        eot_id=eot_id,
        bos_id=_first(getattr(config, "bos_token_id", None)),
        name=name,
        path=str(path),
        suppressed_ids=suppressed,
    )
