"""The main demo: ``python -m pygrad.demo``."""
