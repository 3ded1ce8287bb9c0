/**
 * The contract between the lab's shell (main.ts) and its panels. A panel owns a DOM subtree and a
 * set of URL keys with its own prefix ("seed.lr", "plane.f" …); the shell owns the URL, the tabs and
 * back/forward. Every setting a user can change goes through `ctx.set`, so a link reproduces the
 * exact view.
 */
export interface PanelContext {
  /** The current value of one of this panel's settings (key without the prefix), or null. */
  get(key: string): string | null;
  /**
   * Record changed settings in the URL. `history: "push"` (the default) makes a back-button entry;
   * use "replace" while a slider is being dragged and "push" when it is released.
   */
  set(values: Readonly<Record<string, string | null>>, history?: "push" | "replace"): void;
}

export interface Panel {
  /** URL-safe id, also the prefix of the panel's keys and the value of `?panel=`. */
  readonly id: string;
  readonly title: string;
  /** Build the panel's DOM inside `root` once; read initial settings from `ctx`. */
  mount(root: HTMLElement, ctx: PanelContext): void;
  /** The URL changed under the panel (back/forward, a pasted link): re-read every setting. */
  restore(ctx: PanelContext): void;
  /** The panel became visible or hidden (stop animations and workers when hidden). */
  setVisible?(visible: boolean): void;
}
