/**
 * The spike handling large-model training uses in place of (or before) a rollback: statistics of
 * the recent steps, and a step judged against them.
 *
 * - Skipping (OLMo-core's SkipStepOptimizer): a step whose loss or gradient norm is more than
 *   `threshold` standard deviations above the mean of the last `window` steps taken is not taken
 *   (its batch is consumed, the weights and the optimizer's state stay). A non-finite loss or
 *   gradient is always skipped. Defaults: 128 steps, 6σ, judged once 16 steps are in the window.
 * - Adaptive clipping (ZClip, Kumar et al. 2025): the gradient norm's mean μ and variance σ² as
 *   exponential moving averages (α = 0.97, after a warm-up of 25 steps' plain mean and variance);
 *   a norm whose z = (‖g‖ − μ)/σ exceeds z_thr = 2.5 is clipped to μ + (z_thr²/z)·σ (the further
 *   out, the harder), and the averages take the clipped norm.
 */

/** Running mean and standard deviation over the last `size` values, O(1) a value. */
class Window {
  private readonly values: number[] = [];
  private sum = 0;
  private sumSq = 0;
  constructor(private readonly size: number) {}
  get count(): number {
    return this.values.length;
  }
  add(v: number): void {
    this.values.push(v);
    this.sum += v;
    this.sumSq += v * v;
    if (this.values.length > this.size) {
      const out = this.values.shift()!;
      this.sum -= out;
      this.sumSq -= out * out;
    }
  }
  get mean(): number {
    return this.sum / this.values.length;
  }
  /** The population standard deviation (recomputed exactly: the running sums lose digits over long runs). */
  get std(): number {
    const m = this.mean;
    let s = 0;
    for (const v of this.values) s += (v - m) * (v - m);
    return Math.sqrt(s / this.values.length);
  }
}

export interface SkipOptions {
  readonly window?: number;
  readonly threshold?: number;
  readonly warmup?: number;
}

export class ZScoreSkip {
  private readonly loss: Window;
  private readonly norm: Window;
  private readonly threshold: number;
  private readonly warmup: number;

  constructor(options: SkipOptions = {}) {
    const window = options.window ?? 128;
    this.loss = new Window(window);
    this.norm = new Window(window);
    this.threshold = options.threshold ?? 6;
    this.warmup = options.warmup ?? 16;
  }

  /**
   * Why the step with this loss and gradient norm is skipped, or null (the step is taken and
   * enters the window). A gradient norm of null is unknown (a callback sees the loss only).
   */
  judge(loss: number, gradNorm: number | null): string | null {
    if (!Number.isFinite(loss) || (gradNorm !== null && !Number.isFinite(gradNorm)))
      return `a non-finite value (loss ${loss}${gradNorm !== null ? `, ‖g‖ ${gradNorm}` : ""})`;
    if (this.loss.count >= this.warmup) {
      const zl = zScore(loss, this.loss.mean, this.loss.std);
      const zg = gradNorm === null ? 0 : zScore(gradNorm, this.norm.mean, this.norm.std);
      if (zl > this.threshold || zg > this.threshold)
        return `${zl > this.threshold ? `the loss ${fmtZ(loss, zl)}` : `‖g‖ ${fmtZ(gradNorm!, zg)}`} over the last ${this.loss.count} steps (> ${this.threshold}σ)`;
    }
    this.loss.add(loss);
    this.norm.add(gradNorm ?? 0);
    return null;
  }
}

export interface ClipOptions {
  readonly alpha?: number;
  readonly threshold?: number;
  readonly warmup?: number;
}

export class ZClip {
  private readonly alpha: number;
  private readonly threshold: number;
  private readonly warmup: Window;
  private readonly warmupSteps: number;
  private mean = Number.NaN;
  private variance = Number.NaN;

  constructor(options: ClipOptions = {}) {
    this.alpha = options.alpha ?? 0.97;
    this.threshold = options.threshold ?? 2.5;
    this.warmupSteps = options.warmup ?? 25;
    this.warmup = new Window(this.warmupSteps);
  }

  /**
   * The norm the gradient is to be scaled to (its own when not clipped), and the averages updated
   * with it. NaN for a non-finite norm: the step is not to be taken.
   */
  clipTo(gradNorm: number): number {
    if (!Number.isFinite(gradNorm)) return Number.NaN;
    if (this.warmup.count < this.warmupSteps) {
      this.warmup.add(gradNorm);
      if (this.warmup.count === this.warmupSteps) {
        this.mean = this.warmup.mean;
        this.variance = this.warmup.std ** 2;
      }
      return gradNorm;
    }
    const sigma = Math.sqrt(this.variance);
    const z = zScore(gradNorm, this.mean, sigma);
    const norm = z > this.threshold ? this.mean + ((this.threshold * this.threshold) / z) * sigma : gradNorm;
    const a = this.alpha;
    this.mean = a * this.mean + (1 - a) * norm;
    this.variance = a * this.variance + (1 - a) * (norm - this.mean) ** 2;
    return norm;
  }
}

/** (v − μ)/σ, with σ = 0 (a constant history) giving ±∞ for any departure and 0 for none. */
function zScore(v: number, mean: number, std: number): number {
  if (std > 0) return (v - mean) / std;
  return v > mean ? Number.POSITIVE_INFINITY : v < mean ? Number.NEGATIVE_INFINITY : 0;
}

const fmtZ = (v: number, z: number) =>
  `${v.toPrecision(4)} is ${Number.isFinite(z) ? z.toPrecision(3) : "∞"}σ above the mean`;
