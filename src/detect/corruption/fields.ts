/**
 * The top field of an interlaced picture, line-interpolated back to full height ("bob"): even
 * rows copied, each odd row the mean of the rows above and below it (the last row, when odd, a
 * copy of the one above). The result is one instant's picture on the frame's own geometry, so the
 * 16-px macroblock grid stays where the encoder put it (its rows are even). Writes `width` bytes of
 * each of `height` rows into `out` at the same stride as `luma`; returns `out`.
 */
export function bobTopField(luma: Uint8Array, stride: number, width: number, height: number, out: Uint8Array): Uint8Array {
  for (let y = 0; y < height; y += 2) {
    const row = y * stride;
    out.set(luma.subarray(row, row + width), row);
  }
  // Four pixels at a time where rows are word-aligned: per byte, (a | b) - ((a ^ b) >> 1) is
  // (a + b + 1) >> 1 with no carry between bytes (the mask drops bits shifted across them).
  const words = (stride & 3) === 0 && (luma.byteOffset & 3) === 0 && (out.byteOffset & 3) === 0;
  const src32 = words ? new Uint32Array(luma.buffer, luma.byteOffset, luma.length >> 2) : null;
  const out32 = words ? new Uint32Array(out.buffer, out.byteOffset, out.length >> 2) : null;
  const quads = words ? width >> 2 : 0;
  for (let y = 1; y < height; y += 2) {
    const row = y * stride;
    const up = row - stride;
    const down = y + 1 < height ? row + stride : up;
    if (src32 && out32) {
      const r4 = row >> 2;
      const u4 = up >> 2;
      const d4 = down >> 2;
      for (let q = 0; q < quads; q++) {
        const a = src32[u4 + q]!;
        const b = src32[d4 + q]!;
        out32[r4 + q] = (a | b) - (((a ^ b) >>> 1) & 0x7f7f7f7f);
      }
    }
    for (let x = quads << 2; x < width; x++) out[row + x] = (luma[up + x]! + luma[down + x]! + 1) >> 1;
  }
  return out;
}
