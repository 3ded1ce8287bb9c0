// The library's public surface, one layer after another in the order data flows (DESIGN.md).

export * from "./analysis/index.js";
export * from "./core/index.js";
export * from "./nn/index.js";
export * from "./objectives/index.js";
export * from "./optim/index.js";
export * from "./report/index.js";
export * from "./run/index.js";
