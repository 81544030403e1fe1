"""Chat formats per model family, and the math instruction, written out as literal strings.

Prompts are rendered with the exact special-token strings of each family (``specs/MODELS.md``)
rather than a tokenizer's chat template, so a prompt is a pure function of (example, family) and
can be hashed into a protocol. ``plain`` has no special tokens at all (tiny character-level
models). Templates are filled with ``str.replace``, never ``str.format``: problems contain braces.
"""

from __future__ import annotations

from tasks.base import FAMILIES

LLADA_TEMPLATE = (
    "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\n{prompt}<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)
DREAM_TEMPLATE = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
)
PLAIN_TEMPLATE = "{prompt}\n"

TEMPLATES = {"llada": LLADA_TEMPLATE, "dream": DREAM_TEMPLATE, "plain": PLAIN_TEMPLATE}

# Tokens that end the assistant turn (LLaDA, Dream); anything a model emits after one of them is
# not part of its answer (raw decodes keep generating past them).
END_OF_TURN = ("<|eot_id|>", "<|endoftext|>", "<|im_end|>")

# The reference (RLDF.md section D) asks for the final answer in \boxed{} before the problem.
MATH_INSTRUCTION = "You need to put your final answer in \\boxed{}. This is the problem:\n"


def chat_wrap(user_text: str, family: str, assistant_prefix: str = "") -> str:
    """``user_text`` as one user turn in ``family``'s chat format, then ``assistant_prefix``.

    The assistant turn is left open so the model continues right after ``assistant_prefix``
    (code tasks put the function signature there).
    """
    if family not in TEMPLATES:
        raise ValueError(f"unknown prompt family {family!r}; use one of {FAMILIES}")
    return TEMPLATES[family].replace("{prompt}", user_text) + assistant_prefix


def math_prompt(question: str, family: str) -> str:
    """The math prompt: boxed-answer instruction + problem, in ``family``'s chat format."""
    return chat_wrap(MATH_INSTRUCTION + question, family)


def cut_at_end_of_turn(completion: str) -> str:
    """``completion`` up to the first end-of-turn token (all of it when there is none)."""
    cut = min((i for i in (completion.find(t) for t in END_OF_TURN) if i >= 0), default=len(completion))
    return completion[:cut]
