import { numericTable } from "../../src/objectives/table.js";

/**
 * A file the user gives a panel: picked in its file box or dropped anywhere on the panel. Read in
 * the page by `load`; nothing is sent anywhere.
 */
export function onFileGiven(panel: HTMLElement, box: HTMLInputElement, load: (file: File) => void): void {
  box.addEventListener("change", () => {
    const f = box.files?.[0];
    if (f) load(f);
  });
  panel.addEventListener("dragover", (e) => e.preventDefault());
  panel.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) load(f);
  });
}

/** A CSV the user gave, read and parsed in the page (a bad file throws one line naming the problem). */
export interface GivenCsv {
  readonly name: string;
  readonly text: string;
  readonly columns: readonly string[];
  readonly rows: number;
}

export async function readCsv(file: File): Promise<GivenCsv> {
  const text = await file.text();
  const table = numericTable(text, file.name);
  return { name: file.name, text, columns: table.columns, rows: table.rows };
}

/** The CSV's columns offered as targets in `select`: `wanted` when it is one of them, else the last. */
export function offerTargets(
  select: HTMLSelectElement,
  columns: readonly string[],
  wanted: string | null,
): void {
  select.replaceChildren(...columns.map((c) => new Option(c, c)));
  select.value = wanted && columns.includes(wanted) ? wanted : columns[columns.length - 1]!;
}
