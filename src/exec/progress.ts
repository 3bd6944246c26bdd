// Terminal progress: one line rewritten in place on a TTY, plain log lines otherwise (CI).
import type { StageStatus } from '../records/events.ts';

const fmtSecs = (s: number) => (s < 90 ? `${Math.round(s)}s` : s < 5400 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`);

export class Progress {
  private counts: Record<StageStatus, number> = { executed: 0, cached: 0, failed: 0, skipped: 0 };
  private running = new Map<string, string>();
  private secondsByKind = new Map<string, number[]>();
  private lastDraw = 0;
  constructor(
    private total: number,
    /** Stages still to execute, by kind (for the ETA). */
    private toRun: Map<string, number>,
    private slots: number,
    private mode: 'tty' | 'lines' | 'none',
    private out: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Plain mode: last line written per running stage (a stage inside a long epoch says so every ~30 s). */
  private lastLine = new Map<string, number>();
  private lineEveryMs = 1000 * (Number(process.env.MILFLOW_PROGRESS_LINE_S) > 0 ? Number(process.env.MILFLOW_PROGRESS_LINE_S) : 30);

  start(id: string, note = ''): void {
    this.running.set(id, note);
    this.lastLine.set(id, Date.now());
    this.draw();
  }
  note(id: string, note: string): void {
    if (this.running.has(id)) this.running.set(id, note);
    if (this.mode === 'lines' && this.running.has(id)) {
      const now = Date.now();
      if (now - (this.lastLine.get(id) ?? 0) >= this.lineEveryMs) {
        this.lastLine.set(id, now);
        this.out.write(`[running] ${id} ${note}\n`);
      }
    }
    this.draw(true);
  }
  end(id: string, kind: string, status: StageStatus, seconds: number, detail = ''): void {
    this.running.delete(id);
    this.lastLine.delete(id);
    this.counts[status]++;
    if (status === 'executed') {
      if (!this.secondsByKind.has(kind)) this.secondsByKind.set(kind, []);
      this.secondsByKind.get(kind)!.push(seconds);
    }
    if (status === 'executed' || status === 'failed') this.toRun.set(kind, Math.max(0, (this.toRun.get(kind) ?? 0) - 1));
    if (this.mode === 'lines' && status !== 'cached') {
      const n = Object.values(this.counts).reduce((a, b) => a + b, 0);
      this.out.write(`[${String(n).padStart(String(this.total).length)}/${this.total}] ${status.padEnd(8)} ${id}${status === 'executed' ? ` (${seconds.toFixed(1)}s)` : ''}${detail ? ` — ${detail}` : ''}\n`);
    } else if (this.mode === 'tty' && (status === 'failed' || status === 'skipped') && detail) {
      this.log(`${status} ${id} — ${detail}`);
    }
    this.draw();
  }
  log(message: string): void {
    if (this.mode === 'none') return;
    if (this.mode === 'tty') this.out.write('\r\x1b[K');
    this.out.write(message + '\n');
    this.draw();
  }

  eta(): number | null {
    const all = [...this.secondsByKind.values()].flat();
    if (all.length === 0) return null;
    const overall = all.reduce((a, b) => a + b, 0) / all.length;
    let total = 0;
    for (const [kind, n] of this.toRun) {
      const xs = this.secondsByKind.get(kind);
      total += n * (xs ? xs.reduce((a, b) => a + b, 0) / xs.length : overall);
    }
    return total / Math.max(1, this.slots);
  }

  line(): string {
    const c = this.counts;
    const done = c.executed + c.cached + c.failed + c.skipped;
    const eta = this.eta();
    const first = [...this.running][0];
    return `milflow ${done}/${this.total} · ${c.executed} executed · ${c.cached} cached · ${this.running.size} running · ${c.failed} failed` +
      (c.skipped ? ` · ${c.skipped} skipped` : '') + (eta !== null && this.running.size ? ` · ETA ${fmtSecs(eta)}` : '') +
      (first ? ` · ${first[0]}${first[1] ? ` ${first[1]}` : ''}` : '');
  }

  private draw(throttle = false): void {
    if (this.mode !== 'tty') return;
    const now = Date.now();
    if (throttle && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const cols = this.out.columns || 120;
    this.out.write('\r\x1b[K' + this.line().slice(0, cols - 1));
  }

  finish(): void {
    if (this.mode === 'tty') this.out.write('\r\x1b[K' + this.line().replace(/ · ETA.*$/, '') + '\n');
  }
}
