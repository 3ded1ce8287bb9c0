/** The curvature view's quadrature probes and Lanczos steps per probe (the CLI's defaults are 16 and 50): fewer, so a view keeps up with training. */
export const VIEW_PROBES = 8;
export const VIEW_STEPS = 30;
