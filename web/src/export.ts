/**
 * Export from the page: files the browser saves (a chart as SVG or PNG, a run as CSV or JSON),
 * made in the page from what it computed — nothing is sent anywhere — and the CLI command that
 * computes the same run again.
 */

/** Saves `blob` as `name` through the browser's download (an object URL, revoked once used). */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One argument for a POSIX shell: as it is when it is plain, else in single quotes. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** `overshoot` and its arguments, quoted for a shell. */
export function commandLine(args: readonly string[]): string {
  return ["overshoot", ...args].map(shellQuote).join(" ");
}

/** What a panel exports for its current run; null while it has none. */
export interface RunExport {
  /** The file names' stem: overshoot-<name>.csv, .json. */
  readonly name: string;
  /** Made only when asked for (a long training run's records are large). */
  csv(): string;
  json(): string;
  /** The CLI command (or commands, one a line) that computes the same run. */
  readonly command: string;
  /** What the command cannot reproduce, said under it (e.g. an optimizer switched while it ran). */
  readonly note?: string;
}

/** A panel's export row: the run as CSV and as JSON, and its CLI command shown with a copy button. */
export function mountExport(host: HTMLElement, id: string, current: () => RunExport | null): void {
  const row = document.createElement("div");
  row.className = "row export";
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", "export the run");
  const label = document.createElement("span");
  label.textContent = "Export:";
  const button = (text: string, kind: string) => {
    const b = document.createElement("button");
    b.type = "button";
    b.id = `${id}-export-${kind}`;
    b.textContent = text;
    return b;
  };
  const csv = button("run as CSV", "csv");
  const json = button("run as JSON", "json");
  const cli = button("CLI command", "cli");
  cli.setAttribute("aria-expanded", "false");
  const box = document.createElement("div");
  box.className = "command";
  box.id = `${id}-command`;
  box.hidden = true;
  const pre = document.createElement("pre");
  const code = document.createElement("code");
  pre.append(code);
  const note = document.createElement("p");
  note.className = "note";
  const copy = button("copy", "copy");
  box.append(pre, note, copy);
  const save = (kind: "csv" | "json") => {
    const run = current();
    if (!run) return;
    const type = kind === "csv" ? "text/csv" : "application/json";
    download(new Blob([kind === "csv" ? run.csv() : run.json()], { type }), `overshoot-${run.name}.${kind}`);
  };
  csv.addEventListener("click", () => save("csv"));
  json.addEventListener("click", () => save("json"));
  // Written only when it changed: the observer below sees this box's own writes too.
  const fill = () => {
    const run = current();
    const command = run?.command ?? "";
    if (code.textContent !== command) code.textContent = command;
    const said = run?.note ?? "";
    if (note.textContent !== said) note.textContent = said;
    note.hidden = said === "";
  };
  cli.addEventListener("click", () => {
    box.hidden = !box.hidden;
    cli.setAttribute("aria-expanded", String(!box.hidden));
    if (!box.hidden) fill();
  });
  copy.addEventListener("click", () => {
    fill();
    void navigator.clipboard?.writeText(code.textContent ?? "").then(
      () => (copy.textContent = "copied"),
      () => (copy.textContent = "select the text to copy it"),
    );
  });
  row.append(label, csv, json, cli);
  host.append(row, box);
  // Kept current while it is open: the command follows every edit.
  new MutationObserver(() => {
    if (!box.hidden) fill();
  }).observe(host.closest(".panel") ?? host, { subtree: true, characterData: true, childList: true });
}
