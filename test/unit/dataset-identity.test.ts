// A CLAM dataset's identity is the feature files its CSV references (per-file digests kept in
// the plan, identities and manifests): an unrelated file in features_dir changes nothing, a
// changed slide file re-plans the dataset naming that file, and plan shows hashing progress.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpec } from '../../src/spec/load.ts';
import { buildDag } from '../../src/dag/build.ts';
import { hashProgress, planDecls } from '../../src/dag/plan.ts';
import { CacheStore } from '../../src/cache/store.ts';
import type { LoadedSpec } from '../../src/spec/resolved.ts';
import { recordFinishedRun } from '../helpers/finished-run.ts';

const SPEC = `name: ident
dataset:
  clam: { csv: data.csv, features_dir: feat }
task:
  classes: [normal, tumor]
splits:
  folds: 2
  training_fractions: [1.0]
models:
  - { name: mil, type: mil }
`;

test('unrelated files in features_dir change nothing; a changed slide file re-plans the dataset, named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-ident-'));
  mkdirSync(join(dir, 'feat', 'h5_files'), { recursive: true });
  mkdirSync(join(dir, 'feat', 'pt_files'), { recursive: true });
  writeFileSync(join(dir, 'data.csv'), 'case_id,slide_id,label\nc1,s1,tumor\nc2,s2,normal\nc3,s3,normal\n');
  for (const s of ['s1', 's2', 's3']) {
    writeFileSync(join(dir, 'feat', 'h5_files', `${s}.h5`), `h5 bytes of ${s}`);
    writeFileSync(join(dir, 'feat', 'pt_files', `${s}.pt`), `pt bytes of ${s}`);
  }
  writeFileSync(join(dir, 'feat', 'h5_files', 'not_in_csv.h5'), 'another slide');
  const root = join(dir, 'runs');
  const loaded = () => parseSpec(SPEC, join(dir, 'spec.yaml'), { checkFiles: false }) as unknown as LoadedSpec;
  const plan = async () => planDecls(await buildDag(loaded()), { root, experiment: 'ident', quiet: true });

  const p0 = await plan();
  const ds0 = p0.stages.find((s) => s.id === 'dataset')!;
  assert.deepEqual(Object.keys(ds0.inputs.features_dir.files!), ['h5_files/s1.h5', 'h5_files/s2.h5', 'h5_files/s3.h5'], 'per-slide digests of the referenced files only');
  await recordFinishedRun(p0);
  const manifest = new CacheStore(p0.cacheRoot).readManifest('dataset', ds0.key);
  assert.equal(Object.keys(manifest.inputs.features_dir.files ?? {}).length, 3, 'per-slide digests in the dataset manifest');

  // Unrelated files: CLAM's pt_files/, a slide the CSV does not list, anything else.
  writeFileSync(join(dir, 'feat', 'pt_files', 's1.pt'), 'rewritten pt');
  writeFileSync(join(dir, 'feat', 'h5_files', 'not_in_csv.h5'), 'changed too');
  writeFileSync(join(dir, 'feat', 'notes.txt'), 'new file');
  const p1 = await plan();
  assert.deepEqual(p1.counts, { run: 0, cached: p0.stages.length, total: p0.stages.length }, 'every stage stays cached');

  // A referenced slide changes: the dataset and everything below re-plan, the reason names it.
  writeFileSync(join(dir, 'feat', 'h5_files', 's2.h5'), 'new h5 bytes of s2');
  const p2 = await plan();
  const ds2 = p2.stages.find((s) => s.id === 'dataset')!;
  assert.equal(ds2.action, 'run');
  assert.match(ds2.reason, /input changed: features_dir \(h5_files\/s2\.h5 changed\)/);
  assert.ok(p2.stages.filter((s) => s.action === 'run').length > 1, 'downstream stages re-plan too');
  rmSync(dir, { recursive: true, force: true });
});

test('hashing progress: plain lines with files, GB and rate when stderr is not a terminal', () => {
  const lines: string[] = [];
  const out = { isTTY: false, write: (s: string) => { lines.push(s); return true; } } as unknown as NodeJS.WriteStream;
  const report = hashProgress(out, 0);
  report({ files: 3, bytes: 3 * 2 ** 30 });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^digesting inputs: 3 files, 3\.00 GB, \d+ MB\/s/);
  assert.ok(lines[0].endsWith('\n'));
});
