import { jsKernels } from "./js.js";
import { KERNEL_NAMES, type KernelName, type Kernels } from "./types.js";
import { kernelModule, kernelModuleFailure, wasmKernels } from "./wasm.js";

export { KERNEL_NAMES, type KernelName, type Kernels } from "./types.js";
export { kernelModuleFailure, loadKernelModule, setKernelModule } from "./wasm.js";

/** "auto": WebAssembly SIMD where it loads, else the JS kernels. */
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

/** The kernels over a heap of `doubles` float64 values. */
export function createKernels(doubles: number, choice: KernelChoice = kernelChoice()): Kernels {
  if (choice === "js") return jsKernels(doubles);
  const module = kernelModule();
  if (module) return wasmKernels(module, doubles);
  if (choice === "wasm") throw new Error(`invalid kernels: wasm is not available: ${kernelModuleFailure()}`);
  return jsKernels(doubles);
}
