import { describe, expect, it } from 'vitest';
import { clockBox, clockText, drawClock } from '../../src/simulate/clock.ts';

describe('burnt-in clock', () => {
  it('covers well under 5% of the picture at common sizes', () => {
    for (const [w, h] of [
      [320, 180],
      [640, 360],
      [1280, 720],
      [1920, 1080],
    ] as const) {
      const b = clockBox(w, h, clockText(0, 25).length);
      expect((b.w * b.h) / (w * h)).toBeLessThan(0.02);
      expect(b.x + b.w).toBeLessThanOrEqual(w);
    }
  });

  it('changes every frame and draws only inside its box', () => {
    expect(clockText(0, 25)).toBe('00:00:00:00');
    expect(clockText(26, 25)).toBe('00:01:01:26');
    expect(clockText(25 * 61 + 3, 25)).toBe('01:01:03:28');
    const w = 320;
    const h = 180;
    const a = new Uint8Array(w * h).fill(100);
    const b = new Uint8Array(w * h).fill(100);
    drawClock(a, w, h, clockText(10, 25));
    drawClock(b, w, h, clockText(11, 25));
    const box = clockBox(w, h);
    let differ = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const inside = x >= box.x && x < box.x + box.w && y >= box.y && y < box.y + box.h;
        if (!inside) expect(a[i]).toBe(100);
        if (a[i] !== b[i]) differ++;
      }
    }
    expect(differ).toBeGreaterThan(0);
  });
});
