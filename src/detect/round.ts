/** Rounds a measurement for reports (not for decisions). */
export function round(v: number, digits = 2): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}
