"""MkDocs hook: ``<!-- ops-table -->`` on a page becomes the table of supported ops, generated from
the op table at build time (``pygrad.ops._opdocs.ops_table_markdown``)."""
from __future__ import annotations

MARKER = "<!-- ops-table -->"


def on_page_markdown(markdown: str, **kwargs) -> str:
    if MARKER not in markdown:
        return markdown
    from pygrad.ops import _opdocs, optable
    return markdown.replace(MARKER, _opdocs.ops_table_markdown(optable.ALL_OPS))
