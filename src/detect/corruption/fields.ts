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
  for (let y = 1; y < height; y += 2) {
    const row = y * stride;
    const up = row - stride;
    const down = y + 1 < height ? row + stride : up;
    for (let x = 0; x < width; x++) out[row + x] = (luma[up + x]! + luma[down + x]! + 1) >> 1;
  }
  return out;
}
