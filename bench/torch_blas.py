#!/usr/bin/python3
"""Which BLAS PyTorch's float64 products actually run on, for the benches' fairness check.

The library a process maps is not enough: Debian's torch maps both libblas.so.3 (an alternative:
OpenBLAS, or the slow reference BLAS) and libopenblas.so.0, and OpenBLAS picks its kernel for the
CPU when it loads (on a CPU it does not know it may fall back to a generic SSE kernel, "Prescott",
five times slower). So: the library that provides the `dgemm_` torch's own library resolves
(dlsym on its handle, dladdr for the file), OpenBLAS's core name and configuration when that
library is OpenBLAS, and the GFLOP/s of a 512³ float64 product on one thread, measured.

Run as a script (with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 in the environment) it prints the
report as one JSON line; torch_server.py imports `blas_report`.
"""
import ctypes
import ctypes.util
import json
import os
import sys
import time


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def _mapped():
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line}
    return sorted(p for p in paths if p.endswith(".so") or ".so." in p)


def _dgemm_library(torch):
    """The file whose dgemm_ torch's CPU library resolves, or None."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    candidates = [p for p in _mapped() if "libtorch_cpu" in p] + [None]
    for path in candidates:
        try:
            handle = ctypes.CDLL(path)
            address = ctypes.cast(handle.dgemm_, ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
        info = _DlInfo()
        if libc.dladdr(address, ctypes.byref(info)) and info.dli_fname:
            return os.path.realpath(info.dli_fname.decode())
    return None


def _openblas(path):
    """OpenBLAS's core name and configuration, when `path` is OpenBLAS (None otherwise)."""
    try:
        lib = ctypes.CDLL(path)
        core, config = lib.openblas_get_corename, lib.openblas_get_config
    except (OSError, AttributeError, TypeError):
        return None
    core.restype = config.restype = ctypes.c_char_p
    return {"core": core().decode(), "config": config().decode()}


def _gflops(torch, n=512, reps=10):
    a = torch.randn(n, n, dtype=torch.float64)
    b = torch.randn(n, n, dtype=torch.float64)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def dgemm_kernel(torch):
    """One line: the library torch's dgemm_ resolves, and OpenBLAS's kernel when it is OpenBLAS."""
    library = _dgemm_library(torch)
    openblas = _openblas(library) if library else None
    where = "/".join(library.split("/")[-2:]) if library else "none"
    return f"{where} ({openblas['core']} kernel)" if openblas else where


def blas_report(torch):
    library = _dgemm_library(torch)
    openblas = _openblas(library) if library else None
    return {
        "dgemm": library,
        "openblas": openblas,
        "mkl": bool(library and "mkl" in os.path.basename(library).lower()),
        "coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "threads": torch.get_num_threads(),
        "gflops": _gflops(torch),
    }


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    sys.stdout.write(json.dumps(blas_report(torch)) + "\n")
