"""What the numbers were measured on: CPU, cores, library versions and the BLAS kernel in use."""
from __future__ import annotations

import ctypes
import os
import platform
import sys

# Set on some machines so that old OpenBLAS builds pick a safe kernel; they slow a current NumPy.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def physical_cores() -> int | None:
    """Distinct (socket, core) pairs of /proc/cpuinfo; None where it cannot be read."""
    cores, socket = set(), "0"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "physical id":
                    socket = value
                elif key == "core id":
                    cores.add((socket, value))
    except OSError:
        return None
    return len(cores) or None


def machine() -> dict:
    info = {"cpu": cpu_model(), "logical_cores": os.cpu_count(), "physical_cores": physical_cores(),
            "platform": platform.platform(), "python": sys.version.split()[0]}
    try:
        info["usable_cores"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    info["openblas_overrides"] = {k: os.environ[k] for k in OPENBLAS_OVERRIDES if k in os.environ}
    return info


def _openblas_from_loaded_libraries() -> list[dict]:
    """Ask every loaded OpenBLAS which kernel it runs (what threadpoolctl does, without it)."""
    paths = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if "openblas" in os.path.basename(path).lower():
                    paths.add(path)
    except OSError:
        return []
    found = []
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for prefix, suffix in (("openblas_", ""), ("scipy_openblas_", "64_"), ("scipy_openblas_", ""),
                               ("openblas_", "64_")):
            corename = getattr(lib, f"{prefix}get_corename{suffix}", None)
            if corename is None:
                continue
            corename.restype = ctypes.c_char_p
            config = getattr(lib, f"{prefix}get_config{suffix}")
            config.restype = ctypes.c_char_p
            threads = getattr(lib, f"{prefix}get_num_threads{suffix}")
            found.append({"library": os.path.basename(path), "internal_api": "openblas",
                          "architecture": corename().decode(), "num_threads": threads(),
                          "version": config().decode()})
            break
    return found


def blas() -> dict:
    """The BLAS/OpenMP libraries loaded by NumPy (and PyTorch, if imported), and their kernels."""
    import numpy as np
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        libraries = _openblas_from_loaded_libraries()
        source = "OpenBLAS queried directly (threadpoolctl not installed)"
        if not libraries:
            config = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
            libraries = [{"library": config.get("name"), "version": config.get("version"),
                          "configuration": config.get("openblas configuration")}]
            source = "numpy.show_config (build time; the kernel chosen at run time is unknown)"
    else:
        libraries = [{k: lib.get(k) for k in ("internal_api", "version", "architecture",
                                              "threading_layer", "num_threads", "filepath")}
                     for lib in threadpool_info()]
        source = "threadpoolctl"
    return {"source": source, "libraries": libraries}


def describe_blas(info: dict) -> str:
    parts = []
    for lib in info["libraries"]:
        name = lib.get("internal_api") or lib.get("library") or "?"
        bits = [str(lib[k]) for k in ("architecture", "threading_layer") if lib.get(k)]
        if lib.get("num_threads") is not None:
            bits.append(f"{lib['num_threads']} threads")
        if not bits and lib.get("configuration"):
            bits.append(lib["configuration"])
        parts.append(f"{name} ({', '.join(bits)})" if bits else name)
    return "; ".join(parts) + f" [via {info['source']}]"


def versions() -> dict:
    import numpy as np
    import pygrad
    out = {"pygrad": pygrad.__version__, "numpy": np.__version__,
           "pygrad_backends": list(pygrad._backend.available())}
    try:
        import torch
        out["torch"] = torch.__version__
    except ImportError:
        out["torch"] = None
    return out
