/**
 * The mean and the population standard deviation √(Σ(x − mean)²/n) of every column of a row-major
 * rows × cols matrix: what standardizing a feature divides by, and how far a feature is from it.
 */
export function columnMoments(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
): { mean: number; std: number }[] {
  const out: { mean: number; std: number }[] = [];
  for (let j = 0; j < cols; j++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += x[r * cols + j]!;
    mean /= rows;
    let v = 0;
    for (let r = 0; r < rows; r++) v += (x[r * cols + j]! - mean) ** 2;
    out.push({ mean, std: Math.sqrt(v / rows) });
  }
  return out;
}
