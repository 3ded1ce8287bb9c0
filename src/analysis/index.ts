export * from "./curvature/index.js";
export * from "./diagnosis/index.js";
export * from "./thresholds/index.js";
export * from "./training/index.js";
