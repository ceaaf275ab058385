"""Benchmarks of pygrad: the workloads W1-W6 and a harness comparing pygrad with PyTorch and NumPy.

``python -m pygrad.bench --help`` runs the harness; the asv suite in ``asv_bench/`` and the
tests import the same workloads from :mod:`pygrad.bench.workloads`.
"""
