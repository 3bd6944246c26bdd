// A small typed client for the MLflow REST API 2.0 over fetch (mlflow-js is not on the registry).
// Only what milflow needs: experiments, runs, log-batch, metric history and the server's
// artifact proxy (`mlflow server` serves artifacts by default: PUT /api/2.0/mlflow-artifacts/...).
// Transient failures (network, 429, 5xx, timeouts) are retried with exponential backoff;
// MLflow's own 4xx answers are not, they surface as MlflowApiError with MLflow's error_code.

export interface MlflowTag { key: string; value: string }
export interface MlflowParam { key: string; value: string }
export interface MlflowMetric { key: string; value: number; timestamp: number; step: number }

export interface MlflowRunInfo {
  run_id: string;
  experiment_id: string;
  run_name?: string;
  status: 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: string;
}
export interface MlflowRun {
  info: MlflowRunInfo;
  data: { metrics?: MlflowMetric[]; params?: MlflowParam[]; tags?: MlflowTag[] };
}
export interface MlflowExperiment { experiment_id: string; name: string; artifact_location?: string; lifecycle_stage?: string }

export class MlflowApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}
/** The server could not be reached (or kept failing) after all retries. */
export class MlflowUnavailableError extends Error {}

export interface MlflowClientOptions {
  /** Attempts per request for transient failures (default 4). */
  retries?: number;
  /** First backoff delay in ms; doubles each attempt (default 250). */
  backoffMs?: number;
  /** Per-attempt timeout in ms (default 15000). */
  timeoutMs?: number;
}

/** MLflow limits (server-side validation); values beyond them are rejected. */
export const LIMITS = { paramValue: 500, paramKey: 250, tagValue: 5000, batchMetrics: 1000, batchParams: 100, batchTags: 100 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MlflowClient {
  readonly base: string;
  private retries: number;
  private backoffMs: number;
  private timeoutMs: number;

  constructor(uri: string, opts: MlflowClientOptions = {}) {
    if (!/^https?:\/\//.test(uri)) throw new Error(`MLflow tracking URI must be http(s)://, got '${uri}'`);
    this.base = uri.replace(/\/+$/, '');
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
    this.timeoutMs = opts.timeoutMs ?? 15000;
  }

  private async request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, raw?: Uint8Array): Promise<T> {
    const url = `${this.base}${path}`;
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.retries; attempt++) {
      if (attempt > 0) await sleep(this.backoffMs * 2 ** (attempt - 1));
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: raw ? { 'Content-Type': 'application/octet-stream' } : body !== undefined ? { 'Content-Type': 'application/json' } : {},
          body: raw ? (raw as unknown as BodyInit) : body !== undefined ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        lastErr = err;
        continue; // connection refused, reset, timeout: transient
      }
      const text = await res.text().catch(() => '');
      if (res.ok) return (text ? JSON.parse(text) : {}) as T;
      let code: string | undefined;
      let message = text.slice(0, 500);
      try {
        const j = JSON.parse(text);
        code = j.error_code;
        message = j.message ?? message;
      } catch {
        /* not JSON */
      }
      const err = new MlflowApiError(`MLflow ${method} ${path.split('?')[0]}: ${res.status} ${code ?? ''} ${message}`.trim(), res.status, code);
      if (res.status === 429 || res.status >= 500) {
        lastErr = err;
        continue;
      }
      throw err;
    }
    const why = lastErr instanceof Error ? (lastErr.cause instanceof Error ? lastErr.cause.message : lastErr.message) : String(lastErr);
    throw new MlflowUnavailableError(`MLflow at ${this.base} unavailable after ${this.retries} attempts (${method} ${path.split('?')[0]}): ${why}`);
  }

  async health(): Promise<boolean> {
    try {
      const res = await fetch(`${this.base}/health`, { signal: AbortSignal.timeout(3000) });
      return res.ok;
    } catch {
      return false;
    }
  }

  async getExperimentByName(name: string): Promise<MlflowExperiment | undefined> {
    try {
      const r = await this.request<{ experiment: MlflowExperiment }>('GET', `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
      return r.experiment;
    } catch (err) {
      if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  async createExperiment(name: string, tags: MlflowTag[] = []): Promise<string> {
    const r = await this.request<{ experiment_id: string }>('POST', '/api/2.0/mlflow/experiments/create', { name, tags });
    return r.experiment_id;
  }

  /** Experiment id by name, created when missing (race-safe: a concurrent create wins). */
  async ensureExperiment(name: string): Promise<string> {
    const found = await this.getExperimentByName(name);
    if (found) return found.experiment_id;
    try {
      return await this.createExperiment(name);
    } catch (err) {
      if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const again = await this.getExperimentByName(name);
        if (again) return again.experiment_id;
      }
      throw err;
    }
  }

  async createRun(args: { experimentId: string; runName?: string; startTime?: number; tags?: MlflowTag[] }): Promise<MlflowRun> {
    const r = await this.request<{ run: MlflowRun }>('POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: args.experimentId,
      run_name: args.runName,
      start_time: args.startTime ?? Date.now(),
      tags: args.tags ?? [],
    });
    return r.run;
  }

  async updateRun(runId: string, status: MlflowRunInfo['status'], endTime?: number): Promise<void> {
    await this.request('POST', '/api/2.0/mlflow/runs/update', { run_id: runId, status, end_time: endTime });
  }

  async getRun(runId: string): Promise<MlflowRun> {
    const r = await this.request<{ run: MlflowRun }>('GET', `/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(runId)}`);
    return r.run;
  }

  /** All runs matching a filter (pages through the results). */
  async searchRuns(experimentIds: string[], filter = '', maxResults = 1000): Promise<MlflowRun[]> {
    const out: MlflowRun[] = [];
    let token: string | undefined;
    do {
      const r = await this.request<{ runs?: MlflowRun[]; next_page_token?: string }>('POST', '/api/2.0/mlflow/runs/search', {
        experiment_ids: experimentIds,
        filter,
        max_results: Math.min(maxResults, 1000),
        page_token: token,
      });
      out.push(...(r.runs ?? []));
      token = r.next_page_token || undefined;
    } while (token && out.length < maxResults);
    return out;
  }

  /** log-batch, split to respect MLflow's per-request limits. */
  async logBatch(runId: string, data: { metrics?: MlflowMetric[]; params?: MlflowParam[]; tags?: MlflowTag[] }): Promise<void> {
    const metrics = (data.metrics ?? []).map((m) => ({ ...m, value: Number.isFinite(m.value) ? m.value : (String(m.value) as unknown as number) }));
    const params = data.params ?? [];
    const tags = data.tags ?? [];
    for (let i = 0; i < params.length; i += LIMITS.batchParams)
      await this.request('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: runId, params: params.slice(i, i + LIMITS.batchParams) });
    for (let i = 0; i < tags.length; i += LIMITS.batchTags)
      await this.request('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: runId, tags: tags.slice(i, i + LIMITS.batchTags) });
    for (let i = 0; i < metrics.length; i += LIMITS.batchMetrics)
      await this.request('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: runId, metrics: metrics.slice(i, i + LIMITS.batchMetrics) });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.request('POST', '/api/2.0/mlflow/runs/set-tag', { run_id: runId, key, value });
  }

  async getMetricHistory(runId: string, key: string): Promise<MlflowMetric[]> {
    const out: MlflowMetric[] = [];
    let token: string | undefined;
    do {
      const q = `run_id=${encodeURIComponent(runId)}&metric_key=${encodeURIComponent(key)}&max_results=25000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
      const r = await this.request<{ metrics?: MlflowMetric[]; next_page_token?: string }>('GET', `/api/2.0/mlflow/metrics/get-history?${q}`);
      out.push(...(r.metrics ?? []).map((m) => ({ ...m, value: Number(m.value), step: Number(m.step ?? 0), timestamp: Number(m.timestamp) })));
      token = r.next_page_token || undefined;
    } while (token);
    return out;
  }

  /**
   * Upload one artifact through the server's artifact proxy. `artifactUri` is the run's
   * info.artifact_uri; only `mlflow-artifacts:` URIs (the default of `mlflow server`) are supported.
   */
  async uploadArtifact(artifactUri: string, relPath: string, content: Uint8Array): Promise<void> {
    const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
    if (!m) throw new Error(`artifact URI '${artifactUri}' is not served by the tracking server (start it with --serve-artifacts)`);
    const path = [...m[1].split('/'), ...relPath.split('/')].filter(Boolean).map(encodeURIComponent).join('/');
    await this.request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${path}`, undefined, content);
  }

  async listArtifacts(runId: string, path = ''): Promise<{ path: string; is_dir: boolean; file_size?: number }[]> {
    const r = await this.request<{ files?: { path: string; is_dir: boolean; file_size?: number }[] }>(
      'GET',
      `/api/2.0/mlflow/artifacts/list?run_id=${encodeURIComponent(runId)}${path ? `&path=${encodeURIComponent(path)}` : ''}`,
    );
    return r.files ?? [];
  }
}
