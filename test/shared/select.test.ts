/** Quickselect gives exactly the order statistics a sort gives, with the partition it promises. */
import { describe, expect, it } from 'vitest';
import { maxOf, prng, selectInPlace } from '../../src/shared/index.ts';

describe('selectInPlace', () => {
  it('returns what a sort puts at every rank, and partitions around it', () => {
    const rand = prng(11);
    for (const n of [1, 2, 3, 7, 45, 256]) {
      for (const kind of ['distinct', 'ties', 'sorted', 'reversed']) {
        const base = Float64Array.from({ length: n }, (_, i) =>
          kind === 'ties' ? Math.floor(rand() * 4) : kind === 'sorted' ? i : kind === 'reversed' ? n - i : rand() * 10,
        );
        const sorted = Float64Array.from(base).sort();
        for (let k = 0; k < n; k++) {
          const a = Float64Array.from(base);
          const v = selectInPlace(a, k);
          expect(v, `${kind} n=${n} k=${k}`).toBe(sorted[k]);
          let misplaced = 0;
          for (let i = 0; i < k; i++) if (a[i]! > v) misplaced++;
          for (let i = k + 1; i < n; i++) if (a[i]! < v) misplaced++;
          expect(misplaced, `${kind} n=${n} k=${k}`).toBe(0);
          // The rank below k is the largest of the left part; a later rank is found in the right part.
          if (k > 0) expect(maxOf(a, 0, k - 1)).toBe(sorted[k - 1]);
          if (k + 2 < n) expect(selectInPlace(a, n - 1, k + 1)).toBe(sorted[n - 1]);
        }
      }
    }
  });
});
