import { describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import { type Box, crosses, type Segment } from "../../src/report/charts/place.js";

/**
 * The clipping both the label placement and the golden check use, against an independent
 * reference: 20,001 points sampled along the segment, one of them strictly inside the box.
 */
describe("crosses: whether a segment passes through a box", () => {
  const sampled = ([x0, y0, x1, y1]: Segment, b: Box): boolean => {
    for (let i = 0; i <= 20_000; i++) {
      const t = i / 20_000;
      const x = x0 + t * (x1 - x0);
      const y = y0 + t * (y1 - y0);
      if (x > b.x0 && x < b.x1 && y > b.y0 && y < b.y1) return true;
    }
    return false;
  };
  it("agrees with sampling on 2,000 random segments, and on the axis-parallel and degenerate ones", () => {
    const rng = createRng(3);
    const box: Box = { x0: 40, x1: 60, y0: 30, y1: 45 };
    const at = () => 100 * rng.uniform();
    const cases: Segment[] = [
      [0, 35, 100, 35], // horizontal through
      [50, 0, 50, 20], // vertical, short of it
      [50, 0, 50, 100], // vertical through
      [45, 40, 45, 40], // a point inside
      [0, 0, 100, 100], // the diagonal through
      [0, 100, 30, 0], // beside it
    ];
    for (let i = 0; i < 2000; i++) cases.push([at(), at(), at(), at()]);
    // Half a pixel in: a segment that reaches it runs that far inside the box, past many samples
    // (0.007 px apart at most); one that only grazes a corner may fall between them.
    const inner: Box = { x0: box.x0 + 0.5, x1: box.x1 - 0.5, y0: box.y0 + 0.5, y1: box.y1 - 0.5 };
    let through = 0;
    for (const s of cases) {
      if (sampled(s, box)) {
        expect(crosses(s, box), JSON.stringify(s)).toBe(true);
        through++;
      } else expect(crosses(s, inner), JSON.stringify(s)).toBe(false);
    }
    expect(through).toBeGreaterThan(100);
    expect(crosses([0, 35, 100, 35], box)).toBe(true);
    expect(crosses([50, 0, 50, 20], box)).toBe(false);
  });
});
