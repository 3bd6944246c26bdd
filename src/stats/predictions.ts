// Prediction files in CLAM's fold layout: slide_id, Y, Y_hat, p_0..p_{C-1}.
import { readFileSync, writeFileSync } from 'node:fs';
import { column, parseCsv, toCsv } from '../io/csv.ts';
import { argmax, type Predictions } from './metrics.ts';

export function readPredictions(file: string): Predictions {
  const t = parseCsv(readFileSync(file, 'utf8'), file);
  const si = column(t, 'slide_id', file);
  const yi = column(t, 'Y', file);
  const hi = t.header.indexOf('Y_hat');
  const pcols: number[] = [];
  for (let c = 0; ; c++) {
    const k = t.header.indexOf(`p_${c}`);
    if (k < 0) break;
    pcols.push(k);
  }
  if (pcols.length < 2) throw new Error(`${file}: needs probability columns p_0, p_1, ... (found: ${t.header.join(', ')})`);
  const C = pcols.length;
  const num = (v: string, what: string, k: number) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new Error(`${file}:${t.lines[k]}: ${what} '${v}' is not a number`);
    return x;
  };
  const y = t.rows.map((r, k) => {
    const v = num(r[yi], 'Y', k);
    if (!Number.isInteger(v) || v < 0 || v >= C) throw new Error(`${file}:${t.lines[k]}: Y=${r[yi]} is not a class index 0..${C - 1}`);
    return v;
  });
  const prob = t.rows.map((r, k) => pcols.map((j, c) => num(r[j], `p_${c}`, k)));
  const y_hat = t.rows.map((r, k) => (hi >= 0 ? num(r[hi], 'Y_hat', k) : argmax(prob[k])));
  const ci = t.header.indexOf('case_id');
  const case_id = ci >= 0 ? t.rows.map((r) => r[ci]) : undefined;
  return { slide_id: t.rows.map((r) => r[si]), y, prob, y_hat, nClasses: C, case_id };
}

/**
 * The predictions CSV (CLAM's fold layout: slide_id, Y, Y_hat, p_0..p_{C-1}); every writer of it
 * comes here. Probabilities: shortest round-trip text, or `precision` significant digits, or
 * `fixed` decimals (small fixtures).
 */
export function predictionsCsv(p: Predictions, opts: { precision?: number; fixed?: number } = {}): string {
  const num = opts.precision !== undefined ? (v: number) => v.toPrecision(opts.precision)
    : opts.fixed !== undefined ? (v: number) => v.toFixed(opts.fixed) : (v: number) => String(v);
  const header = ['slide_id', 'Y', 'Y_hat', ...Array.from({ length: p.nClasses }, (_, c) => `p_${c}`)];
  return toCsv(header, p.slide_id.map((s, i) => [s, p.y[i], p.y_hat[i], ...Array.from(p.prob[i], num)]));
}

export function writePredictions(file: string, p: Predictions): void {
  writeFileSync(file, predictionsCsv(p));
}

/** Rows of b reordered to a's slide order; both files must hold the same slides. */
export function alignPredictions(a: Predictions, b: Predictions, names = ['A', 'B']): Predictions {
  const idx = new Map(b.slide_id.map((s, i) => [s, i]));
  if (b.slide_id.length !== a.slide_id.length || idx.size !== b.slide_id.length) {
    throw new Error(`${names[0]} has ${a.slide_id.length} slides, ${names[1]} ${b.slide_id.length} (${idx.size} distinct): a paired comparison needs the same slides`);
  }
  const order = a.slide_id.map((s) => {
    const i = idx.get(s);
    if (i === undefined) throw new Error(`slide '${s}' is in ${names[0]} but not in ${names[1]}`);
    return i;
  });
  order.forEach((i, k) => {
    if (b.y[i] !== a.y[k]) throw new Error(`slide '${a.slide_id[k]}': label ${a.y[k]} in ${names[0]} but ${b.y[i]} in ${names[1]}`);
  });
  return { slide_id: a.slide_id, y: a.y, nClasses: b.nClasses, prob: order.map((i) => b.prob[i]), y_hat: order.map((i) => b.y_hat[i]) };
}
