"""The layers point one way: no import cycle among tensor, creation, the ops and autograd
(module-level imports, read from the sources), and autograd's hot paths import nothing."""
import ast
from pathlib import Path

import pytest

import pygrad

ROOT = Path(pygrad.__file__).parent
LAYERED = ("pygrad.tensor", "pygrad.creation", "pygrad.ops", "pygrad.autograd")


def _module_name(path: Path) -> str:
    parts = ("pygrad",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_imports(path: Path, modules) -> set:
    """The pygrad modules ``path`` imports at module level (not inside functions); ``from
    package import module`` depends on the module, not on the package's __init__."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = {f"{target}.{a.name}" for a in node.names} & set(modules)
            found.update(submodules or {target})
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _graph() -> dict:
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    layered = {m for m in modules if m.startswith(LAYERED)}
    return {m: {d for d in _module_imports(modules[m], modules) if d in layered and d != m} for m in layered}


def test_no_import_cycle_among_tensor_creation_ops_and_autograd():
    graph = _graph()
    state = {}

    def visit(m, path):
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path + [d]))
            if d not in state:
                visit(d, path + [d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_tensor_and_autograd_import_no_op_module():
    graph = _graph()
    for m in graph:
        if m == "pygrad.tensor" or m.startswith("pygrad.autograd"):
            assert not {d for d in graph[m] if d.startswith(("pygrad.ops", "pygrad.creation"))}, m


def test_function_apply_imports_nothing_on_its_path():
    source = (ROOT / "autograd" / "function.py").read_text()
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, ast.FunctionDef) and fn.name in ("apply_function", "_connect"):
            assert not [n for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))], fn.name


# Functions every training step runs: no import statement inside them.
HOT_PATHS = {
    "autograd/engine.py": ("validate", "_as_tuple", "_roots", "_fit", "backward"),
    "tensor.py": ("backward", "size", "to", "clone", "contiguous", "_accumulate_grad"),
    "ops/inplace.py": ("inplace", "inplace_binary", "copy_"),
    "ops/_opdef.py": ("write_out", "_float_array", "_float_pair"),
    "ops/logic.py": ("_comparison", "compare"),
    "ops/nn.py": ("linear", "_common_dtype"),
}


@pytest.mark.parametrize("path", sorted(HOT_PATHS))
def test_hot_paths_import_nothing(path):
    tree = ast.parse((ROOT / path).read_text())
    functions = {fn.name: fn for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)}
    for name in HOT_PATHS[path]:
        assert name in functions, (path, name)
        imports = [ast.unparse(n) for n in ast.walk(functions[name]) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not imports, (path, name, imports)
