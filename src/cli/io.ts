/** Where a command writes; main() binds it to the process, tests to buffers. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
  readonly cwd: string;
  /** Ends long-running commands (the lab's server) when aborted; absent: Ctrl-C / SIGTERM do. */
  readonly signal?: AbortSignal;
  /** false: no progress lines or bars on stderr (tests that compare stderr whole); default shown. */
  readonly progress?: boolean;
}
