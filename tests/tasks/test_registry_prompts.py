"""Task contracts, the lazy registry (did-you-mean, module:ATTR, entry points) and chat formats."""

from __future__ import annotations

import sys
import textwrap

import pytest

import tasks
from harness.errors import UserError
from tasks import Example, Task, UnknownTaskError, Verdict, get_task, list_tasks, register_task
from tasks import registry as reg
from tasks.prompts import MATH_INSTRUCTION, chat_wrap, math_prompt


def _task(**kw):
    base = dict(name="toy", version="1", load=lambda split=None, source=None: [], format_prompt=lambda e, f: e.question,
                verify=lambda c, e: Verdict.binary(c == e.answer, c, "eq"))
    base.update(kw)
    return Task(**base)


def test_builtin_names_are_registered_lazily():
    names = list_tasks()
    for n in ("gsm8k", "math500", "math", "countdown", "sudoku", "arithmetic", "humaneval", "mbpp", "mbpp_sanitized", "stdio_code"):
        assert n in names
    assert reg.BUILTIN["mbpp_sanitized"] == "tasks.code.mbpp:TASK_SANITIZED"
    t = get_task("gsm8k")
    assert (t.name, t.kind, t.hf_id, dict(t.local_files)) == ("gsm8k", "math", "openai/gsm8k", {"test": "gsm8k_test.json"})
    assert get_task("gsm8k") is t


def test_unknown_task_suggests_near_matches():
    with pytest.raises(UnknownTaskError) as info:
        get_task("gsm8")
    assert isinstance(info.value, UserError)
    assert "did you mean gsm8k" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UnknownTaskError, match="rldf tasks"):
        get_task("zzzzzz")


def test_module_attr_spec_from_a_test_file(tmp_path, monkeypatch):
    (tmp_path / "my_ext_task.py").write_text(textwrap.dedent(
        """
        from tasks import Example, Task, Verdict
        TASK = Task(name="echo", version="1", load=lambda split=None, source=None: [Example("a", "q", "x")],
                    format_prompt=lambda e, f: e.question, verify=lambda c, e: Verdict.binary(c == e.answer, c, "eq"))
        NOT_A_TASK = 3
        """
    ))
    monkeypatch.syspath_prepend(str(tmp_path))
    t = get_task("my_ext_task:TASK")
    assert t.name == "echo" and t.verify("x", t.load()[0]).correct
    assert register_task("my_ext_task:TASK") == "echo"
    try:
        assert get_task("echo") is t and "echo" in list_tasks()
    finally:
        reg._runtime.pop("echo", None)
        reg._cache.pop("echo", None)
        sys.modules.pop("my_ext_task", None)
    with pytest.raises(UnknownTaskError, match="not a tasks.Task"):
        get_task("my_ext_task:NOT_A_TASK")
    with pytest.raises(UnknownTaskError, match="no attribute"):
        get_task("my_ext_task:MISSING")
    with pytest.raises(UnknownTaskError, match="cannot import"):
        get_task("no_such_module_xyz:TASK")


def test_entry_point_group(monkeypatch):
    class EP:
        name, value = "plugin_toy", "tasks.arithmetic:TASK"

    monkeypatch.setattr(reg.metadata, "entry_points", lambda group: [EP()] if group == "rldf.tasks" else [])
    assert "plugin_toy" in list_tasks()
    try:
        assert get_task("plugin_toy") is get_task("arithmetic")
    finally:
        reg._cache.pop("plugin_toy", None)


def test_register_task_object():
    t = _task(name="toy_obj")
    try:
        assert register_task(t) == "toy_obj" and get_task("toy_obj") is t
    finally:
        reg._runtime.pop("toy_obj", None)
        reg._cache.pop("toy_obj", None)


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"name": "Bad Name"}, "lowercase"),
        ({"version": ""}, "set version"),
        ({"default_split": "train"}, "default_split"),
        ({"local_files": {"dev": "x.json"}}, "local_files"),
        ({"verify": None}, "callable"),
    ],
)
def test_task_validation(kw, msg):
    with pytest.raises(ValueError, match=msg):
        _task(**kw)


def test_verdict_validation_and_helpers():
    assert Verdict.unscorable("sandbox down").score is None
    assert Verdict.binary(True, "1", "ok").score == 1.0
    with pytest.raises(ValueError):
        Verdict(correct=True, score=1.5, answer=None, reason="")
    with pytest.raises(ValueError):
        Verdict(correct=None, score=0.0, answer=None, reason="")


def test_verify_many_default_and_batch():
    ex = [Example("a", "q", "x"), Example("b", "q", "y")]
    t = _task()
    assert [v.correct for v in t.verify_many(["x", "x"], ex)] == [True, False]
    with pytest.raises(ValueError):
        t.verify_many(["x"], ex)
    calls = []
    tb = _task(batch_verify=lambda cs, es: calls.append(len(cs)) or [Verdict.unscorable("n/a") for _ in cs])
    assert [v.correct for v in tb.verify_many(["x", "x"], ex)] == [None, None] and calls == [2]


def test_import_is_cheap():
    import subprocess

    code = "import sys, tasks, tasks.math; print(sorted(m for m in ('datasets', 'math_verify', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- prompts ---------------------------------------------------------------------------------


def test_chat_formats_exact():
    assert chat_wrap("Hi {x}", "llada") == (
        "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nHi {x}<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert chat_wrap("Hi", "dream", "def f():") == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\ndef f():"
    )
    assert chat_wrap("Hi", "plain") == "Hi\n"
    with pytest.raises(ValueError, match="llada"):
        chat_wrap("Hi", "gpt")


def test_math_prompt_asks_for_boxed():
    p = math_prompt("What is $1+1$?", "plain")
    assert p == MATH_INSTRUCTION + "What is $1+1$?\n" and "\\boxed{}" in p
    ex = Example("a", "What is {1}?", "2")
    assert get_task("math500").format_prompt(ex, "dream") == math_prompt("What is {1}?", "dream")


def test_public_names():
    assert {"Example", "Verdict", "Task", "get_task", "list_tasks", "UnknownTaskError"} <= set(tasks.__all__)


def test_cut_at_end_of_turn():
    from tasks.prompts import cut_at_end_of_turn

    assert cut_at_end_of_turn("a<|im_end|>b<|eot_id|>c") == "a"
    assert cut_at_end_of_turn("x<|endoftext|><|endoftext|>") == "x"
    assert cut_at_end_of_turn("no end") == "no end"


def test_load_items_generates_n_or_cuts_a_fixed_dataset_to_n():
    from tasks import Example, Task, Verdict, get_task

    def fixed(split=None, source=None):
        return [Example(id=str(i), question=f"q{i}", answer="a") for i in range(10)]

    task = Task(name="fixed_set", version="1", load=fixed, format_prompt=lambda e, f: e.question,
                verify=lambda c, e: Verdict.binary(True, c, "ok"))
    assert [e.id for e in task.load_items(n=3)] == ["0", "1", "2"] and len(task.load_items()) == 10
    arithmetic = get_task("arithmetic")
    assert len(arithmetic.load_items("train", n=7)) == 7  # generated: asked for 7, not cut from 5000
    assert arithmetic.load_items("train", n=7) == arithmetic.load("train", n=7)
