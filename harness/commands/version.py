"""``rldf version``: print the versions of rldf and the libraries its numbers depend on."""

from __future__ import annotations

import argparse
from importlib import metadata

PACKAGES = ("torch", "transformers", "accelerate", "datasets", "safetensors", "math-verify", "lm_eval")


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_text, description=help_text)


def package_versions() -> dict[str, str | None]:
    """Installed versions of rldf and key dependencies (None when absent); recorded in results."""
    out: dict[str, str | None] = {}
    for pkg in ("rldf-harness", *PACKAGES):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def main(args: argparse.Namespace) -> int:
    for pkg, ver in package_versions().items():
        print(f"{pkg:14s} {ver or '-'}")
    return 0
