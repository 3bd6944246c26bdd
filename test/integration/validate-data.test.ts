// Issue 11 finding 6: `validate` catches the data errors `run` would stop on (duplicate slide ids,
// wrong feature dimension, feature files that are not HDF5 / truncated / a directory), refuses a
// FIFO instead of blocking, and bounds absurd synthetic sizes — each message naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeBag } from '../../src/io/h5.ts';
import { runCli, tempDir, writeSpec } from '../helpers/cli.ts';

const milflow = (cwd: string, ...args: string[]) => runCli(args, { cwd, timeout: 60_000 });
const spec = (dataset: string) => `name: vd\ndataset:\n${dataset}\ntask:\n  classes: [normal, tumor]\nmodels:\n  - { name: m, type: mil }\n`;

test('finding 6: validate --data names duplicate ids, wrong dims, non-HDF5, truncated and directory feature files', async (t) => {
  const dir = tempDir('milflow-vd-', t);
  const h5 = join(dir, 'feats', 'h5_files');
  mkdirSync(h5, { recursive: true });
  const bag = (id: string, n: number, dim: number) => writeBag(join(h5, `${id}.h5`), new Float32Array(n * dim).fill(0.5), n, dim);
  await bag('s1', 4, 8);
  await bag('s2', 3, 8);
  await bag('s6', 3, 16);
  await bag('s4', 200, 8);
  truncateSync(join(h5, 's4.h5'), Math.floor(statSync(join(h5, 's4.h5')).size / 2));
  writeFileSync(join(h5, 's3.h5'), 'slide_id,feature\ns3,1\n');
  mkdirSync(join(h5, 's5.h5'));
  writeFileSync(join(dir, 'slides.csv'), 'case_id,slide_id,label\nc1,s1,normal\nc2,s2,tumor\nc2,s2,tumor\nc3,s3,normal\nc4,s4,tumor\nc5,s5,normal\nc6,s6,tumor\n');
  writeSpec(dir, spec('  clam: { csv: slides.csv, features_dir: feats }'));
  const r = milflow(dir, 'validate', 'spec.yaml');
  const out = r.out + r.err;
  assert.equal(r.code, 2, out);
  assert.match(out, /slides\.csv:4: slide 's2' is listed twice \(also line 3\)/);
  assert.match(out, /s3\.h5: is not an HDF5 file: no HDF5 signature \(it looks like text\)/);
  assert.match(out, /s4\.h5: is truncated: \d+ bytes, but its HDF5 superblock says \d+/);
  assert.match(out, /s5\.h5: is a directory, not an HDF5 file/);
  assert.match(out, /slide 's6': features have dimension 16, but slide 's1' has 8/);
  assert.doesNotMatch(out, /name not defined|HDF5-DIAG/);
  // --no-data skips the reading (the spec itself is fine).
  assert.equal(milflow(dir, 'validate', 'spec.yaml', '--no-data').code, 0);
});

test('finding 6: a FIFO as the CSV is refused at once by validate and run (no blocking, no lost SIGTERM)', (t) => {
  const dir = tempDir('milflow-vd-', t);
  const mk = spawnSync('mkfifo', [join(dir, 'bags.csv')]);
  if (mk.status !== 0) return; // no mkfifo here
  writeSpec(dir, spec('  mil_csv: { csv: bags.csv }'));
  for (const verb of ['validate', 'run']) {
    const t0 = Date.now();
    const r = milflow(dir, verb, 'spec.yaml');
    assert.equal(r.code, 2, `${verb}: ${r.out}${r.err}`);
    assert.match(r.err, /named pipe \(FIFO\): bags\.csv/);
    assert.ok(Date.now() - t0 < 30_000);
  }
});

test('finding 6: absurd synthetic sizes are spec errors, not an out-of-memory abort', (t) => {
  const dir = tempDir('milflow-vd-', t);
  writeSpec(dir, spec('  synthetic: { seed: 1, cases: 2000000000 }'));
  const r = milflow(dir, 'validate', 'spec.yaml');
  assert.equal(r.code, 2, r.out + r.err);
  assert.match(r.err, /spec\.yaml:\d+:\d+ dataset\.synthetic\.cases: 2000000000 cases make about 4\.0 billion slides/);
  writeSpec(dir, spec('  synthetic: { seed: 1, cases: 100000, bag_size: [100000, 100000], dim: 1024 }'));
  assert.match(milflow(dir, 'validate', 'spec.yaml').err, /about \d+\.\d TiB of features/);
});
