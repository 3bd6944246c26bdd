// Brings MLflow up to date with a milflow run, idempotently: a parent run per `milflow run`, a
// nested child per stage (executed, failed, or reused from cache and linked to the run that
// computed it). What was pushed is kept in TrackingState; runs are found by tag before any is
// created, and metric histories are re-read whenever a push may have half-succeeded, so
// replaying the same events never duplicates runs or metric points.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunEvent } from '../exec/events.ts';
import type { Manifest } from '../stages/types.ts';
import { STAGES } from '../stages/registry.ts';
import { MlflowClient, type MlflowMetric, type MlflowRun, type MlflowTag } from './mlflow-client.ts';
import { toParams, clipTag } from './flatten.ts';
import { stageEnds } from './events.ts';
import type { PushedRun, TrackingState } from './state.ts';

type StageEnd = Extract<RunEvent, { type: 'stage-end' }>;
type RunStart = Extract<RunEvent, { type: 'run-start' }>;

/** Outputs worth keeping in MLflow, per stage kind (its row's `artifacts`). */
export const ARTIFACTS: Record<string, string[]> = Object.fromEntries(Object.entries(STAGES).map(([k, r]) => [k, r.artifacts]));
const MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;

export interface PushStats {
  runsCreated: number;
  metricsLogged: number;
  paramsLogged: number;
  artifactsUploaded: number;
}

export interface PushOptions {
  client: MlflowClient;
  runDir: string;
  /** Resolved spec: flattened into the parent run's params. */
  spec: unknown;
  experimentName: string;
  state: TrackingState;
  /** Called after every state change (persist it). */
  save: () => void;
}

const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : Date.now());
const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class Pusher {
  readonly stats: PushStats = { runsCreated: 0, metricsLogged: 0, paramsLogged: 0, artifactsUploaded: 0 };
  private existing?: Map<string, MlflowRun>;
  private c: MlflowClient;

  constructor(private o: PushOptions) {
    this.c = o.client;
    const s = o.state;
    if (s.uri && s.uri !== o.client.base) {
      // Another server: nothing recorded applies there.
      s.parent = undefined;
      s.stages = {};
      s.experimentId = undefined;
    }
    s.uri = o.client.base;
  }

  /** Push everything the events describe that MLflow does not have yet. */
  async push(events: RunEvent[]): Promise<void> {
    try {
      await this.pushAll(events);
    } catch (err) {
      // A create may have reached the server without its reply: search again next time.
      this.existing = undefined;
      throw err;
    }
  }

  private async pushAll(events: RunEvent[]): Promise<void> {
    const start = events.find((e): e is RunStart => e.type === 'run-start');
    if (!start) return;
    const s = this.o.state;
    if (!s.experimentId || s.experimentName !== this.o.experimentName) {
      s.experimentId = await this.c.ensureExperiment(this.o.experimentName);
      s.experimentName = this.o.experimentName;
      this.o.save();
    }
    const parent = await this.ensureParent(start);
    const startTimes = new Map<string, string>();
    for (const e of events) if (e.type === 'stage-start' && !startTimes.has(e.id)) startTimes.set(e.id, e.time);
    const planned = new Map(start.stages.map((st) => [st.id, st]));
    for (const end of stageEnds(events)) {
      if (end.status === 'skipped') continue;
      await this.pushStage(start, parent, end, startTimes.get(end.id), planned.get(end.id)?.labels ?? {}, planned.get(end.id)?.reason);
    }
    const runEnd = events.find((e): e is Extract<RunEvent, { type: 'run-end' }> => e.type === 'run-end');
    if (runEnd) await this.finishParent(parent, runEnd);
  }

  /** Runs already in MLflow for this milflow run, by stage id ('' = parent); one search. */
  private async existingRuns(runId: string): Promise<Map<string, MlflowRun>> {
    if (!this.existing) {
      const runs = await this.c.searchRuns([this.o.state.experimentId!], `tags.\`milflow.run_id\` = ${q(runId)}`);
      this.existing = new Map();
      for (const r of runs) {
        const tag = (k: string) => r.data.tags?.find((t) => t.key === k)?.value;
        this.existing.set(tag('milflow.role') === 'parent' ? '' : (tag('milflow.stage_id') ?? '?'), r);
      }
    }
    return this.existing;
  }

  private async ensureRun(slot: string, runId: string, create: () => Promise<MlflowRun>): Promise<PushedRun> {
    const s = this.o.state;
    const known = slot === '' ? s.parent : s.stages[slot];
    if (known) return known;
    const found = (await this.existingRuns(runId)).get(slot);
    let rec: PushedRun;
    if (found) {
      // Created earlier but not recorded (state lost, or the reply never arrived): re-check all.
      rec = { mlflowRunId: found.info.run_id, artifactUri: found.info.artifact_uri, dirty: true };
    } else {
      const run = await create();
      this.stats.runsCreated++;
      rec = { mlflowRunId: run.info.run_id, artifactUri: run.info.artifact_uri, metrics: {} };
    }
    if (slot === '') s.parent = rec;
    else s.stages[slot] = rec;
    this.o.save();
    return rec;
  }

  private async ensureParent(start: RunStart): Promise<PushedRun> {
    const rec = await this.ensureRun('', start.runId, () =>
      this.c.createRun({
        experimentId: this.o.state.experimentId!,
        runName: start.runId,
        startTime: ms(start.time),
        tags: [
          { key: 'milflow.run_id', value: start.runId },
          { key: 'milflow.role', value: 'parent' },
        ],
      }),
    );
    if (!rec.params) {
      // Where results are stored and tracked is not a parameter of the experiment.
      const { tracking: _t, output: _o, ...params } = (this.o.spec ?? {}) as Record<string, unknown>;
      await this.logParams(rec, toParams(params));
    }
    if (!rec.tags) {
      await this.c.logBatch(rec.mlflowRunId, {
        tags: tagList({
          'milflow.experiment': start.experiment,
          'milflow.spec_path': start.specPath,
          'milflow.spec_hash': start.specHash,
          'milflow.version': start.milflowVersion,
          'milflow.stages_planned': String(start.stages.length),
          'mlflow.note.content': (this.o.spec as { description?: string } | undefined)?.description,
          'mlflow.source.name': 'milflow',
          'mlflow.source.type': 'LOCAL',
        }),
      });
      rec.tags = true;
      this.o.save();
    }
    return rec;
  }

  private async logParams(rec: PushedRun, params: { key: string; value: string }[]): Promise<void> {
    await this.c.logBatch(rec.mlflowRunId, { params });
    this.stats.paramsLogged += params.length;
    rec.params = true;
    this.o.save();
  }

  private async pushStage(start: RunStart, parent: PushedRun, end: StageEnd, startedAt: string | undefined, labels: Record<string, string | number>, reason?: string): Promise<void> {
    const manifest = readManifest(end.manifestPath);
    const reused = end.status === 'cached';
    const t0 = startedAt ? ms(startedAt) : ms(end.time) - Math.round((end.seconds ?? 0) * 1000);
    const rec = await this.ensureRun(end.id, start.runId, () =>
      this.c.createRun({
        experimentId: this.o.state.experimentId!,
        runName: end.id,
        startTime: t0,
        tags: [
          { key: 'milflow.run_id', value: start.runId },
          { key: 'milflow.role', value: 'stage' },
          { key: 'milflow.stage_id', value: end.id },
          { key: 'mlflow.parentRunId', value: parent.mlflowRunId },
        ],
      }),
    );
    if (!rec.params && manifest) await this.logParams(rec, toParams(manifest.params));
    if (!rec.tags) {
      const allLabels = { ...(manifest as { labels?: Record<string, string | number> } | undefined)?.labels, ...labels };
      const tags: Record<string, string | undefined> = {
        'milflow.kind': end.kind,
        'milflow.cache_key': end.key,
        'milflow.status': end.status,
        'milflow.reused': String(reused),
        'milflow.version': manifest?.milflow_version ?? start.milflowVersion,
        'milflow.engine': manifest?.engine,
        'milflow.device': manifest?.device ? `${manifest.device.kind}:${manifest.device.index}` : undefined,
        'milflow.host': manifest?.host,
        'milflow.error': end.error,
        'milflow.reason': reason,
        'milflow.reused_from_run_id': reused ? end.producedByRunId : undefined,
      };
      for (const [k, v] of Object.entries(allLabels)) tags[k] = String(v);
      await this.c.logBatch(rec.mlflowRunId, { tags: tagList(tags) });
      rec.tags = true;
      this.o.save();
    }
    if (reused && end.producedByRunId && !rec.linked) await this.linkProducer(rec, end);
    if (manifest) await this.pushMetrics(rec, end, manifest);
    if (!reused && end.status === 'executed' && manifest && end.manifestPath && !rec.artifacts) {
      await this.uploadOutputs(rec, dirname(end.manifestPath), ARTIFACTS[end.kind] ?? []);
      rec.artifacts = true;
      this.o.save();
    }
    const status = end.status === 'failed' ? 'FAILED' : 'FINISHED';
    if (rec.terminated !== status) {
      await this.c.updateRun(rec.mlflowRunId, status, ms(end.time));
      rec.terminated = status;
      this.o.save();
    }
  }

  /** Tag a reused child with the MLflow run of the stage that computed the cache entry. */
  private async linkProducer(rec: PushedRun, end: StageEnd): Promise<void> {
    const runs = await this.c.searchRuns(
      [this.o.state.experimentId!],
      `tags.\`milflow.run_id\` = ${q(end.producedByRunId!)} and tags.\`milflow.stage_id\` = ${q(end.id)}`,
      1,
    );
    if (runs.length === 0) return; // the producer was never tracked (yet): retried on the next sync
    await this.c.logBatch(rec.mlflowRunId, { tags: [{ key: 'milflow.reused_from_mlflow_run_id', value: runs[0].info.run_id }] });
    rec.linked = true;
    this.o.save();
  }

  private async pushMetrics(rec: PushedRun, end: StageEnd, manifest: Manifest): Promise<void> {
    const ts = ms(end.time);
    const wanted = new Map<string, MlflowMetric[]>();
    const add = (key: string, value: number, step: number) => {
      if (!wanted.has(key)) wanted.set(key, []);
      wanted.get(key)!.push({ key, value, step, timestamp: ts });
    };
    // Per-epoch history only where it was computed; reused children carry the final numbers.
    if (end.status === 'executed' && end.manifestPath) {
      const p = join(dirname(end.manifestPath), 'metrics.jsonl');
      if (existsSync(p)) {
        readFileSync(p, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (!line.trim()) return;
            try {
              const m = JSON.parse(line) as { name: string; value: number; step?: number };
              add(m.name, Number(m.value), m.step ?? 0);
            } catch {
              throw new Error(`${p}:${i + 1}: invalid metric line`);
            }
          });
      }
    }
    for (const [k, v] of Object.entries(manifest.metrics ?? {})) if (!wanted.has(k) && typeof v === 'number') add(k, v, 0);
    rec.metrics ??= {};
    if (rec.dirty) {
      for (const key of wanted.keys()) rec.metrics[key] = (await this.c.getMetricHistory(rec.mlflowRunId, key)).length;
      rec.dirty = false;
      this.o.save();
    }
    const todo: MlflowMetric[] = [];
    for (const [key, pts] of wanted) todo.push(...pts.slice(rec.metrics[key] ?? 0));
    if (todo.length === 0) return;
    rec.dirty = true; // until the server confirms
    this.o.save();
    await this.c.logBatch(rec.mlflowRunId, { metrics: todo });
    for (const [key, pts] of wanted) rec.metrics[key] = pts.length;
    rec.dirty = false;
    this.stats.metricsLogged += todo.length;
    this.o.save();
  }

  private async uploadOutputs(rec: PushedRun, dir: string, names: string[], prefix = ''): Promise<void> {
    if (!rec.artifactUri) rec.artifactUri = (await this.c.getRun(rec.mlflowRunId)).info.artifact_uri;
    for (const name of names) {
      const p = join(dir, name);
      if (!existsSync(p) || statSync(p).size > MAX_ARTIFACT_BYTES) continue;
      await this.c.uploadArtifact(rec.artifactUri!, prefix + name, readFileSync(p));
      this.stats.artifactsUploaded++;
    }
  }

  private async finishParent(parent: PushedRun, runEnd: Extract<RunEvent, { type: 'run-end' }>): Promise<void> {
    if (!parent.final) {
      const ts = ms(runEnd.time);
      const m = (key: string, value: number): MlflowMetric => ({ key, value, step: 0, timestamp: ts });
      const metrics = [m('run_seconds', runEnd.seconds), ...Object.entries(runEnd.counts).map(([k, v]) => m(`stages_${k}`, v))];
      parent.metrics ??= {};
      if (parent.dirty) {
        for (const x of metrics) parent.metrics[x.key] = (await this.c.getMetricHistory(parent.mlflowRunId, x.key)).length;
      }
      const todo = metrics.filter((x) => !parent.metrics![x.key]);
      parent.dirty = true;
      this.o.save();
      if (todo.length) await this.c.logBatch(parent.mlflowRunId, { metrics: todo });
      for (const x of metrics) parent.metrics[x.key] = 1;
      parent.dirty = false;
      parent.final = true;
      this.stats.metricsLogged += todo.length;
      this.o.save();
    }
    const status = runEnd.status === 'succeeded' ? 'FINISHED' : runEnd.status === 'failed' ? 'FAILED' : 'KILLED';
    if (parent.terminated !== status) {
      await this.c.updateRun(parent.mlflowRunId, status, ms(runEnd.time));
      parent.terminated = status;
      this.o.save();
    }
  }

  /** The report (written by `milflow report` after the run) on the parent run, under report/. */
  async pushReport(reportDir: string): Promise<void> {
    const parent = this.o.state.parent;
    if (!parent || !existsSync(reportDir)) return;
    await this.uploadOutputs(parent, reportDir, ['report.html', 'report.md'], 'report/');
  }
}

function tagList(tags: Record<string, string | undefined>): MlflowTag[] {
  return Object.entries(tags)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([key, value]) => ({ key, value: clipTag(value) }));
}

function readManifest(path: string | undefined): (Manifest & { labels?: Record<string, string | number> }) | undefined {
  if (!path || !existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: unreadable manifest (${(err as Error).message})`);
  }
}
