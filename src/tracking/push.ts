// Brings MLflow up to date with a milflow run, incrementally and idempotently: a parent run per
// `milflow run`, a nested child per stage (executed, failed, or reused from cache and linked to
// the run that computed it). Events are fed in as they happen (add); push() sends only what the
// tracking state says the server lacks, so a stage costs a fixed handful of requests (create,
// one log-batch, artifacts if it computed something, update) however often push() is called,
// and replaying a whole event log (sync) re-sends nothing. A child is created when its stage
// starts, so per-epoch metrics reach it while it trains.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RunEvent } from '../records/events.ts';
import type { Manifest } from '../types/stage.ts';
import { STAGES } from '../stages/registry.ts';
import { MlflowApiError, MlflowClient, type MlflowMetric, type MlflowRun, type MlflowTag } from './mlflow-client.ts';
import { toParams, clipTag } from './flatten.ts';
import { applicableParams, applicableSpec } from './applicable.ts';
import { headlineMetrics } from './headline.ts';
import { loadState, type PushedRun, type TrackingState } from './state.ts';

type StageEnd = Extract<RunEvent, { type: 'stage-end' }>;
type StageStart = Extract<RunEvent, { type: 'stage-start' }>;
type RunStart = Extract<RunEvent, { type: 'run-start' }>;
type RunEnd = Extract<RunEvent, { type: 'run-end' }>;
type StageManifest = Manifest & { labels?: Record<string, string | number> };

/** Outputs worth keeping in MLflow, per stage kind (its registry row's `artifacts`); checkpoints go in a logged model. */
export const ARTIFACTS: Record<string, string[]> = Object.fromEntries(
  Object.entries(STAGES).map(([k, r]) => [k, r.artifacts.filter((f) => !f.endsWith('.safetensors'))]),
);
const MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;
/** Live metric points held in memory while the server lags; beyond it the stage's end catches up from metrics.jsonl. */
const LIVE_QUEUE_MAX = 50_000;
/** Child runs pushed at once (the server answers them in parallel; a sqlite store serialises writes). */
const CONCURRENCY = 4;

/** The experiment view MLflow 3 opens (without it, the UI guesses GenAI for an empty experiment). */
export const EXPERIMENT_KIND = { key: 'mlflow.experimentKind', value: 'custom_model_development' };

export interface PushStats {
  runsCreated: number;
  metricsLogged: number;
  paramsLogged: number;
  artifactsUploaded: number;
  modelsLogged: number;
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
  /** Stages fully logged so far, of all that will be (progress line). */
  onProgress?: (logged: number, total: number) => void;
  /** Look for runs the state does not record (sync: the state may be stale or lost). */
  recover?: boolean;
}

const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : Date.now());
const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

interface StageView {
  id: string;
  start?: StageStart;
  end?: StageEnd;
  /** Live points of the current attempt, per key, in arrival order. */
  live: Map<string, MlflowMetric[]>;
  liveDropped: boolean;
  /** Its live points are part of liveCount. */
  liveCounted: boolean;
}

export class Pusher {
  readonly stats: PushStats = { runsCreated: 0, metricsLogged: 0, paramsLogged: 0, artifactsUploaded: 0, modelsLogged: 0 };
  /** One search per push, shared by the concurrent stage workers (each would otherwise search). */
  private existing?: Promise<Map<string, MlflowRun>>;
  private producerLookups = new Map<string, Promise<Record<string, string> | null>>();
  private c: MlflowClient;
  private runStart?: RunStart;
  private runEnd?: RunEnd;
  private stages = new Map<string, StageView>();
  /** Stages with events the server has not seen, with a counter bumped by each new event. */
  private dirty = new Map<string, number>();
  private liveCount = 0;
  private modelsSupported = true;
  private recover: boolean;
  private errors: string[] = [];
  private deadline?: number;

  constructor(private o: PushOptions) {
    this.c = o.client;
    const s = o.state;
    if (s.uri && s.uri !== o.client.base) {
      // Another server: nothing recorded applies there.
      s.parent = undefined;
      s.stages = {};
      s.experimentId = undefined;
      s.experimentKind = undefined;
      s.producers = undefined;
      s.headline = undefined;
    }
    s.uri = o.client.base;
    this.recover = o.recover ?? s.lastError !== undefined;
  }

  /** Feed one run event (cheap; nothing is sent until push()). */
  add(e: RunEvent): void {
    switch (e.type) {
      case 'run-start':
        this.runStart = e;
        break;
      case 'run-end':
        this.runEnd = e;
        break;
      case 'stage-start': {
        const v = this.view(e.id);
        v.start ??= e;
        if (e.attempt !== v.start.attempt) v.start = { ...e, time: v.start.time };
        this.release(v);
        v.live.clear();
        v.liveDropped = false;
        v.end = undefined;
        this.touch(e.id);
        break;
      }
      case 'stage-metric': {
        const v = this.view(e.id);
        // Once points were dropped, later ones would not line up with metrics.jsonl: the end catches up.
        if (v.end || v.liveDropped) break;
        if (this.liveCount >= LIVE_QUEUE_MAX) {
          v.liveDropped = true;
          break;
        }
        const pts = v.live.get(e.name) ?? [];
        v.liveCounted = true;
        pts.push({ key: e.name, value: Number(e.value), step: e.step ?? 0, timestamp: ms(e.time) });
        v.live.set(e.name, pts);
        this.liveCount++;
        this.touch(e.id);
        break;
      }
      case 'stage-end': {
        const v = this.view(e.id);
        v.end = e;
        this.release(v);
        if (e.status === 'skipped') this.dirty.delete(e.id);
        else this.touch(e.id);
        break;
      }
      default:
        break;
    }
  }

  /** A stage's live points no longer count against the queue bound (it ended, or restarts). */
  private release(v: StageView): void {
    if (v.liveCounted) this.liveCount -= [...v.live.values()].reduce((n, p) => n + p.length, 0);
    v.liveCounted = false;
  }

  private touch(id: string): void {
    this.dirty.set(id, (this.dirty.get(id) ?? 0) + 1);
  }

  private view(id: string): StageView {
    let v = this.stages.get(id);
    if (!v) this.stages.set(id, (v = { id, live: new Map(), liveDropped: false, liveCounted: false }));
    return v;
  }

  /** Stages that will have a child run (not skipped), and how many are fully logged. */
  progress(): { logged: number; total: number } {
    let total = 0;
    let logged = 0;
    const planned = this.runStart?.stages.map((s) => s.id) ?? [...this.stages.keys()];
    for (const id of planned) {
      const end = this.stages.get(id)?.end;
      if (end?.status === 'skipped') continue;
      total++;
      if (end && this.o.state.stages[id]?.terminated) logged++;
    }
    return { logged, total };
  }

  /** Start no new stage after this time (ms since the epoch), in the push under way too. */
  stopAt(deadline: number): void {
    this.deadline = deadline;
  }

  /** Stages MLflow refused since the last call (message per stage). */
  takeErrors(): string[] {
    return this.errors.splice(0);
  }

  /** Stages with something the server does not have yet (or the parent's end). */
  hasWork(): boolean {
    return this.dirty.size > 0 || (this.runEnd !== undefined && !this.o.state.parent?.terminated);
  }

  /**
   * Push everything fed so far that MLflow does not have yet; with `deadline` (ms since the
   * epoch), no new stage is started after it (hasWork() then says whether anything is left).
   */
  async push(deadline?: number): Promise<void> {
    if (deadline !== undefined) this.deadline = deadline;
    try {
      await this.pushAll();
    } catch (err) {
      // A create may have reached the server without its reply: search again next time.
      this.existing = undefined;
      this.recover = true;
      throw err;
    }
  }

  private async pushAll(): Promise<void> {
    const start = this.runStart;
    if (!start) return;
    const s = this.o.state;
    if (!s.experimentId || s.experimentName !== this.o.experimentName) {
      s.experimentId = await this.ensureExperiment(this.o.experimentName);
      s.experimentName = this.o.experimentName;
      this.o.save();
    }
    if (!s.experimentKind) {
      await this.c.setExperimentTag(s.experimentId, EXPERIMENT_KIND.key, EXPERIMENT_KIND.value);
      s.experimentKind = true;
      this.o.save();
    }
    const parent = await this.ensureParent(start);
    const labels = new Map(start.stages.map((st) => [st.id, st]));
    const ids = [...this.dirty.keys()];
    let failure: unknown;
    let next = 0;
    const worker = async () => {
      while (next < ids.length && failure === undefined && !(this.deadline && Date.now() > this.deadline)) {
        const id = ids[next++];
        const v = this.stages.get(id)!;
        const seen = this.dirty.get(id);
        try {
          const done = await this.pushStage(start, parent, v, labels.get(id)?.labels ?? {}, labels.get(id)?.reason);
          // An event that arrived meanwhile (the stage's end, another epoch) keeps it for the next push.
          if (done && this.dirty.get(id) === seen) this.dirty.delete(id);
        } catch (err) {
          // MLflow refusing one stage (4xx) must not hold up the others, nor be retried on every push.
          if (err instanceof MlflowApiError && err.status < 500 && err.status !== 429) {
            this.errors.push(`${id}: ${err.message}`);
            this.dirty.delete(id);
          } else failure ??= err;
        }
        const p = this.progress();
        this.o.onProgress?.(p.logged, p.total);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
    if (failure !== undefined) throw failure;
    if (this.runEnd && this.dirty.size === 0) await this.finishParent(parent, this.runEnd);
  }

  private async ensureExperiment(name: string): Promise<string> {
    const found = await this.c.getExperimentByName(name);
    if (found) {
      if (found.tags?.some((t) => t.key === EXPERIMENT_KIND.key)) this.o.state.experimentKind = true;
      return found.experiment_id;
    }
    try {
      const id = await this.c.createExperiment(name, [EXPERIMENT_KIND]);
      this.o.state.experimentKind = true;
      return id;
    } catch (err) {
      if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const again = await this.c.getExperimentByName(name);
        if (again) return again.experiment_id;
      }
      throw err;
    }
  }

  /** The MLflow runs (parent and children) of one milflow run in this experiment. */
  private runsOf(milflowRunId: string): Promise<MlflowRun[]> {
    return this.c.searchRuns([this.o.state.experimentId!], `tags.\`milflow.run_id\` = ${q(milflowRunId)}`, 100_000);
  }

  /** Runs already in MLflow for this milflow run, by stage id ('' = parent); one search. */
  private existingRuns(runId: string): Promise<Map<string, MlflowRun>> {
    this.existing ??= this.runsOf(runId).then((runs) => {
      const found = new Map<string, MlflowRun>();
      for (const r of runs) {
        const tag = (k: string) => r.data.tags?.find((t) => t.key === k)?.value;
        found.set(tag('milflow.role') === 'parent' ? '' : (tag('milflow.stage_id') ?? '?'), r);
      }
      return found;
    });
    return this.existing;
  }

  private async ensureRun(slot: string, runId: string, create: () => Promise<MlflowRun>): Promise<PushedRun> {
    const s = this.o.state;
    const known = slot === '' ? s.parent : s.stages[slot];
    if (known) return known;
    // A run not in the state can exist only if the state was lost or a reply never arrived.
    const search = this.recover ? (await this.existingRuns(runId)).get(slot) : undefined;
    let rec: PushedRun;
    if (search) {
      rec = { mlflowRunId: search.info.run_id, artifactUri: search.info.artifact_uri, dirty: true };
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
    const spec = this.o.spec as { description?: string } | undefined;
    const rec = await this.ensureRun('', start.runId, () =>
      this.c.createRun({
        experimentId: this.o.state.experimentId!,
        runName: start.runId,
        startTime: ms(start.time),
        tags: tagList({
          'milflow.run_id': start.runId,
          'milflow.role': 'parent',
          'milflow.experiment': start.experiment,
          'milflow.spec_path': start.specPath,
          'milflow.spec_hash': start.specHash,
          'milflow.version': start.milflowVersion,
          'milflow.stages_planned': String(start.stages.length),
          'mlflow.note.content': spec?.description,
          'mlflow.source.name': 'milflow',
          'mlflow.source.type': 'LOCAL',
        }),
      }),
    );
    if (!rec.params) {
      const params = toParams(applicableSpec(this.o.spec));
      await this.c.logBatch(rec.mlflowRunId, { params });
      this.stats.paramsLogged += params.length;
      rec.params = true;
      this.o.save();
    }
    return rec;
  }

  /** Pushes what a stage's child lacks; true when nothing is left until its next event. */
  private async pushStage(start: RunStart, parent: PushedRun, v: StageView, labels: Record<string, string | number>, reason?: string): Promise<boolean> {
    const end = v.end;
    if (end?.status === 'skipped') return true;
    const manifest = end ? readManifest(end.manifestPath) : undefined;
    const reused = end?.status === 'cached';
    const kind = end?.kind ?? v.start?.kind ?? '';
    const t0 = v.start ? ms(v.start.time) : end ? ms(end.time) - Math.round((end.seconds ?? 0) * 1000) : Date.now();
    const known = this.o.state.stages[v.id];
    const producer = reused && end.producedByRunId && !known ? await this.resolveProducer(end.producedByRunId, v.id) : undefined;
    const rec = await this.ensureRun(v.id, start.runId, () => {
      const tags: Record<string, string | undefined> = {
        'milflow.run_id': start.runId,
        'milflow.role': 'stage',
        'milflow.stage_id': v.id,
        'mlflow.parentRunId': parent.mlflowRunId,
        'milflow.kind': kind,
        'milflow.cache_key': end?.key ?? v.start?.key,
        'milflow.reused': String(reused),
        'milflow.reason': reason,
        'milflow.reused_from_run_id': reused ? end.producedByRunId : undefined,
        'milflow.reused_from_mlflow_run_id': producer,
        'milflow.device': v.start ? `${v.start.device.kind}:${v.start.device.index}` : undefined,
      };
      for (const [k, val] of Object.entries({ ...labels, ...manifest?.labels })) tags[k] = String(val);
      return this.c.createRun({ experimentId: this.o.state.experimentId!, runName: v.id, startTime: t0, tags: tagList(tags) });
    });
    if (producer && !rec.producer) rec.producer = producer;

    if (!end) {
      // Running: only the live metrics so far.
      await this.pushMetrics(rec, this.livePoints(v));
      return true;
    }
    if (!rec.final) {
      const tags: Record<string, string | undefined> = {
        'milflow.status': end.status,
        'milflow.version': manifest?.milflow_version ?? start.milflowVersion,
        'milflow.engine': manifest?.engine,
        'milflow.host': manifest?.host,
        'milflow.error': end.error,
      };
      if (manifest?.device) tags['milflow.device'] = `${manifest.device.kind}:${manifest.device.index}`;
      const params = !rec.params && manifest ? toParams(applicableParams(manifest.params)) : [];
      await this.pushMetrics(rec, this.finalPoints(v, end, manifest), { params, tags: tagList(tags) });
      this.stats.paramsLogged += params.length;
      rec.params = true;
      rec.final = true;
      this.o.save();
    }
    if (end.status === 'executed' && manifest && end.manifestPath && !rec.artifacts) {
      await this.uploadOutputs(rec, dirname(end.manifestPath), ARTIFACTS[end.kind] ?? []);
      rec.artifacts = true;
      this.o.save();
    }
    if (end.status === 'executed' && end.kind === 'train' && end.manifestPath && rec.model === undefined) {
      rec.model = await this.logModel(rec, v.id, dirname(end.manifestPath), manifest);
      this.o.save();
    }
    const status = end.status === 'failed' ? 'FAILED' : 'FINISHED';
    if (rec.terminated !== status) {
      await this.c.updateRun(rec.mlflowRunId, status, ms(end.time));
      rec.terminated = status;
      this.o.save();
    }
    return true;
  }

  /** The MLflow run that computed a reused entry: from the producer's own tracking state, else one search per producer run. */
  private async resolveProducer(producerRunId: string, stageId: string): Promise<string> {
    const s = this.o.state;
    s.producers ??= {};
    if (!(producerRunId in s.producers)) {
      // Concurrent stage workers reusing the same producer share one lookup.
      let pending = this.producerLookups.get(producerRunId);
      if (!pending) {
        pending = this.lookUpProducer(producerRunId).finally(() => this.producerLookups.delete(producerRunId));
        this.producerLookups.set(producerRunId, pending);
      }
      s.producers[producerRunId] = await pending;
      this.o.save();
    }
    return s.producers[producerRunId]?.[stageId] ?? 'not tracked';
  }

  private async lookUpProducer(producerRunId: string): Promise<Record<string, string> | null> {
    const s = this.o.state;
    try {
      const theirs = loadState(join(dirname(this.o.runDir), basename(producerRunId)));
      if (theirs.uri === s.uri && theirs.experimentId === s.experimentId && Object.keys(theirs.stages).length)
        return Object.fromEntries(Object.entries(theirs.stages).map(([id, r]) => [id, r.mlflowRunId]));
    } catch {
      /* no readable state there */
    }
    const runs = await this.runsOf(producerRunId);
    const found: Record<string, string> = {};
    for (const r of runs) {
      const id = r.data.tags?.find((t) => t.key === 'milflow.stage_id')?.value;
      if (id) found[id] = r.info.run_id;
    }
    return Object.keys(found).length ? found : null;
  }

  private livePoints(v: StageView): Map<string, MlflowMetric[]> {
    return v.live;
  }

  /** Everything a finished stage's child should hold: its history (metrics.jsonl) and final numbers. */
  private finalPoints(v: StageView, end: StageEnd, manifest: StageManifest | undefined): Map<string, MlflowMetric[]> {
    const ts = ms(end.time);
    const wanted = new Map<string, MlflowMetric[]>();
    const add = (key: string, value: number, step: number, t = ts) => {
      if (!wanted.has(key)) wanted.set(key, []);
      wanted.get(key)!.push({ key, value, step, timestamp: t });
    };
    // Per-epoch history only where it was computed; reused children carry the final numbers.
    if (end.status === 'executed' && end.manifestPath) {
      const p = join(dirname(end.manifestPath), 'metrics.jsonl');
      if (existsSync(p)) {
        readFileSync(p, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (!line.trim()) return;
            let m: { name: string; value: number; step?: number | null; time?: number };
            try {
              m = JSON.parse(line);
            } catch {
              throw new Error(`${p}:${i + 1}: invalid metric line`);
            }
            add(m.name, Number(m.value), m.step ?? 0, m.time ?? ts);
          });
      }
    } else if (end.status === 'failed') {
      for (const [k, pts] of v.live) for (const x of pts) add(k, x.value, x.step, x.timestamp);
    }
    for (const [k, val] of Object.entries(manifest?.metrics ?? {})) if (!wanted.has(k) && typeof val === 'number') add(k, val, 0);
    return wanted;
  }

  /** Sends the points beyond what the server holds (plus any params/tags) in one log-batch where limits allow. */
  private async pushMetrics(rec: PushedRun, wanted: Map<string, MlflowMetric[]>, extra: { params?: { key: string; value: string }[]; tags?: MlflowTag[] } = {}): Promise<void> {
    rec.metrics ??= {};
    if (rec.dirty) {
      for (const key of wanted.keys()) rec.metrics[key] = (await this.c.getMetricHistory(rec.mlflowRunId, key)).length;
      rec.dirty = false;
      this.o.save();
    }
    const todo: MlflowMetric[] = [];
    // Lengths now: live lists keep growing while the batch is in flight.
    const upTo = new Map([...wanted].map(([key, pts]) => [key, pts.length]));
    for (const [key, pts] of wanted) todo.push(...pts.slice(rec.metrics[key] ?? 0, upTo.get(key)));
    if (todo.length === 0 && !extra.params?.length && !extra.tags?.length) return;
    if (todo.length) {
      rec.dirty = true; // until the server confirms
      this.o.save();
    }
    await this.c.logBatch(rec.mlflowRunId, { metrics: todo, params: extra.params, tags: extra.tags });
    for (const [key, n] of upTo) rec.metrics[key] = Math.max(rec.metrics[key] ?? 0, n);
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

  /**
   * The trained checkpoint as an MLflow 3 logged model (safetensors + its config + an MLmodel
   * file), linked to the child run as its output; on a server without logged models, a plain
   * artifact under model/. Returns the model id ('' when stored as a plain artifact).
   */
  private async logModel(rec: PushedRun, stageId: string, dir: string, manifest: StageManifest | undefined): Promise<string> {
    const ckpt = join(dir, 'model.safetensors');
    if (!existsSync(ckpt) || statSync(ckpt).size > MAX_ARTIFACT_BYTES) return '';
    const bytes = readFileSync(ckpt);
    const config = checkpointConfig(bytes);
    const files: [string, Uint8Array][] = [
      ['model.safetensors', bytes],
      ['config.json', Buffer.from(JSON.stringify(config ?? {}, null, 1) + '\n')],
    ];
    if (this.modelsSupported) {
      try {
        const name = stageId.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 200);
        const model = await this.c.createLoggedModel({
          experimentId: this.o.state.experimentId!,
          name,
          modelType: String((config as { type?: string } | undefined)?.type ?? 'milflow'),
          sourceRunId: rec.mlflowRunId,
          params: config ? toParams(config) : [],
          tags: [{ key: 'milflow.stage_id', value: stageId }],
        });
        const mlmodel = [
          `artifact_path: ${name}`,
          `model_id: ${model.model_id}`,
          'flavors:',
          '  milflow:',
          '    checkpoint: model.safetensors',
          '    config: config.json',
          `    milflow_version: ${manifest?.milflow_version ?? ''}`,
          `run_id: ${rec.mlflowRunId}`,
          `utc_time_created: '${new Date().toISOString().replace('T', ' ').replace('Z', '')}'`,
          '',
        ].join('\n');
        for (const [n, b] of [...files, ['MLmodel', Buffer.from(mlmodel)] as [string, Uint8Array]]) {
          await this.c.uploadArtifact(model.artifact_uri, n, b);
          this.stats.artifactsUploaded++;
        }
        await this.c.finalizeLoggedModel(model.model_id);
        await this.c.logOutputs(rec.mlflowRunId, [{ model_id: model.model_id, step: 0 }]);
        this.stats.modelsLogged++;
        return model.model_id;
      } catch (err) {
        // MLflow 2 has no logged models (404 / ENDPOINT_NOT_FOUND): plain artifacts instead.
        if (!(err instanceof MlflowApiError) || (err.status !== 404 && err.errorCode !== 'ENDPOINT_NOT_FOUND')) throw err;
        this.modelsSupported = false;
      }
    }
    if (!rec.artifactUri) rec.artifactUri = (await this.c.getRun(rec.mlflowRunId)).info.artifact_uri;
    for (const [n, b] of files) {
      await this.c.uploadArtifact(rec.artifactUri!, `model/${n}`, b);
      this.stats.artifactsUploaded++;
    }
    return '';
  }

  private async finishParent(parent: PushedRun, runEnd: RunEnd): Promise<void> {
    const s = this.o.state;
    if (!parent.final) {
      const ts = ms(runEnd.time);
      const m = (key: string, value: number): MlflowMetric => ({ key, value, step: 0, timestamp: ts });
      const metrics = [m('run_seconds', runEnd.seconds), ...Object.entries(runEnd.counts).map(([k, v]) => m(`stages_${k}`, v))];
      if (!s.headline) {
        const ends = [...this.stages.values()].map((v) => v.end).filter((e): e is StageEnd => !!e && (e.status === 'executed' || e.status === 'cached'));
        for (const h of headlineMetrics(ends.map((e) => ({ id: e.id, kind: e.kind, manifest: readManifest(e.manifestPath) })))) metrics.push(m(h.key, h.value));
      }
      const wanted = new Map(metrics.map((x) => [x.key, [x]]));
      await this.pushMetrics(parent, wanted);
      parent.final = true;
      s.headline = true;
      this.o.save();
    }
    const status = runEnd.status === 'succeeded' ? 'FINISHED' : runEnd.status === 'failed' ? 'FAILED' : 'KILLED';
    if (parent.terminated !== status) {
      await this.c.updateRun(parent.mlflowRunId, status, ms(runEnd.time));
      parent.terminated = status;
      this.o.save();
    }
  }

  /** The run's report/ on the parent run, under report/, unless this very report.html went before; 1 if sent. */
  async reportOnce(): Promise<number> {
    const s = this.o.state;
    const reportDir = join(this.o.runDir, 'report');
    const html = join(reportDir, 'report.html');
    if (!s.parent || !existsSync(html)) return 0;
    const st = statSync(html);
    const stamp = `${st.size}:${st.mtimeMs}`;
    if (s.report === stamp) return 0;
    await this.uploadOutputs(s.parent, reportDir, ['report.html', 'report.md'], 'report/');
    s.report = stamp;
    this.o.save();
    return 1;
  }

  /** The experiment's page in the MLflow UI. */
  experimentUrl(): string | undefined {
    const id = this.o.state.experimentId;
    // MLflow 3.x opens its GenAI view unless asked for the training one (3.17 ignores the experiment tag).
    return id ? `${this.c.base}/#/experiments/${id}?workflowType=machine_learning` : undefined;
  }
}

function tagList(tags: Record<string, string | undefined>): MlflowTag[] {
  return Object.entries(tags)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([key, value]) => ({ key, value: clipTag(value) }));
}

function readManifest(path: string | undefined): StageManifest | undefined {
  if (!path || !existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: unreadable manifest (${(err as Error).message})`);
  }
}

/** The model config stored in a safetensors header (__metadata__.config), if any. */
function checkpointConfig(bytes: Uint8Array): unknown {
  try {
    const n = Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
    const header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
    const c = header.__metadata__?.config;
    return typeof c === 'string' ? JSON.parse(c) : undefined;
  } catch {
    return undefined;
  }
}
