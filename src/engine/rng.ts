// Small seeded PRNG (mulberry32) for dropout masks, sampling and initialisation.
// Same seed → same stream on every platform; not cryptographic.
export class TrainingRng {
  private s: number;
  private spare: number | null = null;
  constructor(seed: number) {
    // splitmix-style scramble so nearby seeds give unrelated streams
    let z = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    this.s = (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Raw 32-bit state, for checkpointing a stream. */
  state(): number {
    return this.s;
  }
}

/** Fills out[0..count) with uniform 32-bit draws from rng's stream (bulk, for dropout masks). */
export function fillUint32(rng: TrainingRng, out: Uint32Array, count: number): void {
  // the same mulberry32 step as TrainingRng.next, inlined on a local copy of the state
  let s = (rng as unknown as { s: number }).s;
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) >>> 0;
  }
  (rng as unknown as { s: number }).s = s;
}

/** count uniform 16-bit draws (two per 32-bit draw, low half first) into out (4-byte aligned). */
export function fillUint16(rng: TrainingRng, out: Uint16Array, count: number): void {
  if (out.byteOffset % 4 !== 0) throw new Error('fillUint16 needs a 4-byte aligned buffer');
  const words = new Uint32Array(out.buffer, out.byteOffset, Math.ceil(count / 2));
  fillUint32(rng, words, words.length);
}
