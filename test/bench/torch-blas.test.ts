import { describe, expect, it } from "vitest";
import { type BlasReport, cpuTier, judge } from "../../bench/torch-blas.js";

/**
 * The bench's fairness check (issue 27, point 6) on the reports bench/torch_blas.py gave on this
 * project's VM (a Sapphire Rapids Xeon, Debian 12, python3-torch, OpenBLAS 0.3.21): with the
 * reference BLAS forced in (LD_LIBRARY_PATH=…/blas), with OpenBLAS left to choose its kernel, and
 * with OPENBLAS_CORETYPE=SkylakeX.
 */
const avx512 = new Set(["sse2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl", "amx_tile"]);
const config = (core: string) => `OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY ${core} MAX_THREADS=64`;
const reference: BlasReport = {
  dgemm: "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0",
  openblas: null,
  mkl: false,
  coretype: null,
  threads: 1,
  gflops: 2.01,
};
const prescott: BlasReport = {
  dgemm: "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
  openblas: { core: "Prescott", config: config("Prescott") },
  mkl: false,
  coretype: null,
  threads: 1,
  gflops: 9.88,
};
const skylakex: BlasReport = {
  ...prescott,
  openblas: { core: "SkylakeX", config: config("SkylakeX") },
  coretype: "SkylakeX",
  gflops: 51.3,
};

describe("the bench forms a ratio against PyTorch only on an optimized BLAS on one thread", () => {
  it("the reference BLAS: no ratio, and how to install OpenBLAS", () => {
    const j = judge(reference, avx512, 10.1);
    expect(j.fair).toBe(false);
    expect(j.says).toContain("blas/libblas.so.3.11.0");
    expect(j.says).toContain("2.0 GFLOP/s");
    expect(j.says).toContain("apt-get install libopenblas0-pthread");
  });

  it("OpenBLAS on a generic SSE kernel where the CPU has AVX-512: no ratio, and the OPENBLAS_CORETYPE that fixes it", () => {
    const j = judge(prescott, avx512, 10.1);
    expect(j.fair).toBe(false);
    expect(j.says).toMatch(/its Prescott kernel, one thread, 9\.9 GFLOP\/s .* on a CPU with AVX-512/);
    expect(j.says).toContain("OPENBLAS_CORETYPE=SkylakeX npm run bench");
    // The same kernel on a CPU without AVX is what that CPU allows.
    expect(judge(prescott, new Set(["sse2", "sse4_2"]), 5).fair).toBe(true);
  });

  it("OpenBLAS's SkylakeX kernel on one thread: fair, and said", () => {
    const j = judge(skylakex, avx512, 10.1);
    expect(j.fair).toBe(true);
    expect(j.says).toBe(
      `PyTorch's dgemm_ is OpenBLAS (${config("SkylakeX")}), its SkylakeX kernel (OPENBLAS_CORETYPE=SkylakeX), one thread, 51.3 GFLOP/s on a 512³ float64 product`,
    );
  });

  it("more than one thread, or slower than our own kernel: no ratio", () => {
    expect(judge({ ...skylakex, threads: 2 }, avx512).fair).toBe(false);
    const slow = judge({ ...skylakex, gflops: 8 }, avx512, 10.1);
    expect(slow.fair).toBe(false);
    expect(slow.says).toContain("slower than our own WebAssembly kernel's 10.1 GFLOP/s");
  });

  it("the CPU's widest vectors from its flags, and OpenBLAS's kernel for them", () => {
    expect(cpuTier(avx512)).toMatchObject({ tier: 4, core: "SkylakeX" });
    expect(cpuTier(new Set(["avx", "avx2", "fma"]))).toMatchObject({ tier: 3, core: "Haswell" });
    expect(cpuTier(new Set(["avx"]))).toMatchObject({ tier: 2, core: "Sandybridge" });
    expect(cpuTier(new Set(["sse2"]))).toMatchObject({ tier: 1, core: null });
  });
});
