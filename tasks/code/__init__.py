"""Code-execution tasks: a secure sandbox for model-written programs, and the tasks built on it.

- ``sandbox``: ``Sandbox().run(code) -> ExecResult`` / ``run_many`` (what it does and does not
  protect against is in its docstring); ``backends``, ``supervise``, ``slots`` and ``prelude``
  are its parts.
- ``extract``: the program inside a completion (last ```python block, dataset prefix first).
- ``checks``: splitting a ``check(candidate)`` function into one test per assert.
- ``grading``: sandbox results -> ``Verdict``s, with an injectable executor.
- ``functions``: what HumanEval and MBPP share (reference layout, prompt, program building).
- ``humaneval``, ``mbpp``, ``stdio``: the tasks (``TASK``; ``mbpp.TASK_SANITIZED``); each also has
  ``make_task(executor)`` for a task that runs programs elsewhere (or on a fake in tests).

Importing this package starts no process; the sandbox probes its backend on first use.
"""
