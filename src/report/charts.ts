/**
 * Vega-Lite specs for every chart overshoot draws. Pure data in, pure JSON out: the CLI renders
 * them to SVG/PNG (render.ts) and the lab hands the same specs to vega. One module a chart family
 * in charts/, the shared look in charts/style.ts.
 */
export * from "./charts/changes.js";
export * from "./charts/decision.js";
export * from "./charts/delta.js";
export * from "./charts/layout.js";
export * from "./charts/loss.js";
export * from "./charts/paths.js";
export * from "./charts/place.js";
export * from "./charts/range-test.js";
export * from "./charts/spectrum.js";
export * from "./charts/style.js";
export * from "./charts/sweep.js";
export * from "./charts/training.js";
