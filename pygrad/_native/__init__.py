"""The compiled backend: Cython twins of ``pygrad._pure``'s kernels and engine."""
