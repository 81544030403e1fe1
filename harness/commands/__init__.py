"""Subcommand modules of the ``rldf`` CLI; each exposes ``add_parser`` and ``main``.

Modules here must import heavy dependencies (torch, transformers, datasets) inside ``main``,
never at module level: the CLI imports every one of them to build ``rldf --help``.
"""
