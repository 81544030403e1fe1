"""The CLI shell: help is fast and torch-free; errors are one line."""

from __future__ import annotations

import subprocess
import sys


def test_help_and_parser_do_not_import_torch():
    code = "import sys, harness.cli as c; c.build_parser(); print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_version_lists_key_packages(capsys):
    from harness.cli import main

    assert main(["version"]) == 0
    out = capsys.readouterr().out
    assert "rldf-harness" in out and "torch" in out and "transformers" in out
