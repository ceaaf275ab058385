"""The public callables have docstrings (``python tests/scripts/docstring_coverage.py -v`` lists
the ones without)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts"))

from docstring_coverage import coverage  # noqa: E402


def test_public_callables_have_docstrings():
    documented, total, missing = coverage()
    assert total > 1000
    # All of them when this test was written; a little room for names added elsewhere meanwhile.
    assert documented / total >= 0.98, "no docstring: " + ", ".join(missing)
