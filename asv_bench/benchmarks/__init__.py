"""asv benchmarks of pygrad: the compiled ("native") backend against the pure NumPy fallback."""
import warnings

# Without the compiled modules pygrad warns once and runs pure; the "native" cases skip instead.
warnings.filterwarnings("ignore", message="pygrad's compiled modules are not available")
