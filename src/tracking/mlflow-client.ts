// A small typed client for the MLflow REST API 2.0 over node:http (mlflow-js is not on the
// registry; fetch refuses URLs with credentials and cannot bound the connect phase on its own).
// Only what milflow needs: experiments, runs, log-batch, metric history, logged models and the
// server's artifact proxy (`mlflow server` serves artifacts by default: PUT /api/2.0/mlflow-artifacts/...).
// Transient failures (network, 429, 5xx, timeouts) are retried with exponential backoff;
// MLflow's own 4xx answers are not, they surface as MlflowApiError with MLflow's error_code.
// Credentials (http://user:pass@host, or MLflow's MLFLOW_TRACKING_USERNAME/PASSWORD or
// MLFLOW_TRACKING_TOKEN) become an Authorization header; `base` never carries them.
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
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
export interface MlflowExperiment { experiment_id: string; name: string; artifact_location?: string; lifecycle_stage?: string; tags?: MlflowTag[] }

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
  /** Per-attempt time for the server to answer, once connected, in ms (default 15000). */
  timeoutMs?: number;
  /** Per-attempt time to open the TCP (and TLS) connection, in ms (default 3000). */
  connectTimeoutMs?: number;
  /** Where MLFLOW_TRACKING_USERNAME/PASSWORD/TOKEN are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** MLflow limits (server-side validation); values beyond them are rejected. */
export const LIMITS = { paramValue: 500, paramKey: 250, tagValue: 5000, batchMetrics: 1000, batchParams: 100, batchTags: 100, batchTotal: 1000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Any `scheme://user:pass@` in a text, with the credentials replaced: safe to print or store. */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*@/gi, '$1***@');
}

/** The URI without credentials (what milflow prints and stores). */
export function publicUri(uri: string): string {
  try {
    const u = new URL(uri);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return redact(uri).replace(/\/+$/, '');
  }
}

const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 8 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 8 }) };

export class MlflowClient {
  /** Server URL without credentials: safe to print and store. */
  readonly base: string;
  /** HTTP requests sent (every attempt), for the cost report. */
  requests = 0;
  private url: URL;
  private auth?: string;
  private retries: number;
  private backoffMs: number;
  private timeoutMs: number;
  private connectTimeoutMs: number;
  private inflight = new Set<{ destroy(err?: Error): void }>();
  private stopped = false;

  constructor(uri: string, opts: MlflowClientOptions = {}) {
    if (!/^https?:\/\//.test(uri)) throw new Error(`MLflow tracking URI must be http(s)://, got '${redact(uri)}'`);
    const u = new URL(uri.replace(/\/+$/, ''));
    const env = opts.env ?? process.env;
    if (u.username || u.password) this.auth = 'Basic ' + Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
    else if (env.MLFLOW_TRACKING_USERNAME || env.MLFLOW_TRACKING_PASSWORD)
      this.auth = 'Basic ' + Buffer.from(`${env.MLFLOW_TRACKING_USERNAME ?? ''}:${env.MLFLOW_TRACKING_PASSWORD ?? ''}`).toString('base64');
    else if (env.MLFLOW_TRACKING_TOKEN) this.auth = `Bearer ${env.MLFLOW_TRACKING_TOKEN}`;
    u.username = '';
    u.password = '';
    this.url = u;
    this.base = u.toString().replace(/\/+$/, '');
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
    this.timeoutMs = opts.timeoutMs ?? 15000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
  }

  /** One HTTP exchange, bounded: connectTimeoutMs to connect, then timeoutMs for the answer. */
  private send(method: string, path: string, body: Uint8Array | undefined, contentType: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
    const target = new URL(this.base + path);
    const https = target.protocol === 'https:';
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (contentType) headers['Content-Type'] = contentType;
    if (body) headers['Content-Length'] = body.byteLength;
    if (this.auth) headers.Authorization = this.auth;
    this.requests++;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.inflight.delete(req);
        req.destroy();
        reject(err);
      };
      const arm = (ms: number, what: string) => {
        clearTimeout(timer);
        timer = setTimeout(() => fail(new Error(`${what} timed out after ${ms} ms`)), ms);
      };
      if (this.stopped) return reject(new Error('stopped'));
      const req = (https ? httpsRequest : httpRequest)(target, { method, headers, agent: https ? agents.https : agents.http }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          this.inflight.delete(req);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      });
      req.on('error', fail);
      this.inflight.add(req);
      req.on('socket', (sock) => {
        if (sock.connecting) {
          arm(this.connectTimeoutMs, 'connect');
          sock.once('connect', () => arm(timeoutMs, 'response'));
        } else arm(timeoutMs, 'response');
      });
      req.end(body);
    });
  }

  /**
   * `once`: the request must not be repeated once it may have reached the server (a metric batch
   * sent twice is logged twice): only failures to connect are retried; a timeout or a reset after
   * sending surfaces as MlflowUnavailableError, and the caller re-reads what the server holds.
   */
  private async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown, raw?: Uint8Array, once = false): Promise<T> {
    let lastErr: unknown;
    const payload = raw ?? (body !== undefined ? Buffer.from(JSON.stringify(body)) : undefined);
    const type = raw ? 'application/octet-stream' : body !== undefined ? 'application/json' : undefined;
    // Uploads get time for their bytes too (at a pessimistic 1 MB/s).
    const timeout = this.timeoutMs + (raw ? Math.ceil(raw.byteLength / 1000) : 0);
    for (let attempt = 0; attempt < this.retries; attempt++) {
      if (attempt > 0) await sleep(this.backoffMs * 2 ** (attempt - 1));
      if (this.stopped) throw new MlflowUnavailableError(`MLflow at ${this.base}: requests stopped`);
      let res: { status: number; text: string };
      try {
        res = await this.send(method, path, payload, type, timeout);
      } catch (err) {
        lastErr = err;
        const code = (err as NodeJS.ErrnoException).code;
        const unsent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /^connect timed out/.test((err as Error).message);
        if (once && !unsent) break;
        continue; // connection refused, reset, timeout: transient
      }
      const { status, text } = res;
      if (status >= 200 && status < 300) {
        try {
          return (text ? JSON.parse(text) : {}) as T;
        } catch {
          throw new MlflowApiError(`MLflow ${method} ${path.split('?')[0]}: answer is not JSON: ${text.slice(0, 200)}`, status);
        }
      }
      let code: string | undefined;
      let message = text.slice(0, 500);
      try {
        const j = JSON.parse(text);
        code = j.error_code;
        message = j.message ?? message;
      } catch {
        /* not JSON */
      }
      if (status === 401 || status === 403) message = `${message || 'not authorised'} (credentials: user:password in the tracking URI, or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD)`;
      const err = new MlflowApiError(redact(`MLflow ${method} ${path.split('?')[0]}: ${status} ${code ?? ''} ${message}`.trim()), status, code);
      if (status === 429 || status >= 500) {
        lastErr = err;
        continue;
      }
      throw err;
    }
    const why = lastErr instanceof Error ? lastErr.message : String(lastErr);
    throw new MlflowUnavailableError(redact(`MLflow at ${this.base} unavailable after ${this.retries} attempts (${method} ${path.split('?')[0]}): ${why}`));
  }

  /**
   * Abandons every request in flight and refuses new ones. Safe for the tracking state: a create
   * or a metric batch that reached the server anyway is found again by the next sync.
   */
  stop(): void {
    this.stopped = true;
    for (const r of this.inflight) r.destroy(new Error('stopped'));
    this.inflight.clear();
  }

  /** One quick probe (a single attempt, short timeouts): is anything answering? */
  async health(timeoutMs = 2000): Promise<boolean> {
    try {
      const r = await this.send('GET', '/health', undefined, undefined, timeoutMs);
      return r.status >= 200 && r.status < 300;
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

  /**
   * log-batch, packed into as few requests as MLflow's limits allow (100 params, 100 tags,
   * 1000 entities in all per request): a stage's params, tags and metrics usually go in one.
   */
  async logBatch(runId: string, data: { metrics?: MlflowMetric[]; params?: MlflowParam[]; tags?: MlflowTag[] }): Promise<void> {
    const metrics = (data.metrics ?? []).map((m) => ({ ...m, value: Number.isFinite(m.value) ? m.value : (String(m.value) as unknown as number) }));
    const params = [...(data.params ?? [])];
    const tags = [...(data.tags ?? [])];
    while (params.length || tags.length || metrics.length) {
      const p = params.splice(0, LIMITS.batchParams);
      const t = tags.splice(0, LIMITS.batchTags);
      const m = metrics.splice(0, Math.min(LIMITS.batchMetrics, LIMITS.batchTotal - p.length - t.length));
      const body: Record<string, unknown> = { run_id: runId };
      if (p.length) body.params = p;
      if (t.length) body.tags = t;
      if (m.length) body.metrics = m;
      await this.request('POST', '/api/2.0/mlflow/runs/log-batch', body, undefined, m.length > 0);
    }
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.request('POST', '/api/2.0/mlflow/experiments/set-experiment-tag', { experiment_id: experimentId, key, value });
  }

  async getExperiment(experimentId: string): Promise<MlflowExperiment & { tags?: MlflowTag[] }> {
    const r = await this.request<{ experiment: MlflowExperiment & { tags?: MlflowTag[] } }>('GET', `/api/2.0/mlflow/experiments/get?experiment_id=${encodeURIComponent(experimentId)}`);
    return r.experiment;
  }

  /** MLflow 3 logged model (404 on MLflow 2). */
  async createLoggedModel(args: { experimentId: string; name: string; modelType?: string; sourceRunId?: string; params?: MlflowParam[]; tags?: MlflowTag[] }): Promise<{ model_id: string; artifact_uri: string }> {
    const r = await this.request<{ model: { info: { model_id: string; artifact_uri: string } } }>('POST', '/api/2.0/mlflow/logged-models', {
      experiment_id: args.experimentId,
      name: args.name,
      model_type: args.modelType,
      source_run_id: args.sourceRunId,
      params: args.params ?? [],
      tags: args.tags ?? [],
    });
    return r.model.info;
  }

  async finalizeLoggedModel(modelId: string, status = 'LOGGED_MODEL_READY'): Promise<void> {
    await this.request('PATCH', `/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}`, { model_id: modelId, status });
  }

  /** Records models as outputs of a run (the run page lists them). */
  async logOutputs(runId: string, models: { model_id: string; step: number }[]): Promise<void> {
    await this.request('POST', '/api/2.0/mlflow/runs/outputs', { run_id: runId, models });
  }

  async getLoggedModel(modelId: string): Promise<{ info: { model_id: string; artifact_uri: string; status?: string; source_run_id?: string; name?: string }; data?: { params?: MlflowParam[] } }> {
    const r = await this.request<{ model: { info: { model_id: string; artifact_uri: string; status?: string; source_run_id?: string; name?: string }; data?: { params?: MlflowParam[] } } }>(
      'GET',
      `/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}`,
    );
    return r.model;
  }

  /** Files under an `mlflow-artifacts:` URI (the server's artifact proxy). */
  async listProxyArtifacts(artifactUri: string): Promise<{ path: string; is_dir?: boolean; file_size?: string | number }[]> {
    const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
    if (!m) throw new Error(`artifact URI '${artifactUri}' is not served by the tracking server`);
    const r = await this.request<{ files?: { path: string; is_dir?: boolean; file_size?: string | number }[] }>('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(m[1])}`);
    return r.files ?? [];
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
