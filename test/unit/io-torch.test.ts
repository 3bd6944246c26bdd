// The strict .pt reader against files PyTorch wrote (test/fixtures/pt, made by
// scripts/make-pt-fixtures.py): both containers, strided and half tensors, CLAM checkpoints
// with DataParallel keys, and pickles that try to run code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PickleRefused, readPt, readPtFeatures, readPtStateDict } from '../../src/io/torch.ts';
import { readBag } from '../../src/io/h5.ts';
import { featureShape } from '../../src/datasets/h5-shape.ts';
import { loadCheckpoint } from '../../src/models/checkpoint.ts';
import { canonicalKey } from '../../src/models/params.ts';

const F = new URL('../fixtures/pt/', import.meta.url).pathname;
const want = JSON.parse(readFileSync(join(F, 'tensors/tensors.json'), 'utf8'));

test('feature tensors: zip and legacy containers give PyTorch values exactly', async () => {
  for (const f of ['features_zip.pt', 'features_legacy.pt']) {
    const r = readPtFeatures(join(F, 'tensors', f));
    assert.equal(r.n, 37);
    assert.equal(r.dim, 16);
    want.features.flat().forEach((v: number, i: number) => assert.equal(r.features[i], Math.fround(v), `${f}[${i}]`));
    assert.deepEqual(await featureShape(join(F, 'tensors', f)), [37, 16]);
    const bag = await readBag(join(F, 'tensors', f));
    assert.equal(bag.n, 37);
    assert.equal(bag.coords, undefined);
  }
});

test('a non-contiguous view (x.t()) is gathered through its strides; float16 is widened', () => {
  const t = readPtFeatures(join(F, 'tensors/features_transposed.pt'));
  assert.deepEqual([t.n, t.dim], [16, 37]);
  for (let i = 0; i < 16; i++) for (let j = 0; j < 37; j++) assert.equal(t.features[i * 37 + j], Math.fround(want.features[j][i]));
  const h = readPtFeatures(join(F, 'tensors/features_half.pt'));
  want.half.flat().forEach((v: number, i: number) => assert.equal(h.features[i], Math.fround(v)));
});

test('an integer tensor is not a feature tensor: the message says what the file holds', () => {
  assert.throws(() => readPtFeatures(join(F, 'tensors/int64.pt')), /int64.pt: feature tensor of int64, expected floating point/);
});

test('pickles that call os.system are refused, naming the call, and nothing runs', () => {
  const marker = '/tmp/milflow-pt-fixture-was-executed';
  rmSync(marker, { force: true });
  for (const f of ['system.pt', 'state_dict_system.pt', 'system_legacy.pt']) {
    assert.throws(() => readPt(join(F, 'evil', f)), (e: unknown) => {
      assert.ok(e instanceof PickleRefused, String(e));
      assert.match((e as Error).message, new RegExp(`${f}: refused: the pickle references posix\\.system`));
      assert.match((e as Error).message, /never runs code/);
      return true;
    });
    assert.throws(() => readPtStateDict(join(F, 'evil', f)), /refused/);
  }
  assert.equal(existsSync(marker), false);
});

test('not a torch file, truncated files and compressed archives are errors naming the file', () => {
  const d = mkdtempSync(join(tmpdir(), 'pt-'));
  try {
    writeFileSync(join(d, 'x.pt'), 'hello world');
    assert.throws(() => readPt(join(d, 'x.pt')), /x\.pt: not a torch\.save file/);
    const good = readFileSync(join(F, 'tensors/features_zip.pt'));
    writeFileSync(join(d, 'cut.pt'), good.subarray(0, good.length - 200));
    assert.throws(() => readPt(join(d, 'cut.pt')), /cut\.pt: /);
    const legacy = readFileSync(join(F, 'tensors/features_legacy.pt'));
    writeFileSync(join(d, 'cut-legacy.pt'), legacy.subarray(0, legacy.length - 100));
    assert.throws(() => readPtFeatures(join(d, 'cut-legacy.pt')), /cut-legacy\.pt: truncated/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test("CLAM checkpoints: DataParallel's .module dropped, instance_loss_fn buffers ignored, config inferred", async () => {
  assert.equal(canonicalKey('attention_net.module.3.attention_a.0.weight'), 'attention_net.3.attention_a.0.weight');
  assert.equal(canonicalKey('module.classifiers.weight'), 'classifiers.weight');
  assert.equal(canonicalKey('modules.x'), 'modules.x');
  for (const k of [0, 1]) {
    const path = join(F, `clam_pt/checkpoints/s_${k}_checkpoint.pt`);
    const sd = readPtStateDict(path);
    assert.ok(sd.has('attention_net.module.0.weight') && sd.has('instance_loss_fn.labels'));
    const ck = await loadCheckpoint(path);
    assert.equal(ck.config.type, 'clam_sb');
    assert.equal(ck.config.n_classes, 2);
    assert.equal(ck.config.dim, 64);
    // First weight of the first layer, as PyTorch stored it.
    assert.equal(ck.params[0], sd.get('attention_net.module.0.weight')!.data[0]);
  }
  // Detected by content, not by name.
  const d = mkdtempSync(join(tmpdir(), 'pt-'));
  try {
    copyFileSync(join(F, 'clam_pt/checkpoints/s_1_checkpoint.pt'), join(d, 'weights.dat'));
    assert.equal((await loadCheckpoint(join(d, 'weights.dat'))).config.type, 'clam_sb');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
