/**
 * Order statistics without sorting: Hoare's quickselect, in place, O(n) on average.
 *
 * `selectInPlace(a, k, lo, hi)` rearranges `a[lo..hi]` so that `a[k]` holds the value a sort of
 * that range would put there, every element of `a[lo..k-1]` is at most `a[k]` and every element
 * of `a[k+1..hi]` at least `a[k]`; it returns `a[k]`. The values must not be NaN.
 */
export function selectInPlace(a: Float64Array | Float32Array | number[], k: number, lo = 0, hi = a.length - 1): number {
  while (hi > lo) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

/** The largest of `a[lo..hi]`. */
export function maxOf(a: Float64Array | Float32Array | number[], lo: number, hi: number): number {
  let m = a[lo]!;
  for (let i = lo + 1; i <= hi; i++) if (a[i]! > m) m = a[i]!;
  return m;
}
