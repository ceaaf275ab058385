"""The benchmark workloads compute the right gradients, the harness runs and reports, asv accepts the suite."""
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pygrad
from pygrad.bench import __main__ as cli
from pygrad.bench import report, runner
from pygrad.bench.workloads import WORKLOADS, GradientMismatch

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = pygrad._backend.available()
CASES = [(key, size) for key, w in WORKLOADS.items() for size in w.quick_sizes]
CASE_IDS = [f"{key}-{WORKLOADS[key].label(size)}" for key, size in CASES]


def _run_on(m, workload, arrays):
    state = workload.build(m, arrays)
    workload.forward_backward(m, state)
    return workload.grads(state)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key,size", CASES, ids=CASE_IDS)
def test_pygrad_gradients_match_numpy_reference(key, size, backend):
    workload = WORKLOADS[key]
    missing = workload.missing(pygrad)
    if missing:
        pytest.skip(f"pygrad lacks {', '.join(missing)}")
    arrays = workload.inputs(size)
    with pygrad._backend.use(backend):
        grads = _run_on(pygrad, workload, arrays)
    workload.check(grads, workload.reference(arrays), backend)


@pytest.mark.parametrize("key,size", CASES, ids=CASE_IDS)
def test_numpy_reference_matches_torch_float64(key, size, torch):
    """The hand-written backward is itself right: torch's autograd in float64 agrees with it."""
    workload = copy.copy(WORKLOADS[key])
    workload.dtype = "float64"
    arrays = workload.inputs(size)
    workload.check(_run_on(torch, workload, arrays), workload.reference(arrays), "torch")


@pytest.mark.parametrize("key,size", CASES, ids=CASE_IDS)
def test_numpy_version_in_workload_dtype_matches_reference(key, size):
    workload = WORKLOADS[key]
    arrays = workload.inputs(size)
    state = workload.numpy_build(arrays, workload.dtype)
    workload.check(workload.numpy_forward_backward(state), workload.reference(arrays), "numpy")
    workload.numpy_step(state)  # the timed step runs too


def _graph_nodes(output) -> int:
    """Backward nodes reachable from ``output``, leaves' AccumulateGrad excluded (iterative walk)."""
    seen, stack = set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(child for child, _ in node.next_functions)
    return sum(1 for node in seen if type(node).__name__ != "AccumulateGrad")


@pytest.mark.parametrize("key", ["W1", "W2", "W5"])
def test_unit_counts_are_the_graph_sizes(key):
    workload = WORKLOADS[key]
    size = workload.quick_sizes[0]
    state = workload.build(pygrad, workload.inputs(size))
    out = workload.forward_backward(pygrad, state)
    extra = 1 if key == "W2" else 0  # W2 counts its 100 chain ops, not the final sum
    assert _graph_nodes(out) == workload.count(size) + extra
    if key == "W1":
        assert workload.count(size) == 642


def test_gradient_mismatch_is_reported():
    workload = WORKLOADS["W3"]
    arrays = workload.inputs(1000)
    reference = workload.reference(arrays)
    wrong = [reference[0].astype(np.float32) * np.float32(1.01)]
    with pytest.raises(GradientMismatch, match="W3 pure: gradient 0 differs"):
        workload.check(wrong, reference, "pure")
    with pytest.raises(GradientMismatch, match="dtype float64"):
        workload.check(reference, reference, "pure")


def test_harness_worker_stops_on_wrong_gradients(tmp_path, monkeypatch, capsys):
    workload = WORKLOADS["W2"]
    real = type(workload).grads
    monkeypatch.setattr(type(workload), "grads", lambda self, state: [g * 2 for g in real(self, state)])
    out = tmp_path / "records.json"
    code = cli.main(["--worker", str(out), "--threads", "1", "--workloads", "W2",
                     "--libraries", "pygrad-pure", "--quick"])
    assert code == 3
    assert "gradient check failed: W2 pygrad-pure" in capsys.readouterr().err
    assert not out.exists()


def _harness(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pygrad.bench", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def test_harness_quick_prints_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = _harness("--quick", "--threads", "1", "--workloads", "W2,W3,W4", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "| " + " | ".join(report.TIMING_COLUMNS) + " |" in text
    assert "| " + " | ".join(report.RATIO_COLUMNS) + " |" in text
    assert "- machine: " in text and "- BLAS at 1 thread(s): " in text
    doc = json.loads(out.read_text())
    ok = {(r["workload"], r["label"], r["library"]) for r in doc["records"] if r["status"] == "ok"}
    for backend in BACKENDS:
        assert ("W2", "100", f"pygrad-{backend}") in ok
        assert f"| W2 | 100 | 1 | on | pygrad-{backend} |" in text
    assert ("W3", "100,000", "numpy") in ok and ("W3", "100,000", runner.FLOOR) in ok
    assert ("W4", "batch 64", "numpy") in ok
    assert all(r["threads"] == 1 for r in doc["records"])
    for r in doc["records"]:
        if r["status"] == "ok":
            assert 0 < r["min"] <= r["median"] and r["iqr"] >= 0 and len(r["samples"]) >= 3
            assert r["per_unit"] == pytest.approx(r["median"] / r["count"])
    floors = [r for r in doc["records"] if r["library"] == runner.FLOOR]
    assert floors[0]["bandwidth_bytes_per_s"] > 0
    ratios = {(q["workload"], q["ratio"]) for q in doc["ratios"]}
    assert ("W3", "numpy/floor") in ratios and ("W3", "pure/floor") in ratios
    if "pygrad-native" not in {r["library"] for r in doc["records"] if r["status"] == "ok"}:
        assert "W2 on pygrad-native: the native backend is not built" in text
    if pygrad._backend.available() and WORKLOADS["W4"].missing(pygrad):
        assert "W4 on pygrad-pure: pygrad lacks Tensor.__matmul__" in text


def test_harness_json_to_stdout():
    proc = _harness("--quick", "--threads", "1", "--workloads", "W5", "--libraries", "pygrad-pure,numpy", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # nothing but the JSON document on stdout
    assert doc["meta"]["quick"] is True and doc["meta"]["threads"] == [1]
    records = {r["library"]: r for r in doc["records"]}
    assert set(records) == {"pygrad-pure", "numpy"}
    for r in records.values():
        assert r["status"] == "ok" and r["unit"] == "op" and r["count"] == 2000
        assert r["peak_bytes"] >= 0 and r["peak_method"] in ("rss", "tracemalloc")
    assert doc["ratios"] == []  # no pair of pure, native and torch ran


def test_harness_times_with_the_collector_on_by_default_and_off_on_request():
    proc = _harness("--quick", "--threads", "1", "--workloads", "W5", "--libraries", "pygrad-pure,numpy",
                    "--gc", "both", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["meta"]["gc"] == "both"
    assert sorted((r["library"], r["gc"]) for r in doc["records"]) == [
        ("numpy", "off"), ("numpy", "on"), ("pygrad-pure", "off"), ("pygrad-pure", "on")]
    assert cli.parse_args([]).gc == "on"


def test_targets_report_the_measured_ratios_and_bytes_per_op():
    def rec(library, median, **extra):
        return {"workload": "W5", "label": "2,000", "threads": 1, "gc": "on", "library": library,
                "status": "ok", "median": median, "min": median, "iqr": 0.0, "count": 2000, "unit": "op",
                "per_unit": median / 2000, **extra}
    records = [rec("pygrad-native", 1.0, peak_bytes=2000 * 700), rec("pygrad-pure", 5.0), rec("torch", 1.5),
               dict(rec("torch", 0.1), gc="off")]
    found = {(t["target"], round(t["value"], 6), t["met"]) for t in report.targets(records)}
    assert found == {("native/torch per op", round(1 / 1.5, 6), False), ("native/pure", 0.2, True),
                     ("native bytes per op", 700, False)}
    text = report.markdown(records, {"machine": {"cpu": "x", "logical_cores": 2, "platform": "p", "python": "3",
                                                 "openblas_overrides": {}},
                                     "versions": {"numpy": "1", "torch": "2", "pygrad": "0", "pygrad_backends": []},
                                     "blas": {}, "quick": True, "gc": "on"})
    assert "| native bytes per op | W5 | 2,000 | 700 | ≤ 600 | **missed** |" in text
    assert "garbage collector on, as programs run" in text


def test_targets_of_large_tensors_use_the_copy_floor_pure_unfused_and_torch():
    def rec(workload, library, median):
        return {"workload": workload, "label": "1e6", "threads": 1, "gc": "on", "library": library,
                "status": "ok", "median": median, "min": median, "iqr": 0.0, "count": 1, "unit": "step",
                "per_unit": median}
    records = [rec("W3", "pygrad-native", 0.9), rec("W3", runner.FLOOR, 0.25), rec("W3", "pygrad-pure", 4.0),
               rec("W3", "torch", 5.0), rec("W6", "pygrad-native", 12.0), rec("W6", "pygrad-unfused", 90.0),
               rec("W6", "torch", 37.0)]
    found = {(t["target"], t["workload"], round(t["value"], 6), t["met"]) for t in report.targets(records)}
    assert found == {("native/copy floor", "W3", 3.6, False), ("native/pure", "W3", 0.225, False),
                     ("native/torch", "W3", 0.18, True), ("native/unfused", "W6", round(12 / 90, 6), True),
                     ("native/torch", "W6", round(12 / 37, 6), True)}


def test_harness_rejects_unknown_workload():
    with pytest.raises(SystemExit) as exc:
        cli.parse_args(["--workloads", "W9"])
    assert exc.value.code == 2


def test_plot_needs_matplotlib_or_writes_the_file(tmp_path, capsys):
    target = tmp_path / "ratios.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(SystemExit) as exc:
            cli.parse_args(["--plot", str(target)])
        assert exc.value.code == 2
        assert "--plot needs matplotlib" in capsys.readouterr().err
    else:
        records = [{"workload": "W2", "label": "1", "threads": 1, "library": lib, "status": "ok", "median": t}
                   for lib, t in (("pygrad-pure", 2.0), ("torch", 1.0))]
        report.plot(records, str(target))
        assert target.stat().st_size > 0


def test_worker_environment_pins_threads():
    env = cli._worker_env(2)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        assert env[name] == "2"
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(Path(pygrad.__file__).resolve().parent.parent)


@pytest.mark.skipif(shutil.which("asv") is None, reason="asv is not installed")
def test_asv_check_passes():
    env = dict(os.environ, ASV_PYTHONPATH=str(ROOT))  # asv drops PYTHONPATH, passes this one on
    proc = subprocess.run(["asv", "check", "--python=same"], capture_output=True, text=True,
                          cwd=ROOT / "asv_bench", env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout


def test_pure_backend_is_timed_in_its_own_process():
    """pygrad picks its tensor layout at import, so pure pygrad runs under PYGRAD_PURE=1."""
    assert cli._worker_groups(["pygrad-native", "pygrad-pure", "torch"]) == [
        (["pygrad-native", "torch"], False), (["pygrad-pure"], True)]
    assert cli._worker_groups(["pygrad-pure"]) == [(["pygrad-pure"], True)]
    assert cli._worker_groups(["torch"]) == [(["torch"], False)]
    rec = lambda lib, label="1": {"workload": "W3", "label": label, "library": lib}  # noqa: E731
    main = {"threads": 1, "records": [rec("pygrad-native"), rec("torch"), rec("copy floor"), rec("torch", "2")]}
    pure = {"threads": 1, "records": [rec("pygrad-pure"), rec("copy floor"), rec("pygrad-pure", "2")]}
    merged = cli._merge([main, pure], ["pygrad-native", "pygrad-pure", "torch"])
    assert [(r["label"], r["library"]) for r in merged["records"]] == [
        ("1", "pygrad-native"), ("1", "pygrad-pure"), ("1", "torch"), ("1", "copy floor"),
        ("2", "pygrad-pure"), ("2", "torch")]


def test_kernel_comparison_covers_every_compiled_kernel():
    pytest.importorskip("pygrad._native.kernels")
    from pygrad.bench import kernels as kbench

    found = kbench.compiled_kernels()
    assert {"add", "mul", "sigmoid", "pow_backward", "exp", "accumulate"} <= set(found)
    assert all(getattr(fn, "__module__", "") == "pygrad._native.kernels" for fn, _, _, _ in found.values())
    assert found["exp"][3] and not found["add"][3]  # one NumPy ufunc, or a compiled loop
    import io
    out = io.StringIO()
    results = kbench.run(found, sizes=(1, 8), layouts=kbench.LAYOUTS, rounds=1, batch=1e-4, limit=None,
                         quick=False, out=out)
    rows = out.getvalue().splitlines()[1:]
    assert len(results) == len(rows) and all(r > 0 for r, _ in results)
    # Every kernel, both dtypes, size 1 contiguous plus size 8 in each layout it takes.
    assert {row.split()[0] for row in rows} == set(found)
    assert {row.split()[3] for row in rows if row.split()[2] == "8"} == set(kbench.LAYOUTS)
    assert {row.split()[3] for row in rows if row.split()[2] == "1"} == {"contiguous"}
    assert not any(row.split()[0] == "exp" and row.split()[3] == "broadcast" for row in rows)


def test_kernel_comparison_operands_have_their_layout():
    from pygrad.bench import kernels as kbench

    x, y = kbench.operands(2, np.float64, 100, "transposed")
    assert x.shape == y.shape == (10, 10) and x.flags.f_contiguous and y.flags.c_contiguous
    x, y = kbench.operands(2, np.float32, 100_000, "strided")
    assert x.shape == (400, 250) and x.strides == (2000, 8) and x.dtype == np.float32
    x, y = kbench.operands(2, np.float32, 100, "broadcast")
    assert (x.shape, y.shape) == ((10, 10), (10,))
    g, r = kbench.operands(2, np.float32, 100, "stride-0")
    assert g.shape == (10, 10) and g.strides == (0, 0)
    x, p = kbench.operands(2, np.float32, 100, "0-d")
    assert p.shape == ()
    assert [a.shape for a in kbench.operands(3, np.float64, 1, "contiguous")] == [(), (), ()]
    # A quick run measures a one-ufunc kernel's layouts only where the two backends can differ.
    assert set(kbench.cases(1, (100_000,), one_ufunc=True)) == {(100_000, "contiguous")}
    assert len(set(kbench.cases(1, (100,), one_ufunc=True))) == 3


def test_kernel_comparison_fails_a_slower_kernel():
    from pygrad.bench import kernels as kbench

    def slow(a):
        return np.exp(np.exp(np.exp(a)))

    def fast(a):
        return np.negative(a)

    import io
    out = io.StringIO()
    results = kbench.run({"slow": (slow, fast, 1, False)}, sizes=(1000,), layouts=("contiguous",), rounds=3,
                         batch=1e-3, limit=1.1, quick=True, out=out)
    assert len(results) == 2 and all(r > 1.5 for r, _ in results)  # float32 and float64
    assert out.getvalue().count("OVER") == 2


def test_harness_run_leaves_the_backend_and_fusion_switch_as_they_were():
    import pygrad
    from pygrad.bench import runner
    before = pygrad._backend.name, pygrad.fusion.is_enabled()
    runner.run(["W2"], ["pygrad-pure", "pygrad-unfused"], threads=1, quick=True)
    assert (pygrad._backend.name, pygrad.fusion.is_enabled()) == before
