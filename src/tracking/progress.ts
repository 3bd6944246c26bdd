// The one line shown while the tracker catches up after a run (`MLflow: 40/74 stages logged`):
// rewritten in place on a terminal, a plain line every few seconds otherwise (CI logs).
export class PushProgress {
  private last = '';
  private lastAt = 0;
  private shown = false;
  constructor(private out: NodeJS.WritableStream | null) {}

  private get tty(): boolean {
    return Boolean((this.out as { isTTY?: boolean } | null)?.isTTY);
  }

  update(logged: number, total: number): void {
    if (!this.out) return;
    const line = `MLflow: ${logged}/${total} stages logged`;
    if (line === this.last) return;
    this.last = line;
    if (this.tty) {
      this.out.write(`\r\x1b[K${line}`);
      this.shown = true;
    } else if (Date.now() - this.lastAt > 2000) {
      this.lastAt = Date.now();
      this.out.write(line + '\n');
    }
  }

  done(line: string): void {
    if (!this.out) return;
    this.out.write(this.tty && this.shown ? `\r\x1b[K${line}\n` : line + '\n');
  }
}
