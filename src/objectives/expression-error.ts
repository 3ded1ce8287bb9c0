/**
 * A bad expression, with where it went wrong: its own module so that code which only reports
 * the error (the CLI's flag checks) does not load the parser with it.
 */
export class ExpressionError extends Error {
  /** 1-based character position in the expression, or null when the problem is the whole text. */
  readonly position: number | null;

  constructor(message: string, position: number | null) {
    super(message);
    this.name = "ExpressionError";
    this.position = position;
  }
}
