"""Run the CUDA kernels of ``minigrad/backends/cuda_kernels/`` on the CPU, without a GPU.

Each ``.cu`` file is compiled by g++ as host C++, with ``cuda_host.h`` standing in for the CUDA
runtime (``threadIdx``, ``blockIdx``, ``atomicAdd`` ...), and every ``extern "C" __global__``
kernel gets a launcher that loops over the blocks and threads of a launch. :class:`EmulatedKernels`
loads them as CuPy's ``RawModule.get_function`` would: ``kernel(grid, block, args)``, with NumPy
arrays where CuPy passes device arrays. So :class:`EmulatedCUDABackend` -- the CUDA backend with
NumPy as its ``xp`` and these kernels -- runs the backend's own launch code and the kernels'
own source, and the tests compare it with the CPU backend.

What the emulation checks beyond the results:

- every argument has the type the kernel declares (a float64 array for ``double*``, an
  ``np.int64`` for ``long long``): CuPy passes the bytes it is given, so a mismatch would be
  garbage on a GPU;
- array arguments are C-contiguous and do not overlap (the kernels declare ``__restrict__``);
- each array is passed inside a guard band of 0xFF bytes (NaN as a float, -1 as an int): a
  write outside the array fails the call, and a read outside it poisons the result; so does a
  write into an array the kernel declares ``const``;
- the threads run in a shuffled order (``shuffle``), so a result that depends on the order of
  the threads -- a race on a GPU -- fails the comparison.

It does not check what a serial run cannot: timing, occupancy, or memory races between threads
that run at the same time on a GPU (the kernels avoid them by design: each output element has
one writer, or is written with atomicAdd).
"""

import ctypes
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from minigrad.backends.cuda import KERNEL_DIR, CUDABackend

SHIM = Path(__file__).with_name("cuda_host.h")
GUARD = 64  # bytes of guard band on each side of every array argument

_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')

# C scalar types -> (ctypes type, the NumPy scalar type a caller must pass)
_SCALARS = {"int": (ctypes.c_int, np.int32), "long long": (ctypes.c_longlong, np.int64),
            "unsigned long long": (ctypes.c_ulonglong, np.uint64),
            "float": (ctypes.c_float, np.float32), "double": (ctypes.c_double, np.float64)}
# C element types of pointer arguments -> the dtype the array must have
_ELEMENTS = {"float": np.float32, "double": np.float64, "int": np.int32, "long long": np.int64,
             "bool": np.bool_, "unsigned char": np.uint8, "unsigned long long": np.uint64}


def gxx_available():
    return shutil.which("g++") is not None


class Parameter:
    """One kernel parameter: its declaration, name, and what a caller must pass."""

    def __init__(self, declaration):
        self.declaration = " ".join(declaration.split())
        words = self.declaration.replace("*", " * ").split()
        self.name = words[-1]
        stars = words.count("*")
        base = " ".join(w for w in words[:-1] if w not in ("const", "__restrict__", "*"))
        # the pointee is const if "const" stands between the last two "*" (or before the only one)
        stars_at = [i for i, w in enumerate(words) if w == "*"]
        pointee = words[stars_at[-2] + 1 if len(stars_at) > 1 else 0:stars_at[-1]] if stars else []
        self.writable = stars > 0 and "const" not in pointee
        if stars == 0:
            self.ctype, self.scalar = _SCALARS[base]
            self.dtype = None
        else:  # an array; T** is a table of device pointers, passed as uint64
            self.ctype, self.scalar = ctypes.c_void_p, None
            self.dtype = np.dtype(np.uint64 if stars == 2 else _ELEMENTS[base])


def parse_kernels(source):
    """``{kernel name: [Parameter, ...]}`` of every ``extern "C" __global__`` kernel."""
    return {name: [Parameter(p) for p in params.split(",")]
            for name, params in _KERNEL.findall(source)}


class EmulatedKernel:
    """One kernel, called as a CuPy ``RawKernel``: ``kernel(grid, block, args)``."""

    def __init__(self, name, parameters, function, owner):
        self.name, self.parameters, self.function, self.owner = name, parameters, function, owner

    def __call__(self, grid, block, args):
        if len(args) != len(self.parameters):
            raise TypeError(f"{self.name} takes {len(self.parameters)} arguments, got {len(args)}")
        grid, block = _dims(grid), _dims(block)
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        for i, a in enumerate(arrays):
            for b in arrays[i + 1:]:
                if np.shares_memory(a, b):
                    raise ValueError(f"{self.name}: two array arguments overlap (the kernels "
                                     "declare __restrict__)")
        values, guarded = [], []
        for parameter, arg in zip(self.parameters, args):
            if parameter.dtype is None:
                if type(arg) is not parameter.scalar:
                    raise TypeError(f"{self.name}: {parameter.declaration} needs a "
                                    f"{parameter.scalar.__name__}, got {type(arg).__name__}")
                values.append(parameter.ctype(arg))
                continue
            if not isinstance(arg, np.ndarray) or arg.dtype != parameter.dtype:
                got = arg.dtype if isinstance(arg, np.ndarray) else type(arg).__name__
                raise TypeError(f"{self.name}: {parameter.declaration} needs a "
                                f"{parameter.dtype} array, got {got}")
            if not arg.flags.c_contiguous:
                raise ValueError(f"{self.name}: {parameter.declaration} must be C-contiguous")
            buffer = np.full(arg.nbytes + 2 * GUARD, 0xFF, dtype=np.uint8)
            buffer[GUARD:GUARD + arg.nbytes] = arg.reshape(-1).view(np.uint8)
            guarded.append((parameter, arg, buffer))
            values.append(ctypes.c_void_p(buffer.ctypes.data + GUARD))
        self.function(*grid, *block, ctypes.c_ulonglong(self.owner.shuffle), *values)
        for parameter, arg, buffer in guarded:
            if (buffer[:GUARD] != 0xFF).any() or (buffer[GUARD + arg.nbytes:] != 0xFF).any():
                raise AssertionError(f"{self.name} wrote outside {parameter.declaration}")
            inside = buffer[GUARD:GUARD + arg.nbytes]
            if parameter.writable:
                arg.reshape(-1).view(np.uint8)[...] = inside
            elif (inside != arg.reshape(-1).view(np.uint8)).any():
                raise AssertionError(f"{self.name} wrote into {parameter.declaration}")


def _dims(dims):
    dims = tuple(int(d) for d in dims) + (1,) * (3 - len(dims))
    if any(d < 1 for d in dims):
        raise ValueError(f"a launch needs grid and block sizes >= 1, got {dims}")
    return [ctypes.c_uint(d) for d in dims]


class EmulatedKernels:
    """Compiles ``<kernel_dir>/<file>`` with g++ (once per source text, into ``build_dir``) and
    hands out its kernels; ``shuffle`` seeds the order in which the threads run (0: in order)."""

    def __init__(self, build_dir, shuffle=12345, kernel_dir=KERNEL_DIR):
        self.build_dir = Path(build_dir)
        self.shuffle = shuffle
        self.kernel_dir = Path(kernel_dir)
        self.build_dir.mkdir(parents=True, exist_ok=True)
        self._libraries = {}

    def load(self, file_name, function_name):
        """Like :func:`minigrad.backends.cuda.load_kernel`: one kernel of a ``.cu`` file."""
        if file_name not in self._libraries:
            self._libraries[file_name] = self._build(self.kernel_dir / file_name)
        library, kernels = self._libraries[file_name]
        if function_name not in kernels:
            raise AttributeError(f"{file_name} has no extern \"C\" kernel {function_name}")
        function = getattr(library, f"emulate_{function_name}")
        function.restype = None
        function.argtypes = ([ctypes.c_uint] * 6 + [ctypes.c_ulonglong]
                             + [p.ctype for p in kernels[function_name]])
        return EmulatedKernel(function_name, kernels[function_name], function, self)

    def _build(self, path):
        source = path.read_text()
        kernels = parse_kernels(source)
        lines = [f'#include "{SHIM.resolve()}"', f'#include "{path.resolve()}"']
        for name, parameters in kernels.items():
            declared = ", ".join(p.declaration for p in parameters)
            passed = ", ".join(p.name for p in parameters)
            lines.append(f'extern "C" void emulate_{name}(unsigned gx, unsigned gy, unsigned gz, '
                         f'unsigned bx, unsigned by, unsigned bz, unsigned long long shuffle, '
                         f'{declared}) {{\n'
                         f'    emulate_launch(dim3{{gx, gy, gz}}, dim3{{bx, by, bz}}, shuffle, '
                         f'[&] {{ {name}({passed}); }});\n}}')
        launcher = "\n".join(lines) + "\n"
        digest = hashlib.sha256((launcher + source + SHIM.read_text()).encode()).hexdigest()[:16]
        library = self.build_dir / f"{path.stem}-{digest}.so"
        if not library.exists():
            cpp = library.with_suffix(".cpp")
            cpp.write_text(launcher)
            # -ffp-contract=off: no fused multiply-adds, so float arithmetic is NumPy's
            built = subprocess.run(["g++", "-std=c++14", "-O1", "-Wall", "-Werror",
                                    "-ffp-contract=off", "-shared", "-fPIC", "-o", str(library),
                                    str(cpp)], capture_output=True, text=True)
            if built.returncode != 0:
                raise RuntimeError(f"g++ could not compile {path.name} as host C++:\n"
                                   f"{built.stderr}")
        return ctypes.CDLL(str(library)), kernels


class EmulatedCUDABackend(CUDABackend):
    """The CUDA backend with NumPy standing in for CuPy and ``kernels`` (an
    :class:`EmulatedKernels`) for the compiled ``.cu`` files: the backend's launch code and the
    kernels run on the CPU."""

    def __init__(self, kernels):
        self.xp = np
        self.load_kernel = kernels.load
        self.seed(0)

    def to_numpy(self, array):
        return np.asarray(array)

    def synchronize(self):
        pass
