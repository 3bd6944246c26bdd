// A complete, deterministic fake run record (events.jsonl + cache entries with every stage
// output) for tests and demos of the report and tracking without training anything:
// two models × fractions × folds, an independent cohort with ensembles, CLAM − MIL comparisons.
// Numbers are synthetic but internally consistent (metrics.json recomputed from predictions).
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { RunEvent } from '../records/events.ts';
import type { Manifest } from '../types/stage.ts';
import { summarize, jsonSafe } from '../stats/summary.ts';
import { aggregateFolds, compareFolds, meanSoftmax } from '../stats/folds-summary.ts';
import { toCsv } from '../io/csv.ts';
import type { Predictions } from '../stats/metrics.ts';
import { predictionsCsv } from '../stats/predictions.ts';
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
  /** This model at this fraction predicts class 0 for every test slide (a degenerate run). */
  degenerate?: { model: string; frac: number };
}

/** 'clam_sb/B=16' (a swept variant, as identities write it) → labels { model: 'clam_sb', B: '16' }. */
const modelLabels = (m: string): Record<string, string> => {
  const [model, ...sweep] = m.split('/');
  return { model, ...Object.fromEntries(sweep.map((x) => x.split('=') as [string, string])) };
};
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const predCsv = (p: Predictions) => predictionsCsv(p, { fixed: 6 });

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
    // Same slides for both models; an independent cohort is the same slides for every fold model.
    const rLabels = rng(seed * 31 + (cohort === 'test' ? k * 3 : 77));
    const flat = o.degenerate && o.degenerate.model === m && o.degenerate.frac === f && cohort === 'test';
    const n = cohort === 'test' ? nTest : nTest * 2;
    const p: Predictions = { slide_id: [], y: [], prob: [], y_hat: [], nClasses: C };
    for (let i = 0; i < n; i++) {
      const y = Math.floor(rLabels() * C);
      // A degenerate model: class 0 wins for every slide, by a margin that still ranks the slides.
      const logits = Array.from({ length: C }, (_, c) => (flat ? (c === 0 ? 3 : 0) + (c === y ? 0.8 : 0) + gauss(r) * 0.2 : (c === y ? quality(m, f) * 1.4 : 0) + gauss(r) * 1.1));
      const mx = Math.max(...logits);
      const ex = logits.map((v) => Math.exp(v - mx));
      const s = ex.reduce((a, b) => a + b, 0);
      const prob = ex.map((v) => v / s);
      p.slide_id.push(cohort === 'test' ? `slide_${k}_${i}` : `ext_${i}`);
      p.y.push(y);
      p.prob.push(prob);
      p.y_hat.push(prob.indexOf(Math.max(...prob)));
    }
    return p;
  };

  // Dataset stages: the slides the folds test (each slide once), patches per slide, one exclusion.
  for (const cohort of ['test', 'external']) {
    const id = cohort === 'test' ? 'dataset' : 'dataset/cohort=external';
    decls.push({
      id, kind: 'dataset', labels: cohort === 'test' ? {} : { cohort: 'external' }, params: { source: 'synthetic' },
      write: (dir) => {
        const seen = new Map<string, number>();
        for (let k = 0; k < (cohort === 'test' ? K : 1); k++) {
          const p = predictionsFor(models[0], fracs[0], k, cohort);
          p.slide_id.forEach((sid, i) => seen.set(sid, p.y[i]));
        }
        const r = rng(seed + 4242 + (cohort === 'test' ? 0 : 1));
        const rows = [...seen].map(([sid, y], i) => [`case_${cohort}_${Math.floor(i / 2)}`, sid, `class_${y}`, y, 200 + Math.floor(r() * 800), `bags/${sid}.h5`]);
        writeFileSync(join(dir, 'slides.csv'), toCsv(['case_id', 'slide_id', 'label', 'label_index', 'n', 'path'], rows));
        writeFileSync(join(dir, 'excluded.csv'), toCsv(['slide_id', 'reason'], cohort === 'test' ? [['slide_broken', 'segment: cannot open slide (truncated TIFF)'], ['slide_empty', 'empty bag: 0 patches']] : []));
        writeFileSync(join(dir, 'dataset.json'), JSON.stringify({ classes: Array.from({ length: C }, (_, c) => `class_${c}`), n_slides: rows.length }));
        return { n_slides: rows.length };
      },
    });
  }

  for (const m of models)
    for (const f of fracs)
      for (let k = 0; k < K; k++) {
        const labels = { ...modelLabels(m), frac: f, fold: k };
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
            return { best_val_auc: last, val_auc: last, val_error: +(0.5 - last / 3).toFixed(5), epochs: E };
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
  // The statistics stages' outputs come from the stages' own functions, as in a real run.
  const foldsOf = (m: string, f: number, cohort: string) => Array.from({ length: K }, (_, k) => ({ fold: k, id: `evaluate/${m}/frac=${f}/fold=${k}/cohort=${cohort}`, pred: predictionsFor(m, f, k, cohort) }));
  for (const m of models)
    for (const f of fracs)
      for (const cohort of ['test', 'external'])
        decls.push({
          id: `aggregate/${m}/frac=${f}/cohort=${cohort}`,
          kind: 'aggregate',
          labels: { ...modelLabels(m), frac: f, cohort },
          params: { cohort },
          write: (dir) => {
            const { summary, rocRows } = aggregateFolds(foldsOf(m, f, cohort), { cohort });
            writeFileSync(join(dir, 'summary.json'), JSON.stringify(jsonSafe(summary), null, 1));
            writeFileSync(join(dir, 'roc_mean.csv'), toCsv(['fpr', 'tpr_mean', 'tpr_std', 'tpr_lower', 'tpr_upper'], rocRows));
            return { auc_mean: summary.auc.mean, n_folds: K };
          },
        });
  for (const m of models)
    for (const f of fracs)
      decls.push({
        id: `ensemble/${m}/frac=${f}/cohort=external`,
        kind: 'ensemble',
        labels: { ...modelLabels(m), frac: f, cohort: 'external' },
        params: { n_classes: C },
        write: (dir) => {
          const p = meanSoftmax(foldsOf(m, f, 'external').map((x) => x.pred));
          writeFileSync(join(dir, 'predictions.csv'), predCsv(p));
          const s = summarize(p);
          writeFileSync(join(dir, 'metrics.json'), JSON.stringify(jsonSafe({ cohort: 'external', n_models: K, ...s }), null, 1));
          return { auc: s.auc ?? NaN };
        },
      });
  if (models.length >= 2)
    for (const f of fracs)
      for (const cohort of ['test', 'external']) {
        const [a, b] = models;
        decls.push({
          id: `compare/${a}-vs-${b}/frac=${f}/cohort=${cohort}`,
          kind: 'compare',
          labels: { model_a: a, model_b: b, frac: f, cohort },
          params: { a, b, cohort },
          write: (dir) => {
            const ens = cohort === 'test' ? undefined : ([meanSoftmax(foldsOf(a, f, cohort).map((x) => x.pred)), meanSoftmax(foldsOf(b, f, cohort).map((x) => x.pred)), ['a', 'b']] as [Predictions, Predictions, [string, string]]);
            const { folds, across, ensemble } = compareFolds(foldsOf(a, f, cohort), foldsOf(b, f, cohort), ens);
            writeFileSync(join(dir, 'compare.json'), JSON.stringify(jsonSafe({ a, b, cohort, across_folds: across, folds, ensemble_delong: ensemble ?? null }), null, 1));
            return { n_folds: folds.length };
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
    `  classes: [${Array.from({ length: C }, (_, c) => `class_${c}`).join(', ')}]`,
    'splits:',
    `  folds: ${K}`,
    `  training_fractions: [${fracs.join(', ')}]`,
    'models:',
    // Sweep variants ('clam_sb/B=16') are one model of the spec.
    ...[...new Set(models.map((m) => m.split('/')[0]))].map((m) => `  - { name: ${m}, type: ${typeOf(m)} }`),
  ];
  writeFileSync(join(runDir, 'spec.yaml'), spec.join('\n') + '\n');
  return { runDir, runId, events, stageIds: decls.map((d) => d.id) };
}
