// A complete, deterministic fake run record (events.jsonl + cache entries with every stage
// output) for tests and demos of the report and tracking without training anything:
// two models × fractions × folds, an independent cohort with ensembles, CLAM − MIL comparisons.
// Numbers are synthetic but internally consistent (metrics.json recomputed from predictions).
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { RunEvent } from '../records/events.ts';
import type { Manifest } from '../types/stage.ts';
import { summarize, jsonSafe, comparePredictions } from '../stats/summary.ts';
import type { Predictions } from '../stats/metrics.ts';
import { mulberry32 as rng } from '../datasets/prng.ts';

export interface SampleRunOptions {
  root: string; // output root (holds cache/ and <experiment>/)
  experiment?: string;
  runId?: string;
  models?: string[];
  fracs?: number[];
  folds?: number;
  nClasses?: number;
  epochs?: number;
  slides?: number;
  /** Every stage served from the cache of this earlier run (a rerun). */
  cachedFrom?: string;
  /** Mark this stage id failed. */
  failStage?: string;
  seed?: number;
}

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const predCsv = (p: Predictions) =>
  ['slide_id,Y,Y_hat,' + Array.from({ length: p.nClasses }, (_, c) => `p_${c}`).join(','), ...p.slide_id.map((s, i) => [s, p.y[i], p.y_hat[i], ...p.prob[i].map((v) => v.toFixed(6))].join(','))].join('\n') + '\n';

export function writeSampleRun(o: SampleRunOptions): { runDir: string; runId: string; events: RunEvent[]; stageIds: string[] } {
  const experiment = o.experiment ?? 'sample';
  const runId = o.runId ?? 'run-0001';
  const models = o.models ?? ['clam_sb', 'mil'];
  const fracs = o.fracs ?? [1, 0.25];
  const K = o.folds ?? 3;
  const C = o.nClasses ?? 2;
  const E = o.epochs ?? 6;
  const nTest = o.slides ?? 40;
  const seed = o.seed ?? 7;
  const runDir = join(o.root, experiment, runId);
  mkdirSync(runDir, { recursive: true });
  const t0 = Date.parse('2026-01-01T10:00:00Z');
  let clock = t0;
  const iso = () => new Date((clock += 1500)).toISOString();
  const events: RunEvent[] = [];
  const emit = (e: RunEvent) => {
    events.push(e);
    appendFileSync(join(runDir, 'events.jsonl'), JSON.stringify(e) + '\n');
  };
  type Decl = { id: string; kind: string; labels: Record<string, string | number>; params: Record<string, unknown>; write: (dir: string) => Record<string, number> };
  const decls: Decl[] = [];
  const keyOf = (id: string) => createHash('sha256').update(`${experiment}|${seed}|${C}|${id}`).digest('hex').slice(0, 16);
  const quality = (m: string, f: number) => (m.startsWith('clam') ? 1.6 : 1.0) * (0.55 + 0.45 * f);

  const predictionsFor = (m: string, f: number, k: number, cohort: string): Predictions => {
    const r = rng(seed * 1000 + models.indexOf(m) * 97 + Math.round(f * 100) * 7 + k * 13 + (cohort === 'test' ? 0 : 5000));
    const rLabels = rng(seed * 31 + k * 3 + (cohort === 'test' ? 0 : 77)); // same slides for both models
    const n = cohort === 'test' ? nTest : nTest * 2;
    const p: Predictions = { slide_id: [], y: [], prob: [], y_hat: [], nClasses: C };
    for (let i = 0; i < n; i++) {
      const y = Math.floor(rLabels() * C);
      const logits = Array.from({ length: C }, (_, c) => (c === y ? quality(m, f) * 1.4 : 0) + gauss(r) * 1.1);
      const mx = Math.max(...logits);
      const ex = logits.map((v) => Math.exp(v - mx));
      const s = ex.reduce((a, b) => a + b, 0);
      const prob = ex.map((v) => v / s);
      p.slide_id.push(`${cohort === 'test' ? 'slide' : 'ext'}_${k}_${i}`);
      p.y.push(y);
      p.prob.push(prob);
      p.y_hat.push(prob.indexOf(Math.max(...prob)));
    }
    return p;
  };

  for (const m of models)
    for (const f of fracs)
      for (let k = 0; k < K; k++) {
        const labels = { model: m, frac: f, fold: k };
        decls.push({
          id: `train/${m}/frac=${f}/fold=${k}`,
          kind: 'train',
          labels,
          params: { model: { name: m, type: m, dropout: 0.25 }, n_classes: C, train: { lr: 2e-4, max_epochs: E }, fold: k, frac: f },
          write: (dir) => {
            const r = rng(seed + k * 11 + Math.round(f * 100) + models.indexOf(m) * 5);
            const rows = ['epoch,train_loss,train_error,train_inst_loss,val_loss,val_error,val_auc'];
            const jl: string[] = [];
            let last = 0;
            for (let e = 0; e < E; e++) {
              const tl = 0.7 * Math.exp(-e / (E / 2)) + 0.1 + 0.03 * r();
              const vl = 0.7 * Math.exp(-e / E) + 0.2 + 0.05 * r();
              const va = Math.min(0.99, 0.55 + (0.4 * quality(m, f) * (e + 1)) / E / 1.6 + 0.03 * r());
              rows.push([e, tl, tl / 3, m.startsWith('clam') ? tl / 2 : 0, vl, vl / 3, va].map((v) => +(+v).toFixed(5)).join(','));
              jl.push(JSON.stringify({ name: 'train_loss', value: +tl.toFixed(5), step: e }), JSON.stringify({ name: 'val_loss', value: +vl.toFixed(5), step: e }), JSON.stringify({ name: 'val_auc', value: +va.toFixed(5), step: e }));
              last = va;
            }
            writeFileSync(join(dir, 'epochs.csv'), rows.join('\n') + '\n');
            writeFileSync(join(dir, 'metrics.jsonl'), jl.join('\n') + '\n');
            writeFileSync(join(dir, 'model.safetensors'), Buffer.alloc(256, k));
            return { best_val_auc: last, epochs: E };
          },
        });
        for (const cohort of ['test', 'external']) {
          decls.push({
            id: `evaluate/${m}/frac=${f}/fold=${k}/cohort=${cohort}`,
            kind: 'evaluate',
            labels: { ...labels, cohort },
            params: { fold: k, cohort, n_classes: C },
            write: (dir) => {
              const p = predictionsFor(m, f, k, cohort);
              writeFileSync(join(dir, 'predictions.csv'), predCsv(p));
              const r = rng(k + 99);
              const emb = ['slide_id,label,' + Array.from({ length: 8 }, (_, j) => `e_${j}`).join(',')];
              p.slide_id.forEach((s, i) => emb.push([s, p.y[i], ...Array.from({ length: 8 }, (_, j) => (j === p.y[i] ? 2 * quality(m, f) : 0) + gauss(r) * 0.8).map((v) => v.toFixed(4))].join(',')));
              writeFileSync(join(dir, 'embeddings.csv'), emb.join('\n') + '\n');
              const s = summarize(p);
              writeFileSync(join(dir, 'metrics.json'), JSON.stringify(jsonSafe(s), null, 1));
              return { auc: s.auc ?? NaN, accuracy: s.accuracy, balanced_accuracy: s.balanced_accuracy };
            },
          });
        }
      }
  for (const m of models)
    for (const f of fracs)
      decls.push({
        id: `ensemble/${m}/frac=${f}/cohort=external`,
        kind: 'ensemble',
        labels: { model: m, frac: f, cohort: 'external' },
        params: { n_classes: C },
        write: (dir) => {
          const ps = Array.from({ length: K }, (_, k) => predictionsFor(m, f, k, 'external'));
          // Ensembles average the fold models on the same slides: use fold 0's slides for all.
          const base = ps[0];
          const prob = base.prob.map((row, i) => row.map((_, c) => ps.reduce((s, p) => s + p.prob[Math.min(i, p.prob.length - 1)][c], 0) / K));
          const p: Predictions = { ...base, prob, y_hat: prob.map((r) => r.indexOf(Math.max(...r))) };
          writeFileSync(join(dir, 'predictions.csv'), predCsv(p));
          const s = summarize(p);
          writeFileSync(join(dir, 'metrics.json'), JSON.stringify(jsonSafe(s), null, 1));
          return { auc: s.auc ?? NaN };
        },
      });
  if (models.length >= 2)
    for (const f of fracs)
      for (const cohort of ['test']) {
        const [a, b] = models;
        decls.push({
          id: `compare/${a}-vs-${b}/frac=${f}/cohort=${cohort}`,
          kind: 'compare',
          labels: { a, b, frac: f, cohort },
          params: { a, b },
          write: (dir) => {
            const folds = Array.from({ length: K }, (_, k) => {
              const c = comparePredictions(predictionsFor(a, f, k, cohort), predictionsFor(b, f, k, cohort));
              return { fold: k, auc_a: c.auc_a, auc_b: c.auc_b, diff: c.diff, delong_z: c.delong?.z, delong_p: c.delong?.p };
            });
            writeFileSync(join(dir, 'compare.json'), JSON.stringify(jsonSafe({ a, b, cohort, folds, ensemble_delong: null }), null, 1));
            return {};
          },
        });
      }

  emit({
    type: 'run-start',
    time: iso(),
    runId,
    experiment,
    specPath: join(o.root, `${experiment}.yaml`),
    specHash: createHash('sha256').update(experiment).digest('hex'),
    milflowVersion: '0.1.0',
    stages: decls.map((d) => ({ id: d.id, kind: d.kind, key: keyOf(d.id), action: o.cachedFrom ? 'cached' : 'run', reason: o.cachedFrom ? 'cached' : 'new', labels: d.labels })),
  });
  const counts = { executed: 0, cached: 0, failed: 0, skipped: 0 };
  for (const d of decls) {
    const key = keyOf(d.id);
    const dir = join(o.root, 'cache', d.kind, key);
    const device = { kind: 'cpu' as const, index: 0, threads: 1 };
    if (o.cachedFrom) {
      emit({ type: 'stage-end', time: iso(), id: d.id, kind: d.kind, key, status: 'cached', seconds: 0, manifestPath: join(dir, 'manifest.json'), producedByRunId: o.cachedFrom });
      counts.cached++;
      continue;
    }
    emit({ type: 'stage-start', time: iso(), id: d.id, kind: d.kind, key, device, attempt: 1 });
    if (d.id === o.failStage) {
      emit({ type: 'stage-end', time: iso(), id: d.id, kind: d.kind, key, status: 'failed', seconds: 1.5, error: 'worker exited with code 137 (out of memory?)' });
      counts.failed++;
      continue;
    }
    mkdirSync(dir, { recursive: true });
    const started = new Date(clock).toISOString();
    const metrics = d.write(dir);
    const finished = iso();
    const seconds = d.kind === 'train' ? 40 + (d.id.length % 7) : d.kind === 'evaluate' ? 3 : 0.5;
    const manifest: Manifest & { labels: Record<string, string | number> } = {
      kind: d.kind,
      id: d.id,
      key,
      version: '1',
      params: d.params as Manifest['params'],
      inputs: {},
      files: {},
      metrics,
      engine: d.kind === 'train' ? 'native-openblas' : undefined,
      timings: { started, finished, seconds },
      host: 'testhost',
      device,
      milflow_version: '0.1.0',
      labels: d.labels,
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
    emit({ type: 'stage-end', time: finished, id: d.id, kind: d.kind, key, status: 'executed', seconds, manifestPath: join(dir, 'manifest.json') });
    counts.executed++;
  }
  emit({ type: 'run-end', time: iso(), runId, status: counts.failed ? 'failed' : 'succeeded', counts, seconds: (clock - t0) / 1000 });
  // A spec the loader accepts (every verb validates it): same models, classes, folds and fractions.
  const known = ['clam_sb', 'clam_mb', 'mil', 'mmil', 'abmil'];
  const typeOf = (m: string) => (m === 'mil' && C > 2 ? 'mmil' : known.includes(m) ? m : 'clam_sb');
  const spec = [
    `name: ${experiment}`,
    'dataset:',
    '  synthetic: { seed: 1, cases: 40, dim: 16 }',
    'task:',
    `  classes: [${Array.from({ length: C }, (_, c) => `c${c}`).join(', ')}]`,
    'splits:',
    `  folds: ${K}`,
    `  training_fractions: [${fracs.join(', ')}]`,
    'models:',
    ...models.map((m) => `  - { name: ${m}, type: ${typeOf(m)} }`),
  ];
  writeFileSync(join(runDir, 'spec.yaml'), spec.join('\n') + '\n');
  return { runDir, runId, events, stageIds: decls.map((d) => d.id) };
}
