import type { Kernels } from "./types.js";

/**
 * The WebAssembly SIMD kernels (assembly/kernels.ts, compiled by AssemblyScript into
 * build/mlp-kernels.wasm at `npm run build`). One compiled module per process; each objective
 * instantiates it over a memory of its own, sized once, so views of the memory never go stale.
 */
interface Exports {
  setWork(at: number): void;
  nn: Kernels["nn"];
  nt: Kernels["nt"];
  tn: Kernels["tn"];
  csrmm: Kernels["csrmm"];
  csctmm: Kernels["csctmm"];
}

/** The little of the WebAssembly API used here (the project's TypeScript libs leave it out). */
// biome-ignore lint/complexity/noBannedTypes: an opaque handle
export type KernelModule = {};
interface WasmApi {
  Module: new (bytes: Uint8Array) => KernelModule;
  Instance: new (module: KernelModule, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  compile(bytes: ArrayBuffer): Promise<KernelModule>;
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: KernelModule | null | undefined;
let compiledFma: KernelModule | null | undefined;
const WORK = 65536 + 1024;
let failure = "";
let fmaFailure = "";

/**
 * The fused multiply-add build (build/mlp-kernels-fma.wasm: relaxed SIMD's f64x2.relaxed_madd),
 * compiled where the runtime has relaxed SIMD: Node 24 by default; Node 20 behind a V8 flag, which
 * is set here before compiling (V8 reads its wasm features when a module is compiled). Null where
 * it cannot be had (a browser without relaxed SIMD: the plain kernels serve).
 */
export function fmaKernelModule(): KernelModule | null {
  if (compiledFma !== undefined) return compiledFma;
  compiledFma = null;
  if (!wasm || !nodeFs()) {
    fmaFailure = "relaxed SIMD kernels are loaded in Node only";
    return null;
  }
  const file = buildFile("mlp-kernels-fma.wasm");
  if (typeof file === "string") {
    fmaFailure = file;
    return null;
  }
  const { bytes } = file;
  try {
    compiledFma = new wasm.Module(bytes);
  } catch {
    const v8 = nodeProcess()?.getBuiltinModule?.("node:v8") as typeof import("node:v8") | undefined;
    v8?.setFlagsFromString("--experimental-wasm-relaxed-simd");
    try {
      compiledFma = new wasm.Module(bytes);
    } catch (e) {
      fmaFailure = `this runtime has no relaxed SIMD (${(e as Error).message.split("\n")[0]})`;
    }
  }
  return compiledFma;
}

/** Why fmaKernelModule() is null. */
export function fmaKernelModuleFailure(): string {
  return fmaFailure;
}

/** The module, compiled synchronously from the build in Node; null where it cannot be had. */
export function kernelModule(): KernelModule | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (!wasm) {
    failure = "this JavaScript engine has no WebAssembly";
    return null;
  }
  // Node only: the browser build hands the module over with setKernelModule (see loadKernelModule).
  if (!nodeFs()) {
    failure = "the WebAssembly kernels were not loaded (loadKernelModule)";
    return null;
  }
  const file = buildFile("mlp-kernels.wasm");
  if (typeof file === "string") {
    failure = file;
    return null;
  }
  try {
    compiled = new wasm.Module(file.bytes);
  } catch (e) {
    failure = `${file.path} could not be loaded (${(e as Error).message}): run npm run build`;
  }
  return compiled;
}

const nodeProcess = () =>
  (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
const nodeFs = () => nodeProcess()?.getBuiltinModule?.("node:fs") as typeof import("node:fs") | undefined;

/** A file of the build (build/, beside dist/ and src/), read in Node; a string says why it could not be. */
function buildFile(name: string): { bytes: Uint8Array; path: string } | string {
  const url = new URL(`../../../build/${name}`, import.meta.url);
  try {
    return { bytes: nodeFs()!.readFileSync(url), path: url.pathname };
  } catch (e) {
    return `${url.pathname} could not be loaded (${(e as Error).message}): run npm run build`;
  }
}

/** Why kernelModule() is null. */
export function kernelModuleFailure(): string {
  return failure;
}

/** Hands over a module compiled elsewhere (the lab compiles it asynchronously from its URL). */
export function setKernelModule(module: KernelModule): void {
  compiled = module;
}

/** Fetches and compiles the module from a URL (the lab); the JS kernels serve until it resolves. */
export async function loadKernelModule(url: string | URL): Promise<void> {
  if (!wasm) return;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${String(url)}: ${response.status} ${response.statusText}`);
  setKernelModule(await wasm.compile(await response.arrayBuffer()));
}

export function wasmKernels(
  module: KernelModule,
  doubles: number,
  name: "wasm" | "wasm-fma" = "wasm",
): Kernels {
  if (!wasm) throw new Error("invalid kernels: this JavaScript engine has no WebAssembly");
  // Past the heap: the kernels' packed copy of B's block (assembly/kernels.ts, WORK doubles).
  const pages = Math.max(1, Math.ceil(((doubles + WORK) * 8) / 65536));
  const memory = new wasm.Memory({ initial: pages });
  const instance = new wasm.Instance(module, { env: { memory } });
  const e = instance.exports as unknown as Exports;
  e.setWork(doubles);
  return {
    name,
    f64: new Float64Array(memory.buffer, 0, doubles),
    i32: new Int32Array(memory.buffer, 0, doubles * 2),
    nn: e.nn,
    nt: e.nt,
    tn: e.tn,
    csrmm: e.csrmm,
    csctmm: e.csctmm,
  };
}
