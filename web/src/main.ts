import "./style.css";
import wasmUrl from "../../build/mlp-kernels.wasm?url";
import { loadKernelModule } from "../../src/nn/kernels/index.js";
import type { Panel } from "./panel.js";
import { landingQuery, mountTour, TOUR } from "./tour.js";
import { panelContext, writeQuery } from "./url-state.js";

/**
 * The lab's shell: one tab per panel, the active panel in `?panel=`, every panel's settings in the
 * rest of the query string. Panels register themselves by living in ./panels/ and exporting
 * `panel` and `order`, so adding one touches no other file.
 */
interface PanelModule {
  readonly panel: Panel;
  readonly order: number;
}

// The network kernels in WebAssembly SIMD, compiled off the main thread; until they arrive (or
// where WebAssembly is missing) networks run on the JS kernels, which give the same numbers.
// Panels that set up a network before then hear "overshoot-kernels" and may set it up again.
loadKernelModule(new URL(wasmUrl, location.href)).then(
  () => window.dispatchEvent(new Event("overshoot-kernels")),
  (e: unknown) =>
    console.warn(`the WebAssembly kernels did not load (${String(e)}); networks run on the JS kernels`),
);

const modules = Object.values(import.meta.glob<PanelModule>("./panels/*.ts", { eager: true }))
  .filter((m) => m.panel !== undefined)
  .sort((a, b) => a.order - b.order);
const panels = modules.map((m) => m.panel);

const tabs = document.getElementById("tabs")!;
const host = document.getElementById("panels")!;
const sections = new Map<string, HTMLElement>();
const buttons = new Map<string, HTMLButtonElement>();

function activeId(): string {
  const wanted = new URLSearchParams(location.search).get("panel");
  return panels.some((p) => p.id === wanted) ? wanted! : (panels[0]?.id ?? "");
}

function show(id: string): void {
  for (const p of panels) {
    const on = p.id === id;
    sections.get(p.id)!.hidden = !on;
    const b = buttons.get(p.id)!;
    b.setAttribute("aria-selected", String(on));
    b.tabIndex = on ? 0 : -1;
    p.setVisible?.(on);
  }
  revealTab(id);
}

/** On a narrow screen the tabs are one scrolling row: bring the active one into it. */
function revealTab(id: string): void {
  const active = buttons.get(id);
  if (!active || tabs.scrollWidth <= tabs.clientWidth) return;
  const left = active.offsetLeft - tabs.offsetLeft;
  if (left < tabs.scrollLeft || left + active.offsetWidth > tabs.scrollLeft + tabs.clientWidth)
    tabs.scrollLeft = Math.max(0, left - 16);
}
// The shipped fonts widen the tabs once they load.
void document.fonts?.ready.then(() => revealTab(activeId()));

for (const p of panels) {
  const button = document.createElement("button");
  button.type = "button";
  button.role = "tab";
  button.id = `tab-${p.id}`;
  button.textContent = p.title;
  button.setAttribute("aria-controls", `panel-${p.id}`);
  button.addEventListener("click", () => {
    const params = new URLSearchParams(location.search);
    params.set("panel", p.id);
    writeQuery(params, "push");
    show(p.id);
  });
  tabs.append(button);
  buttons.set(p.id, button);

  const section = document.createElement("section");
  section.id = `panel-${p.id}`;
  section.role = "tabpanel";
  section.setAttribute("aria-labelledby", button.id);
  section.className = "panel";
  host.append(section);
  sections.set(p.id, section);
}

// Arrow keys move between tabs, as in the WAI-ARIA tabs pattern.
tabs.addEventListener("keydown", (event) => {
  const i = panels.findIndex((p) => p.id === activeId());
  const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
  if (step === 0 || i < 0) return;
  const next = panels[(i + step + panels.length) % panels.length]!;
  buttons.get(next.id)!.click();
  buttons.get(next.id)!.focus();
});

for (const p of panels) p.mount(sections.get(p.id)!, panelContext(p.id));
show(activeId());

/** Every panel and the tab from the query string (after a link's query is put in place). */
function restoreAll(): void {
  for (const p of panels) p.restore(panelContext(p.id));
  show(activeId());
}
window.addEventListener("popstate", restoreAll);

// The walk-through (?tour=1 … 5): one sentence and one control a step, above the panels.
const tourStep = Number(new URLSearchParams(location.search).get("tour"));
const tourBox = document.getElementById("tour")!;
if (Number.isInteger(tourStep) && tourStep >= 1 && tourStep <= TOUR.length) {
  const landing = landingQuery(new URLSearchParams(location.search), tourStep);
  if (landing) {
    writeQuery(landing, "replace");
    restoreAll();
  }
  mountTour(tourBox, tourStep, (params) => {
    writeQuery(params, "push");
    restoreAll();
  });
}

// The speed benchmark's in-page half (bench/lab.ts), only when asked for.
if (new URLSearchParams(location.search).has("bench")) void import("./bench.js");
