import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { expect } from "vitest";

/** Reading what the lab exports (export.ts): the files it saves and the CLI command it shows. */

/** A POSIX shell's words (single quotes and backslash escapes: what the page's quoting writes). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === "\\") {
      word = (word ?? "") + line[++i];
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? "") + c;
  }
  if (word !== null) words.push(word);
  return words;
}

/** The text of a file the page saved by pressing `button`, and its name. */
export async function saved(
  page: Page,
  button: string,
): Promise<{ name: string; text: string; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
  const path = await download.path();
  const bytes = readFileSync(path);
  return { name: download.suggestedFilename(), text: bytes.toString("utf8"), bytes };
}

/** The command the panel shows, as argument lists (one per line), without the leading `overshoot`. */
export async function commands(page: Page, id: string): Promise<string[][]> {
  await page.click(`#${id}-export-cli`);
  const text = (await page.textContent(`#${id}-command code`)) ?? "";
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const words = shellWords(l);
      expect(words[0]).toBe("overshoot");
      return words.slice(1);
    });
}
