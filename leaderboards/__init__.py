"""Leaderboards: RunResult files -> paper tables (Markdown, LaTeX, CSV, HTML) and plots.

Reads result files only; never imports torch.
"""
