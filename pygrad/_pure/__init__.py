"""The pure NumPy backend: the reference that the compiled backend must match."""
