/**
 * The learner's walk-through: five steps from the seed example to a network at the edge of
 * stability, each one sentence and one control that sets the lab up to show it. A step is a link
 * (`?tour=3`), so a teacher can hand one out; the control puts its settings in the query string and
 * the panels read them as they read any other link.
 */
export interface TourStep {
  readonly sentence: string;
  /** The one control: its label, the settings it applies, and what it then presses (a Train button). */
  readonly control: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly press?: string;
}

export const TOUR: readonly TourStep[] = [
  {
    sentence:
      "On f(x) = x² from x₀ = −1 each step multiplies x by 1 − 2η: at η = 0.1 that is 0.8, so x shrinks and the loss falls every step.",
    control: "Run η = 0.1",
    settings: { panel: "seed", "seed.f": "x^2", "seed.x0": "-1", "seed.lr": "0.1" },
  },
  {
    sentence:
      "At η = 1 the factor is −1: every step jumps over the minimum to exactly as far on the other side, and x bounces between −1 and 1 for ever.",
    control: "Run η = 1",
    settings: { panel: "seed", "seed.f": "x^2", "seed.x0": "-1", "seed.lr": "1" },
  },
  {
    sentence:
      "At η = 1.125 the factor is −1.25: each jump overshoots further and the loss grows, though −η‖g‖² says it must fall — the ΔC chart shows the second-order term η²/2·gᵀHg that the first-order prediction leaves out.",
    control: "Run η = 1.125",
    settings: { panel: "seed", "seed.f": "x^2", "seed.x0": "-1", "seed.lr": "1.125" },
  },
  {
    sentence:
      "On a bowl curved 1 one way and 20 the other, the rate must stay under 2/λmax = 2/20 = 0.1: SGD at η = 0.11 overshoots along the steep direction and diverges, however gentle the other is.",
    control: "SGD at η = 0.11 on the bowl",
    settings: {
      panel: "plane",
      "plane.f": "quadratic",
      "plane.x0": "1,1",
      "plane.on": "sgd",
      "plane.sgd": "0.11",
    },
  },
  {
    sentence:
      "A network trained at η = 0.2 is different: its sharpness λmax climbs to 2/η = 10 and hovers there while the loss keeps falling — the edge of stability.",
    control: "Train at η = 0.2",
    settings: { panel: "network", "network.lr": "0.2" },
    press: "network-play",
  },
];

/** `params` with step `k`'s settings in place: its panel starts from its defaults, then takes them. */
export function withStep(params: URLSearchParams, k: number): URLSearchParams {
  const step = TOUR[k - 1]!;
  const out = new URLSearchParams(params);
  const prefix = `${step.settings["panel"]}.`;
  for (const key of [...out.keys()]) if (key.startsWith(prefix)) out.delete(key);
  for (const [key, value] of Object.entries(step.settings)) out.set(key, value);
  out.set("tour", String(k));
  return out;
}

/**
 * A link to step `k` lands in its state: `params` with whatever of the step's settings it lacks
 * (a bare `?tour=4` gets the bowl; a step's settings the learner changed since stay changed), or
 * null when nothing is missing.
 */
export function landingQuery(params: URLSearchParams, k: number): URLSearchParams | null {
  const step = TOUR[k - 1]!;
  const missing = Object.entries(step.settings).filter(([key]) => !params.has(key));
  if (missing.length === 0) return null;
  const out = new URLSearchParams(params);
  for (const [key, value] of missing) out.set(key, value);
  return out;
}

/** The walk-through's box for step `k` (1-based), in `el`; `apply` loads a query into the lab. */
export function mountTour(el: HTMLElement, k: number, apply: (params: URLSearchParams) => void): void {
  const step = TOUR[k - 1]!;
  const link = (n: number, text: string) => {
    const a = document.createElement("a");
    // The link carries its step's settings, so it shows that step's state when it is opened.
    a.href = `?${withStep(new URLSearchParams(location.search), n)}`;
    a.textContent = text;
    return a;
  };
  const head = document.createElement("p");
  head.className = "tour-step";
  head.textContent = `Walk-through, step ${k} of ${TOUR.length}`;
  const text = document.createElement("p");
  text.id = "tour-sentence";
  text.textContent = step.sentence;
  const control = document.createElement("button");
  control.type = "button";
  control.id = "tour-control";
  control.textContent = step.control;
  control.addEventListener("click", () => {
    apply(withStep(new URLSearchParams(location.search), k));
    if (step.press) document.getElementById(step.press)?.click();
  });
  const nav = document.createElement("p");
  nav.className = "tour-nav";
  if (k > 1) nav.append(link(k - 1, "← back"), " ");
  if (k < TOUR.length) nav.append(link(k + 1, "next →"), " ");
  const leave = document.createElement("a");
  const params = new URLSearchParams(location.search);
  params.delete("tour");
  leave.href = `?${params}`;
  leave.textContent = "leave the walk-through";
  nav.append(leave);
  el.replaceChildren(head, text, control, nav);
  el.hidden = false;
}
