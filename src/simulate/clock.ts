/**
 * A tiny burnt-in clock: 3x5 bitmap digits drawn straight into the luma plane,
 * white on a dark box in the top-left corner. The box is about 1% of the picture.
 */
const GLYPHS: Record<string, string[]> = {
  '0': ['111', '101', '101', '101', '111'],
  '1': ['010', '110', '010', '010', '111'],
  '2': ['111', '001', '111', '100', '111'],
  '3': ['111', '001', '111', '001', '111'],
  '4': ['101', '101', '111', '001', '001'],
  '5': ['111', '100', '111', '001', '111'],
  '6': ['111', '100', '111', '101', '111'],
  '7': ['111', '001', '010', '010', '010'],
  '8': ['111', '101', '111', '101', '111'],
  '9': ['111', '101', '111', '001', '111'],
  ':': ['000', '010', '000', '010', '000'],
};

export interface ClockBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Pixel scale so that the clock stays ~1% of the frame at any resolution. */
export function clockScale(height: number): number {
  return Math.max(1, Math.floor(height / 120));
}

/** The box the clock covers for a given text length. */
export function clockBox(width: number, height: number, chars = 11): ClockBox {
  const s = clockScale(height);
  const w = (chars * 4 + 1) * s;
  const h = 7 * s;
  const x = Math.min(2 * s, Math.max(0, width - w));
  return { x, y: 2 * s, w: Math.min(w, width), h };
}

/** Timecode `MM:SS:FF:NN` where NN counts frames modulo 100 so every frame differs. */
export function clockText(frameIndex: number, fps: number): string {
  const sec = Math.floor(frameIndex / fps);
  const ff = frameIndex % fps;
  const mm = Math.floor(sec / 60) % 100;
  const ss = sec % 60;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(mm)}:${p(ss)}:${p(ff)}:${p(frameIndex % 100)}`;
}

/** Draw `text` into a luma plane (tightly packed, `width` bytes per row). */
export function drawClock(luma: Uint8Array, width: number, height: number, text: string): void {
  const s = clockScale(height);
  const box = clockBox(width, height, text.length);
  for (let y = box.y; y < Math.min(height, box.y + box.h); y++) {
    luma.fill(24, y * width + box.x, y * width + box.x + box.w);
  }
  let cx = box.x + s;
  const cy = box.y + s;
  for (const ch of text) {
    const g = GLYPHS[ch];
    if (g) {
      for (let gy = 0; gy < 5; gy++) {
        const row = g[gy]!;
        for (let gx = 0; gx < 3; gx++) {
          if (row[gx] !== '1') continue;
          for (let dy = 0; dy < s; dy++) {
            const y = cy + gy * s + dy;
            if (y >= height) continue;
            const x0 = cx + gx * s;
            if (x0 + s > width) continue;
            luma.fill(225, y * width + x0, y * width + x0 + s);
          }
        }
      }
    }
    cx += 4 * s;
  }
}
