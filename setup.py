"""Build the Cython extension modules of pygrad.

Every ``pygrad/_native/*.pyx`` becomes an extension module.

- ``PYGRAD_PURE=1`` at build time skips them, giving a pure install that needs no compiler.
- Without a working C compiler the build installs the pure backend and leaves a marker that
  makes ``import pygrad`` warn once, saying how to get the compiled modules;
  ``PYGRAD_REQUIRE_NATIVE=1`` turns that into a build error instead.
- Without OpenMP (macOS' default clang) the modules build single-threaded.
- ``vecmath`` links glibc's vector math library (libmvec) where a probe program builds with it
  (x86-64 glibc 2.35 or newer); elsewhere it builds without it and registers no vector loop.
- The kernels' operation codes and Python-level functions are generated from
  ``pygrad/_native/kernel_table.py`` (``_opcodes.pxi``, ``_kernels.pxi``) before compiling.
- A module built once is kept in ``build/pygrad-cache`` under a fingerprint of everything that
  goes into it (sources, flags, Python ABI, Cython and NumPy versions), so installing again
  from the same clone, for another extra or in editable mode, copies it instead of compiling.
"""
import hashlib
import os
import shutil
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
NATIVE = HERE / "pygrad" / "_native"
PURE_MARKER = "PURE_BUILD"  # read by pygrad/_backend.py: built pure on purpose
NO_COMPILER_MARKER = "NO_COMPILER"  # read by pygrad/_backend.py: the compiled build failed
CACHE = HERE / "build" / "pygrad-cache"

# IEEE arithmetic so the compiled kernels agree with NumPy bit for bit.  Not setting errno
# changes no result; it lets the compiler vectorize sqrt (else every call checks for a NaN).
COMPILE_ARGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno"]
OPENMP_ARGS = ["-fopenmp"]
VECMATH = "pygrad._native.vecmath"
# A function of each libmvec generation vecmath uses (glibc 2.22's expf, 2.35's log1pf), called
# the way vecmath calls them: only an x86-64 glibc that has both links this.
LIBMVEC_PROBE = """\
#include <immintrin.h>
__attribute__((target("avx2,fma"))) __m256 _ZGVdN8v_expf(__m256);
__attribute__((target("avx2,fma"))) __m256 _ZGVdN8v_log1pf(__m256);
__attribute__((target("avx2,fma"))) static float probe(float x) {
    float out[8];
    _mm256_storeu_ps(out, _ZGVdN8v_log1pf(_ZGVdN8v_expf(_mm256_set1_ps(x))));
    return out[0];
}
int main(void) { return __builtin_cpu_supports("avx2") ? probe(0.0f) > 1.0f : 0; }
"""
DEFINE_MACROS = [
    ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
    # NumPy 1.22's API: the oldest that declares PyDataMem_SetHandler (the buffer cache).
    ("NPY_TARGET_VERSION", "NPY_1_22_API_VERSION"),
]
CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def say(message: str) -> None:
    """Progress for the person installing.  pip hides a build's output unless run with -v,
    so the line also goes to the terminal itself when there is one."""
    print(f"pygrad: {message}", file=sys.stderr, flush=True)
    try:
        with open("/dev/tty", "w") as tty:
            tty.write(f"pygrad: {message}\n")
    except OSError:
        pass


def generate_kernel_dispatch() -> None:
    """Write the ``.pxi`` files ``kernels.pyx`` includes, from the kernel table (plain data)."""
    table = {}
    exec((NATIVE / "kernel_table.py").read_text(), table)
    for name, source in table["generated_sources"]().items():
        path = NATIVE / name
        if not path.is_file() or path.read_text() != source:
            path.write_text(source)


def extensions():
    if _flag("PYGRAD_PURE"):
        return []
    return [Extension(f"pygrad._native.{src.stem}", [str(src.relative_to(HERE))])
            for src in sorted(NATIVE.glob("*.pyx"))]


class BuildExt(build_ext):
    """Cythonizes and compiles lazily, module by module, reusing cached builds."""

    def run(self):
        if not self.extensions:
            return
        _remove_marker(NATIVE / NO_COMPILER_MARKER)
        generate_kernel_dispatch()
        try:
            self.openmp = self._compiler_has_openmp()
            self.libmvec = self._links_libmvec()
            super().run()
        except Exception as exc:
            if _flag("PYGRAD_REQUIRE_NATIVE") or not _is_build_failure(exc):
                raise
            self._fall_back_to_pure(exc)

    def build_extensions(self):
        self.total = len(self.extensions)
        for number, ext in enumerate(self.extensions, 1):
            self.number = number
            self.build_extension(ext)

    def build_extension(self, ext):
        import numpy

        ext.include_dirs.append(numpy.get_include())
        ext.define_macros.extend(DEFINE_MACROS)
        ext.extra_compile_args = COMPILE_ARGS + (OPENMP_ARGS if self.openmp else [])
        ext.extra_link_args = OPENMP_ARGS if self.openmp else []
        if ext.name == VECMATH and self.libmvec:
            ext.define_macros.append(("PYGRAD_LIBMVEC", "1"))
            ext.libraries.extend(["mvec", "m"])
        target = Path(self.get_ext_fullpath(ext.name))
        cached = CACHE / _fingerprint(ext, numpy.__version__) / target.name
        if cached.is_file():
            say(f"{ext.name} is already compiled ({self.number} of {self.total})")
        else:
            say(f"compiling {ext.name} ({self.number} of {self.total}) ...")
            from Cython.Build import cythonize

            (cythonized,) = cythonize([ext], compiler_directives=CYTHON_DIRECTIVES, quiet=True)
            ext.sources = cythonized.sources
            super().build_extension(ext)
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, cached)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target)

    def _compiler_has_openmp(self) -> bool:
        """Whether the compiler builds and links an OpenMP program (not macOS' default clang).
        A compiler that cannot build a plain C program raises CompileError or LinkError."""
        from setuptools._distutils.ccompiler import new_compiler
        from setuptools._distutils.sysconfig import customize_compiler

        compiler = new_compiler(compiler=self.compiler, force=True)
        customize_compiler(compiler)
        with tempfile.TemporaryDirectory() as tmp:
            plain, omp = Path(tmp) / "plain.c", Path(tmp) / "omp.c"
            plain.write_text("int main(void) { return 0; }\n")
            omp.write_text(textwrap.dedent("""\
                #include <omp.h>
                int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
            """))
            try:
                compiler.link_executable(compiler.compile([str(plain)], output_dir=tmp),
                                         str(Path(tmp) / "plain"))
            except Exception as exc:
                if not _is_build_failure(exc):
                    raise
                name = " ".join(getattr(compiler, "compiler_so", None) or ["the C compiler"])
                raise NoWorkingCompiler(f"{name.split()[0]} cannot build a C program") from exc
            try:
                objects = compiler.compile([str(omp)], output_dir=tmp, extra_postargs=OPENMP_ARGS)
                compiler.link_executable(objects, str(Path(tmp) / "omp"), extra_postargs=OPENMP_ARGS)
            except Exception as exc:
                if not _is_build_failure(exc):
                    raise
                say("the C compiler has no OpenMP: the compiled modules run single-threaded")
                return False
        return True

    def _links_libmvec(self) -> bool:
        """Whether a program calling libmvec's AVX2 functions compiles and links here."""
        from setuptools._distutils.ccompiler import new_compiler
        from setuptools._distutils.sysconfig import customize_compiler

        compiler = new_compiler(compiler=self.compiler, force=True)
        customize_compiler(compiler)
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / "mvec.c"
            probe.write_text(LIBMVEC_PROBE)
            try:
                objects = compiler.compile([str(probe)], output_dir=tmp)
                compiler.link_executable(objects, str(Path(tmp) / "mvec"), libraries=["mvec", "m"])
            except Exception as exc:
                if not _is_build_failure(exc):
                    raise
                say("no libmvec (x86-64 glibc 2.35+): vecmath registers no vector loop")
                return False
        return True

    def _fall_back_to_pure(self, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}".strip()
        if len(reason) > 200:
            reason = reason[:200] + " ..."
        say("WARNING: could not compile the extension modules "
            f"({reason}); installing the pure NumPy backend instead. It gives the same results, "
            "more slowly. For the compiled modules, install a C compiler (gcc or clang) and the "
            "Python headers, then reinstall; set PYGRAD_PURE=1 to choose the pure backend "
            "without this warning.")
        # The marker goes where the installed package will be: build_lib for a wheel, the
        # source tree for an editable install.
        for folder in {Path(self.build_lib) / "pygrad" / "_native", NATIVE}:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / NO_COMPILER_MARKER).write_text(reason + "\n")
        self.extensions = []


class NoWorkingCompiler(OSError):
    pass


def _is_build_failure(exc: Exception) -> bool:
    """No compiler, a failing compiler or linker, missing headers, no Cython.  Matched by class
    name: setuptools' and distutils' copies of these classes are distinct objects."""
    if isinstance(exc, (OSError, ImportError)):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"CCompilerError", "CompileError", "LinkError", "DistutilsExecError",
                         "DistutilsPlatformError", "ExecError", "PlatformError"})


def _fingerprint(ext: Extension, numpy_version: str) -> str:
    """A digest of everything that makes up the compiled module."""
    import Cython

    digest = hashlib.sha256()
    sources = [Path(s) for s in ext.sources] + sorted(NATIVE.glob("*.pxd")) + sorted(NATIVE.glob("*.pxi"))
    for path in sources:
        digest.update(path.name.encode() + b"\0" + (HERE / path).read_bytes())
    for part in (ext.extra_compile_args, ext.extra_link_args, ext.define_macros, ext.libraries,
                 sorted(CYTHON_DIRECTIVES.items()), sysconfig.get_config_var("EXT_SUFFIX"),
                 os.environ.get("CC", ""), os.environ.get("CFLAGS", ""), Cython.__version__,
                 numpy_version, sys.version):
        digest.update(repr(part).encode() + b"\0")
    return digest.hexdigest()[:24]


def _remove_marker(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class BuildPy(build_py):
    """A pure build leaves a marker, so the installed pygrad runs pure without warning that
    compiled modules it never had are missing."""

    def run(self):
        super().run()
        if _flag("PYGRAD_PURE"):
            marker = Path(self.build_lib) / "pygrad" / "_native" / PURE_MARKER
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("built with PYGRAD_PURE=1: no compiled modules\n")


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt, "build_py": BuildPy})
