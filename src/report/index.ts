export {
  CHART_FONT,
  type ChartRun,
  type ChartSpec,
  chartConfig,
  contourChart2d,
  deltaChart,
  lossChart,
  nonFiniteName,
  pathChart1d,
  rangeTestChart,
  seriesChart,
  sharpnessChart,
  sideBySide,
  stabilityMap,
  stacked,
  sweepChart,
} from "./charts.js";
export { type DemoPageInput, demoPage } from "./demo-page.js";
export { describeObjective } from "./describe.js";
export {
  JSON_VERSION,
  type JsonNumber,
  jsonNumber,
  objectiveJson,
  type RunJson,
  runToCsv,
  runToJson,
} from "./json.js";
export { fontFile, specToSvg, svgToPng } from "./render.js";
export { cell, traceTable } from "./table.js";
export { type TrainPageInput, trainPage } from "./train-page.js";
