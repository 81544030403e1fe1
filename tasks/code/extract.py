"""Pull the program out of a model completion.

As in the RLDF reference (RLDF.md C.2): the dataset ``prefix`` (which opens a ```` ```python ````
block and holds the signature and docstring) is prepended to the completion, then the **last**
```` ```python ```` block is the program. One deliberate difference: a last block that is never
closed runs to the end of the text (a generation cut off after complete code still runs; the
reference would find no block). A bare ```` ``` ```` block is used only when the text has no
```` ```python ```` block at all. No block at all gives ``None`` (the item fails without running).
"""

from __future__ import annotations

import re

_PYTHON_FENCE = re.compile(r"^[ \t]*```[ \t]*(?:python3?|py)[ \t]*$", re.MULTILINE | re.IGNORECASE)
_ANY_FENCE = re.compile(r"^[ \t]*```[^\n`]*$", re.MULTILINE)
_CLOSING_FENCE = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)


def _block_after(text: str, start: int) -> str:
    """The code from ``start`` (just after an opening fence line) to the closing fence or the end."""
    body = text[start + 1:] if text[start:start + 1] == "\n" else text[start:]
    close = _CLOSING_FENCE.search(body)
    return body[: close.start()] if close else body


def extract_program(completion: str, prefix: str = "") -> str | None:
    """The program in ``prefix + completion``: the last ```python block (see module docstring)."""
    text = prefix + completion
    opens = list(_PYTHON_FENCE.finditer(text))
    if not opens:  # fences alternate open/close: every other one opens a block
        opens = list(_ANY_FENCE.finditer(text))[0::2]
    if not opens:
        return None
    code = _block_after(text, opens[-1].end())
    return code if code.strip() else None
