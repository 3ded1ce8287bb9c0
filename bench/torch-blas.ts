// The BLAS PyTorch's float64 products run on, and whether a ratio against it is fair (issue 27,
// point 6). Measured on this project's VMs: with Debian's python3-torch and no libopenblas0-pthread,
// torch's dgemm_ is the reference BLAS (2 GFLOP/s, every ratio a false "met"); with OpenBLAS 0.3.21
// on a CPU it does not know (a Sapphire Rapids Xeon), OpenBLAS picks its generic SSE kernel
// "Prescott" (8–10 GFLOP/s) where its SkylakeX kernel runs at 41–51. bench/torch_blas.py reports
// what torch actually resolves; this module decides, and sets OPENBLAS_CORETYPE when OpenBLAS chose
// a kernel below what the CPU has (making PyTorch faster: the direction that is fair to it).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface BlasReport {
  /** The file that provides the dgemm_ torch's CPU library resolves. */
  readonly dgemm: string | null;
  /** OpenBLAS's own account of the kernel it chose, when that file is OpenBLAS. */
  readonly openblas: { readonly core: string; readonly config: string } | null;
  readonly mkl: boolean;
  readonly coretype: string | null;
  readonly threads: number;
  /** A 512³ float64 product on one thread, measured. */
  readonly gflops: number;
}

/** How wide a CPU's or a kernel's vectors are: 1 SSE, 2 AVX, 3 AVX2 with FMA, 4 AVX-512. */
type Tier = 1 | 2 | 3 | 4;

/** OpenBLAS's x86-64 core names (DYNAMIC_ARCH) by the widest instructions their kernels use. */
const CORE_TIER: Readonly<Record<string, Tier>> = {
  katmai: 1,
  coppermine: 1,
  northwood: 1,
  prescott: 1,
  banias: 1,
  atom: 1,
  core2: 1,
  penryn: 1,
  dunnington: 1,
  nehalem: 1,
  opteron: 1,
  opteron_sse3: 1,
  barcelona: 1,
  bobcat: 1,
  sandybridge: 2,
  bulldozer: 2,
  piledriver: 3,
  steamroller: 3,
  excavator: 3,
  haswell: 3,
  zen: 3,
  skylakex: 4,
  cooperlake: 4,
  sapphirerapids: 4,
};

/** The CPU's widest vector instructions, from its flags, and OpenBLAS's kernel for them. */
export function cpuTier(flags: ReadonlySet<string>): { tier: Tier; core: string | null; what: string } {
  if (flags.has("avx512f") && flags.has("avx512dq") && flags.has("avx512vl"))
    return { tier: 4, core: "SkylakeX", what: "AVX-512" };
  if (flags.has("avx2") && flags.has("fma")) return { tier: 3, core: "Haswell", what: "AVX2 and FMA" };
  if (flags.has("avx")) return { tier: 2, core: "Sandybridge", what: "AVX" };
  return { tier: 1, core: null, what: "SSE only" };
}

export function cpuFlags(): Set<string> {
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return new Set(m ? m[1]!.trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

export interface Judgement {
  /** A ratio against this PyTorch measures our engine, not a misconfigured BLAS. */
  readonly fair: boolean;
  /** One line: what PyTorch runs on; when unfair, why and how to fix it. */
  readonly says: string;
}

const name = (path: string | null) => (path ? path.replace(/^.*\/([^/]+\/[^/]+)$/, "$1") : "nothing found");

/**
 * Fair when torch's dgemm_ is OpenBLAS with a kernel as wide as the CPU's vectors (or MKL), on one
 * thread, and faster than our own WebAssembly kernel (`ours`, GFLOP/s), which any optimized BLAS is.
 */
export function judge(r: BlasReport, flags: ReadonlySet<string>, ours?: number): Judgement {
  const cpu = cpuTier(flags);
  const speed = `${r.gflops.toFixed(1)} GFLOP/s on a 512³ float64 product`;
  const kernel = r.openblas
    ? `OpenBLAS (${r.openblas.config}), its ${r.openblas.core} kernel${r.coretype ? ` (OPENBLAS_CORETYPE=${r.coretype})` : ""}`
    : r.mkl
      ? `MKL (${name(r.dgemm)})`
      : name(r.dgemm);
  const runsOn = `PyTorch's dgemm_ is ${kernel}, ${r.threads === 1 ? "one thread" : `${r.threads} threads`}, ${speed}`;
  if (!r.openblas && !r.mkl)
    return {
      fair: false,
      says: `${runsOn}: not an optimized BLAS (the reference BLAS runs at about 2 GFLOP/s), so no ratio is printed — apt-get install libopenblas0-pthread, then \`update-alternatives --display libblas.so.3-x86_64-linux-gnu\` names openblas-pthread`,
    };
  if (r.threads !== 1) return { fair: false, says: `${runsOn}: not one thread, so no ratio is printed` };
  const tier = r.openblas ? CORE_TIER[r.openblas.core.toLowerCase()] : undefined;
  if (tier !== undefined && tier < cpu.tier)
    return {
      fair: false,
      says: `${runsOn}, on a CPU with ${cpu.what}: a kernel narrower than the machine, so no ratio is printed — OPENBLAS_CORETYPE=${cpu.core} npm run bench`,
    };
  if (ours !== undefined && r.gflops < ours)
    return {
      fair: false,
      says: `${runsOn}, slower than our own WebAssembly kernel's ${ours.toFixed(1)} GFLOP/s: not an optimized BLAS for this CPU, so no ratio is printed`,
    };
  return { fair: true, says: runsOn };
}

function probe(python: string, env: NodeJS.ProcessEnv): BlasReport {
  const out = execFileSync(python, [new URL("./torch_blas.py", import.meta.url).pathname], {
    env,
    encoding: "utf8",
  });
  return JSON.parse(out) as BlasReport;
}

/**
 * The environment to start PyTorch with: one thread (the variables OpenBLAS reads when it loads,
 * as well as torch.set_num_threads(1) in the scripts), and OPENBLAS_CORETYPE set to the CPU's
 * kernel when OpenBLAS, left to itself, chose a narrower one (unless the user set it). `note` says
 * what was set and why; `report` is what PyTorch then runs on.
 */
export function torchEnvironment(python: string): {
  env: NodeJS.ProcessEnv;
  report: BlasReport;
  note: string | null;
} {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: "1",
    OMP_NUM_THREADS: "1",
    MKL_NUM_THREADS: "1",
  };
  const first = probe(python, env);
  const cpu = cpuTier(cpuFlags());
  const tier = first.openblas ? CORE_TIER[first.openblas.core.toLowerCase()] : undefined;
  if (
    process.env["OPENBLAS_CORETYPE"] ||
    !first.openblas ||
    !cpu.core ||
    tier === undefined ||
    tier >= cpu.tier
  )
    return { env, report: first, note: null };
  const fixed = { ...env, OPENBLAS_CORETYPE: cpu.core };
  const second = probe(python, fixed);
  if (second.openblas?.core.toLowerCase() !== cpu.core.toLowerCase())
    return { env, report: first, note: null };
  return {
    env: fixed,
    report: second,
    note: `OpenBLAS chose its ${first.openblas.core} kernel on this CPU (${cpu.what}; ${first.gflops.toFixed(1)} GFLOP/s): the bench sets OPENBLAS_CORETYPE=${cpu.core}, its kernel for the CPU (${second.gflops.toFixed(1)} GFLOP/s)`,
  };
}
