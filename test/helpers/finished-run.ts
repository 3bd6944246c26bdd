// A run that "finished" without computing anything: an entry (one small file) published for every
// planned stage and the identities recorded, as `milflow run` leaves them. Tests of planning use it
// to get a cache and identities to plan against.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../../src/dag/plan.ts';
import { CacheStore } from '../../src/cache/store.ts';
import { updateIdentities, type IdentityRecord } from '../../src/records/journal.ts';

export async function recordFinishedRun(plan: Plan): Promise<void> {
  const store = new CacheStore(plan.cacheRoot);
  const ids: Record<string, IdentityRecord> = {};
  for (const s of plan.stages) {
    if (!store.has(s.kind, s.key)) {
      const tmp = store.makeTemp();
      writeFileSync(join(tmp, 'out.txt'), s.id);
      store.publish(tmp, {
        kind: s.kind, id: s.id, key: s.key, version: s.version, params: s.params, inputs: s.inputs, metrics: {},
        timings: { started: '', finished: '', seconds: 0 }, host: 'h', device: { kind: 'cpu', index: 0, threads: 1 }, milflow_version: 'test',
      });
    }
    ids[s.id] = { key: s.key, version: s.version, params: s.params, inputs: s.inputs, status: 'executed', runId: 'r0' };
  }
  await updateIdentities(plan.root, plan.experiment, ids);
}
