/**
 * Counts of timestamped events over a sliding window, by kind, in fixed memory: a ring of
 * (time, kind, weight) that the packet path pushes to and expires from in O(1) amortized,
 * with no allocation after construction. When the ring is full the oldest event is dropped
 * (counts then under-read, never over-read).
 */
export class EventWindow {
  private readonly times: Float64Array;
  private readonly kinds: Uint8Array;
  private readonly weights: Float64Array;
  private readonly sums: Float64Array;
  private head = 0;
  private size = 0;

  constructor(
    kinds: number,
    private readonly capacity = 2048,
  ) {
    this.times = new Float64Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.weights = new Float64Array(capacity);
    this.sums = new Float64Array(kinds);
  }

  push(t: number, kind: number, weight = 1): void {
    if (this.size === this.capacity) this.shift();
    const i = (this.head + this.size) % this.capacity;
    this.times[i] = t;
    this.kinds[i] = kind;
    this.weights[i] = weight;
    this.sums[kind]! += weight;
    this.size++;
  }

  /** Forget events older than `since` (strictly before it). */
  expire(since: number): void {
    while (this.size > 0 && this.times[this.head]! < since) this.shift();
  }

  /** Total weight of one kind in the window. */
  count(kind: number): number {
    return this.sums[kind]!;
  }

  /** Total weight of every kind in the window. */
  total(): number {
    let s = 0;
    for (let k = 0; k < this.sums.length; k++) s += this.sums[k]!;
    return s;
  }

  /** Time of the oldest event in the window (NaN when empty). */
  oldest(): number {
    return this.size > 0 ? this.times[this.head]! : Number.NaN;
  }

  /** Time of the newest event in the window (NaN when empty). */
  newest(): number {
    return this.size > 0 ? this.times[(this.head + this.size - 1) % this.capacity]! : Number.NaN;
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
    this.sums.fill(0);
  }

  private shift(): void {
    const i = this.head;
    const k = this.kinds[i]!;
    // Clamp: floating-point subtraction must not leave -1e-16 behind.
    this.sums[k] = Math.max(0, this.sums[k]! - this.weights[i]!);
    this.head = (i + 1) % this.capacity;
    this.size--;
    if (this.size === 0) this.sums.fill(0);
  }
}
