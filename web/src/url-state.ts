import type { PanelContext } from "./panel.js";

/** A panel's view of the query string: keys are stored as `<prefix>.<key>`. */
export function panelContext(prefix: string, onChange: () => void = () => {}): PanelContext {
  return {
    get(key) {
      return new URLSearchParams(location.search).get(`${prefix}.${key}`);
    },
    set(values, history = "push") {
      const params = new URLSearchParams(location.search);
      for (const [key, value] of Object.entries(values)) {
        if (value === null) params.delete(`${prefix}.${key}`);
        else params.set(`${prefix}.${key}`, value);
      }
      writeQuery(params, history);
      onChange();
    },
  };
}

export function writeQuery(params: URLSearchParams, history: "push" | "replace"): void {
  const query = params.toString();
  const url = `${location.pathname}${query ? `?${query}` : ""}${location.hash}`;
  if (url === `${location.pathname}${location.search}${location.hash}`) return;
  if (history === "push") window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}
