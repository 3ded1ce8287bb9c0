import { jsKernels } from "./js.js";
import { KERNEL_NAMES, type KernelName, type Kernels } from "./types.js";
import {
  fmaKernelModule,
  fmaKernelModuleFailure,
  kernelModule,
  kernelModuleFailure,
  wasmKernels,
} from "./wasm.js";

export { KERNEL_NAMES, type KernelName, type Kernels } from "./types.js";
export { fmaKernelModuleFailure, kernelModuleFailure, loadKernelModule, setKernelModule } from "./wasm.js";

/**
 * "auto": WebAssembly SIMD where it loads (the plain kernels: the JS kernels' bits), else the JS
 * kernels. The fused multiply-add kernels are asked for by name (wasm-fma).
 */
export type KernelChoice = KernelName | "auto";

let preferred: KernelChoice | undefined;

/** The process-wide choice: set here, else the OVERSHOOT_KERNELS environment variable, else auto. */
export function setKernelChoice(choice: KernelChoice): void {
  preferred = choice;
}

export function kernelChoice(): KernelChoice {
  if (preferred) return preferred;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.OVERSHOOT_KERNELS;
  if (env === undefined || env === "") return "auto";
  if (env === "auto" || (KERNEL_NAMES as readonly string[]).includes(env)) return env as KernelChoice;
  throw new Error(`invalid kernels: OVERSHOOT_KERNELS=${env} (valid: auto, ${KERNEL_NAMES.join(", ")})`);
}

/** True once the WebAssembly kernels can be had (at once in Node; in a page after loadKernelModule). */
export function wasmAvailable(): boolean {
  return kernelModule() !== null;
}

/** True where the fused multiply-add kernels compile (relaxed SIMD). */
export function fmaAvailable(): boolean {
  return fmaKernelModule() !== null;
}

/**
 * The most doubles the WebAssembly heap is given: 2 GiB of its 32-bit memory (its kernels take
 * offsets as i32). A larger heap runs on the JS kernels, which give the same bits.
 */
export const WASM_HEAP_DOUBLES = 2 ** 28 - 2 ** 14;

/** The kernels over a heap of `doubles` float64 values. */
export function createKernels(doubles: number, choice: KernelChoice = kernelChoice()): Kernels {
  if (choice === "js") return jsKernels(doubles);
  const name = choice === "wasm-fma" ? "wasm-fma" : "wasm";
  const module = name === "wasm-fma" ? fmaKernelModule() : kernelModule();
  const fits = doubles <= WASM_HEAP_DOUBLES;
  if (module && fits) {
    try {
      return wasmKernels(module, doubles, name);
    } catch (e) {
      // The engine refused the memory (a RangeError): the JS kernels, unless wasm was asked for.
      if (choice !== "auto" || !(e instanceof RangeError)) throw e;
      return jsKernels(doubles);
    }
  }
  if (choice !== "auto")
    throw new Error(
      module
        ? `invalid kernels: ${name} holds at most ${WASM_HEAP_DOUBLES} doubles (2 GiB), this network needs ${doubles}: use the js kernels`
        : `invalid kernels: ${name} is not available: ${name === "wasm-fma" ? fmaKernelModuleFailure() : kernelModuleFailure()}`,
    );
  return jsKernels(doubles);
}
