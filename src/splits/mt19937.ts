// numpy's legacy RandomState stream (MT19937), as far as split generation needs it.
// CLAM draws its splits from np.random.seed(seed) + choice(replace=False); reproducing
// its files byte for byte needs the same 32-bit words and the same way of turning them
// into bounded integers, permutations and samples. Derived from Matsumoto & Nishimura
// (1998) and numpy's documented legacy behaviour; checked against vectors in
// test/fixtures/mt19937-vectors.json.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

export class RandomState {
  private mt = new Uint32Array(N);
  private mti = N + 1;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`RandomState seed must be an integer in [0, 2^32 - 1], got ${seed}`);
    }
    this.seed(seed);
  }

  /** init_genrand: numpy's legacy seeding of an integer seed. */
  seed(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i in uint32 arithmetic, split to stay exact in doubles.
      mt[i] = (((((prev & 0xffff0000) >>> 16) * 1812433253) << 16) + (prev & 0x0000ffff) * 1812433253 + i) >>> 0;
    }
    this.mti = N;
  }

  private generate(): void {
    const mt = this.mt;
    let kk = 0;
    let y: number;
    for (; kk < N - M; kk++) {
      y = (mt[kk] & UPPER) | (mt[kk + 1] & LOWER);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      y = (mt[kk] & UPPER) | (mt[kk + 1] & LOWER);
      mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    y = (mt[N - 1] & UPPER) | (mt[0] & LOWER);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.mti = 0;
  }

  /** genrand_int32: the next raw 32-bit word. */
  nextUint32(): number {
    if (this.mti >= N) this.generate();
    let y = this.mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** random_sample(): 53-bit double in [0, 1), from two words as numpy does. */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * Uniform integer in [0, max] by masked rejection (numpy's legacy `interval`):
   * draw words, keep the bits under the smallest all-ones mask ≥ max, retry if > max.
   * Only the 32-bit branch is needed (max < 2^32).
   */
  interval(max: number): number {
    if (max === 0) return 0;
    if (max > 0xffffffff) throw new Error('interval: max ≥ 2^32 not supported');
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.nextUint32() & mask) >>> 0;
    while (v > max);
    return v;
  }

  /** In-place Fisher–Yates from the end (numpy's legacy 1-D shuffle). */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** permutation(n) = shuffle(arange(n)). */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** choice(pool, m, replace=False) without p: the first m of permutation(len(pool)). */
  choice<T>(pool: readonly T[], m: number): T[] {
    if (m > pool.length) {
      throw new Error(`cannot take a sample of ${m} from a population of ${pool.length} without replacement`);
    }
    if (m < 0) throw new Error(`negative sample size ${m}`);
    return this.permutation(pool.length).slice(0, m).map((i) => pool[i]);
  }
}

/** numpy.round / rint: round half to even on the double value. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; numpy rounds it to the even neighbour.
  if (Math.abs(x - Math.trunc(x)) === 0.5) return 2 * Math.round(x / 2);
  return r;
}
