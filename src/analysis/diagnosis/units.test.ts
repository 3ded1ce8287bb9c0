import { describe, expect, it } from "vitest";
import { collapsedSince, UnitsWatch } from "./units.js";

describe("units that die or saturate", () => {
  it("a layer that passes half its units during training: the step, the fractions and the cause", () => {
    const w = new UnitsWatch();
    expect(w.observe(0, [0.1, 0])).toEqual([]);
    expect(w.observe(10, [0.4, 0])).toEqual([]);
    expect(w.observe(20, [0.75, 0])).toEqual([1]);
    w.observe(30, [0.8, 0.1]);
    const f = w.finding({ kinds: ["relu", "relu"], lr: 0.5 })!;
    expect(f).toMatchObject({ kind: "dead", layer: 1, atStep: 20, fraction: 0.75, atStart: 0.1, atEnd: 0.8 });
    expect(f.cause).toBe("learning-rate");
    expect(f.summary).toBe(
      "80% of layer 1's units are dead (10% at step 0, 75% by step 20): the steps were too large — an overshooting step pushes a unit's pre-activation below zero on every row, and with a zero gradient it never comes back.",
    );
    // Unscaled inputs are named instead when the data show them.
    expect(w.finding({ kinds: ["relu", "relu"], inputScale: 76 })!.cause).toBe("unscaled-inputs");
  });

  it("from the start, and not worse since: the initialization; already past half, a collapse needs a rise of 0.25", () => {
    const w = new UnitsWatch();
    w.observe(0, [0.6875]);
    w.observe(9, [0.75]);
    const f = w.finding({ kinds: ["relu"] })!;
    expect(f.cause).toBe("initialization");
    expect(f.fromStart).toBe(true);
    expect(w.observe(18, [1])).toEqual([1]);
    expect(w.finding({ kinds: ["relu"] })!.fromStart).toBe(false);
    expect(collapsedSince([0.6875], [0.9])).toEqual([]);
    expect(collapsedSince([0.6875], [0.95])).toEqual([1]);
  });

  it("a saturation that recovers is no finding; a layer never past half is none", () => {
    const w = new UnitsWatch();
    w.observe(0, [0]);
    w.observe(5, [0.9]);
    w.observe(10, [0.2]);
    expect(w.finding({ kinds: ["tanh"] })).toBeNull();
    const v = new UnitsWatch();
    v.observe(0, [0.1]);
    v.observe(5, [0.5]);
    expect(v.finding()).toBeNull();
  });
});
