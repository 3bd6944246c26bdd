// Pace of a training stage inside an epoch: bags done/total, patches/s and the epoch's ETA,
// reported at most twice a second (each report crosses a process boundary).
import { readFileSync } from 'node:fs';

const fmtSecs = (s: number) => (s < 90 ? `${Math.round(s)}s` : s < 5400 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`);
const fmtRate = (r: number) => (r >= 1e4 ? `${(r / 1e3).toFixed(0)}k` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k` : r.toFixed(0));

export class EpochPace {
  private t0 = performance.now();
  private patches = 0;
  private epoch = 1;
  private last = 0;
  private trainSeconds = NaN;
  constructor(private maxEpochs: number, private report: (done: number, total: number, note: string) => void, private everyMs = 500) {}

  bag(done: number, total: number, patches: number): void {
    this.patches += patches;
    const now = performance.now();
    if (now - this.last < this.everyMs && done < total) return;
    this.last = now;
    const s = (now - this.t0) / 1000;
    if (done === total) this.trainSeconds = s;
    const rate = s > 0 ? this.patches / s : 0;
    const eta = done > 0 ? (s / done) * (total - done) : NaN;
    this.report(this.epoch - 1, this.maxEpochs,
      `epoch ${this.epoch}: bag ${done}/${total} · ${fmtRate(rate)} patches/s${Number.isFinite(eta) ? ` · epoch ETA ${fmtSecs(eta)}` : ''}`);
  }

  /** Training patches/s of the epoch that ended (validation excluded); starts the next one. */
  epochEnd(epoch: number): number {
    const s = Number.isFinite(this.trainSeconds) ? this.trainSeconds : (performance.now() - this.t0) / 1000;
    const rate = s > 0 ? this.patches / s : 0;
    this.trainSeconds = NaN;
    this.epoch = epoch + 1;
    this.t0 = performance.now();
    this.patches = 0;
    this.last = 0;
    return rate;
  }
}

/** Peak resident set of this process (VmHWM), in MB; the current RSS where /proc is absent. */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch { /* not Linux */ }
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}
