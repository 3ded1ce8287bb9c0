/** Where a command writes; main() binds it to the process, tests to buffers. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
  readonly cwd: string;
}
