// Ascending order of float64 scores in O(n): the IEEE-754 bits are mapped to an unsigned order
// (flip all bits of negatives, the sign bit of positives); two 16-bit LSD radix passes sort on
// the high word (sign, exponent, 20 mantissa bits), then runs that share a high word are
// ordered by the low word. Comparison sorting the indices costs several times more at
// n = 100,000, and DeLong needs only the order.

const BITS = 16;
const RADIX = 1 << BITS;
const MASK = RADIX - 1;

export interface SortedKeys {
  /** order[k] = index of the k-th smallest score. */
  order: Uint32Array;
  /** Keys in sorted order (equal scores ⇔ equal key pairs). */
  hi: Uint32Array;
  lo: Uint32Array;
}

const scratch = new Float64Array(1);
const scratchW = new Uint32Array(scratch.buffer);

export function sortScores(scores: ArrayLike<number>): SortedKeys {
  const n = scores.length;
  const hiK = new Uint32Array(n);
  const loK = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (s !== s) throw new Error(`score ${i} is NaN`);
    scratch[0] = s === 0 ? 0 : s; // -0 sorts with +0
    const h = scratchW[1];
    const l = scratchW[0];
    if (h & 0x80000000) { hiK[i] = ~h >>> 0; loK[i] = ~l >>> 0; }
    else { hiK[i] = (h | 0x80000000) >>> 0; loK[i] = l; }
  }
  let order: Uint32Array = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let hi: Uint32Array = Uint32Array.from(hiK);
  if (n >= 256) {
    let order2: Uint32Array = new Uint32Array(n);
    let hi2: Uint32Array = new Uint32Array(n);
    const count = new Uint32Array(RADIX);
    for (let shift = 0; shift < 32; shift += BITS) {
      count.fill(0);
      for (let k = 0; k < n; k++) count[(hi[k] >>> shift) & MASK]++;
      if (count[(hi[0] >>> shift) & MASK] === n) continue; // one digit everywhere: no-op pass
      let sum = 0;
      for (let d = 0; d < RADIX; d++) { const c = count[d]; count[d] = sum; sum += c; }
      for (let k = 0; k < n; k++) {
        const p = count[(hi[k] >>> shift) & MASK]++;
        hi2[p] = hi[k]; order2[p] = order[k];
      }
      let t = hi; hi = hi2; hi2 = t;
      t = order; order = order2; order2 = t;
    }
  } else {
    order = Uint32Array.from(Array.from(order).sort((a, b) => hiK[a] - hiK[b]));
    hi = Uint32Array.from(order, (i) => hiK[i]);
  }
  // Runs sharing a high word: order by the low word (stable, so equal scores keep index order).
  for (let k = 0; k < n; ) {
    let e = k + 1;
    while (e < n && hi[e] === hi[k]) e++;
    if (e - k > 1) {
      if (e - k <= 32) {
        for (let j = k + 1; j < e; j++) {
          const o = order[j];
          const v = loK[o];
          let q = j - 1;
          while (q >= k && loK[order[q]] > v) { order[q + 1] = order[q]; q--; }
          order[q + 1] = o;
        }
      } else {
        let sorted = true;
        for (let j = k + 1; j < e && sorted; j++) if (loK[order[j - 1]] > loK[order[j]]) sorted = false;
        if (!sorted) order.set(Array.from(order.subarray(k, e)).sort((a, b) => loK[a] - loK[b] || a - b), k);
      }
    }
    k = e;
  }
  const lo = new Uint32Array(n);
  for (let k = 0; k < n; k++) lo[k] = loK[order[k]];
  return { order, hi, lo };
}
