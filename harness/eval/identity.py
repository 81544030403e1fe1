"""Who and what a run is: model hashes, resume keys, per-row seeds, directory names, provenance.

Resume keys must change whenever the weights change, including for the trainer's *live* policy,
whose ``lm.path`` still names the checkpoint it started from. So the key's model part is a hash
of the weights in memory (``state_hash``: dtype, shape and 4096 evenly spaced values of every
tensor — a second or less even for 8B models, and any optimizer step moves the sampled values),
unless the caller passes ``weights_hash`` explicitly. The recorded ``model.weights_hash`` is
the file fingerprint of ``lm.path`` when set (``weights_fingerprint``), else the state hash.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import re
import subprocess
from pathlib import Path

import torch

SAMPLED_VALUES = 4096
KEY_HASH_CHARS = 16
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


@torch.no_grad()
def state_hash(net: torch.nn.Module) -> str:
    """A content hash of a module's current weights from a fixed sample of every tensor."""
    h = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        h.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        flat = tensor.detach().reshape(-1)
        if flat.numel() == 0:
            continue
        count = min(flat.numel(), SAMPLED_VALUES)
        idx = torch.linspace(0, flat.numel() - 1, count, device=flat.device).round().long()
        h.update(flat[idx].float().cpu().numpy().tobytes())
    return "state-sha256:" + h.hexdigest()


def short(hash_value: str) -> str:
    """The first ``KEY_HASH_CHARS`` hex digits of a (possibly ``kind:``-prefixed) hash."""
    return hash_value.rsplit(":", 1)[-1][:KEY_HASH_CHARS]


def key_prefix(model_hash: str, protocol_hash: str) -> str:
    """``"<model16>:<protocol16>:"``; a record's key is this + ``"<item_id>:<sample>"``."""
    return f"{short(model_hash)}:{short(protocol_hash)}:"


def record_key(prefix: str, item_id: str, sample: int) -> str:
    return f"{prefix}{item_id}:{sample}"


def safe_name(text: str) -> str:
    """A filesystem-safe directory name for a model argument (``org/name`` -> ``org__name``)."""
    text = str(text).strip().rstrip("/").replace("\\", "/")
    while text.startswith(("./", "/")):
        text = text[1:] if text.startswith("/") else text[2:]
    text = text.replace("/", "__")
    return _UNSAFE.sub("_", text).strip("._") or "model"


def default_model_id(argument: str) -> str:
    """Display id of a model argument: a local directory's name, else the argument (hub id, shipped name)."""
    path = Path(argument).expanduser()
    return path.resolve().name if path.is_dir() else str(argument)


@functools.lru_cache(maxsize=1)
def git_sha() -> str | None:
    """The checkout's commit (``+dirty`` when tracked files changed), or None outside git."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}+dirty" if dirty else sha


@functools.lru_cache(maxsize=1)
def packages() -> dict[str, str | None]:
    from harness.commands.version import package_versions

    return package_versions()


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
