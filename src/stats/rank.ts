// Ascending order of float64 scores in O(n): LSD radix sort on the IEEE-754 bits mapped to
// an unsigned order (flip all bits of negatives, the sign bit of positives), 4 passes of
// 16 bits, skipping passes where every key shares the digit. Comparison sorting the
// indices costs several times more at n = 100,000, and DeLong needs the order only.

const BITS = 16;
const RADIX = 1 << BITS;
const MASK = RADIX - 1;

/** Sortable keys (hi, lo words) of the scores; -0 is folded into +0; NaN is an error. */
function keys(scores: ArrayLike<number>): { hi: Uint32Array; lo: Uint32Array } {
  const n = scores.length;
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (s !== s) throw new Error(`score ${i} is NaN`);
    f[i] = s === 0 ? 0 : s;
  }
  const w = new Uint32Array(f.buffer);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  // Little-endian: word 2i is the low half.
  for (let i = 0; i < n; i++) {
    const h = w[2 * i + 1];
    const l = w[2 * i];
    if (h & 0x80000000) { hi[i] = ~h >>> 0; lo[i] = ~l >>> 0; }
    else { hi[i] = (h | 0x80000000) >>> 0; lo[i] = l; }
  }
  return { hi, lo };
}

export interface SortedKeys {
  /** order[k] = index of the k-th smallest score. */
  order: Uint32Array;
  /** Keys in sorted order (equal scores ⇔ equal key pairs). */
  hi: Uint32Array;
  lo: Uint32Array;
}

export function sortScores(scores: ArrayLike<number>): SortedKeys {
  const n = scores.length;
  const k0 = keys(scores);
  let hi: Uint32Array = k0.hi;
  let lo: Uint32Array = k0.lo;
  let order: Uint32Array = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 256) {
    const idx = Array.from(order).sort((a, b) => (hi[a] - hi[b]) || (lo[a] - lo[b]));
    return { order: Uint32Array.from(idx), hi: Uint32Array.from(idx, (i) => hi[i]), lo: Uint32Array.from(idx, (i) => lo[i]) };
  }
  let hi2: Uint32Array = new Uint32Array(n);
  let lo2: Uint32Array = new Uint32Array(n);
  let order2: Uint32Array = new Uint32Array(n);
  const count = new Uint32Array(RADIX);
  // Passes 0, 1 sort on lo's halves, 2, 3 on hi's (stable LSD order).
  for (let pass = 0; pass < 4; pass++) {
    const src = pass < 2 ? lo : hi;
    const shift = (pass & 1) * BITS;
    count.fill(0);
    for (let k = 0; k < n; k++) count[(src[k] >>> shift) & MASK]++;
    if (count[(src[0] >>> shift) & MASK] === n) continue; // one digit everywhere: no-op pass
    let sum = 0;
    for (let d = 0; d < RADIX; d++) { const c = count[d]; count[d] = sum; sum += c; }
    for (let k = 0; k < n; k++) {
      const p = count[(src[k] >>> shift) & MASK]++;
      hi2[p] = hi[k]; lo2[p] = lo[k]; order2[p] = order[k];
    }
    let t = hi; hi = hi2; hi2 = t;
    t = lo; lo = lo2; lo2 = t;
    t = order; order = order2; order2 = t;
  }
  return { order, hi, lo };
}
