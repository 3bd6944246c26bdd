// A failed stage reads the same wherever it ran: a StageError naming the stage id and kind, with
// the path of a log file that exists and says why ("<id>: <reason> (log: <path>)"), and the run
// exits with the code src/errors.ts gives a stage failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planDecls } from '../../src/dag/plan.ts';
import { executePlan } from '../../src/exec/orchestrator.ts';
import { registerStageKind } from '../../src/stages/registry.ts';
import { readEvents } from '../../src/records/events.ts';
import { EXIT, StageError, exitCodeOf } from '../../src/errors.ts';
import { statusText } from '../../src/cli/status.ts';
import { readRecord } from '../../src/records/journal.ts';
import type { StageDecl } from '../../src/types/stage.ts';

const KINDS = fileURLToPath(new URL('../integration/exec-kinds.ts', import.meta.url));
await registerStageKind(`${KINDS}#heavy`);
await registerStageKind(`${KINDS}#light`);

test('a stage failing in-process and one failing in a worker: same StageError shape, log named and present', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-stage-err-'));
  const decls: StageDecl[] = [
    { id: 'ok', kind: 't_light', params: { name: 'ok' }, inputs: {} },
    { id: 'bad/light', kind: 't_light', params: { name: 'l', fail_slide: 'TCGA-LI-0001' }, inputs: { ok: 'ok' } },
    { id: 'bad/heavy', kind: 't_heavy', params: { name: 'h', fail_slide: 'TCGA-HE-0002' }, inputs: { ok: 'ok' } },
  ];
  const plan = await planDecls(decls, { root, experiment: 'e' });
  const r = await executePlan({ plan, resources: { devices: ['cpu'], slots_per_device: 1 }, progress: 'none', keepGoing: true });

  assert.equal(r.record.status, 'failed');
  assert.equal(r.exitCode, EXIT.failed);
  assert.deepEqual(r.errors.map((e) => e.stageId).sort(), ['bad/heavy', 'bad/light']);
  for (const e of r.errors) {
    assert.ok(e instanceof StageError);
    assert.equal(exitCodeOf(e), r.exitCode);
    const slide = e.stageId === 'bad/light' ? 'TCGA-LI-0001' : 'TCGA-HE-0002';
    assert.equal(e.kind, e.stageId === 'bad/light' ? 't_light' : 't_heavy');
    assert.match(e.reason, new RegExp(`cannot read slide ${slide}\\.svs`));
    assert.ok(e.logPath && existsSync(e.logPath), `${e.stageId}: log ${e.logPath} missing`);
    assert.ok(e.logPath.startsWith(r.runDir), 'the log is in the run directory');
    assert.match(readFileSync(e.logPath, 'utf8'), new RegExp(`!! ${e.stageId} failed: .*${slide}`));
    // What `milflow run` prints after "failed: ".
    assert.equal(e.message, `${e.stageId}: ${e.reason} (log: ${e.logPath})`);
    // The record and the event log keep the same reason and log.
    const s = r.record.stages.find((x) => x.id === e.stageId)!;
    assert.deepEqual([s.status, s.error, s.log], ['failed', e.reason, e.logPath]);
    const end = readEvents(r.runDir).find((ev) => ev.type === 'stage-end' && ev.id === e.stageId);
    assert.ok(end && end.type === 'stage-end' && end.log === e.logPath && end.error === e.reason);
    // `milflow status` says it the same way.
    assert.ok(statusText(r.runDir, readRecord(r.runDir)).includes(`    ${e.message}\n`), `status does not show: ${e.message}`);
  }
  assert.equal(r.record.stages.find((x) => x.id === 'ok')!.log, undefined, 'only failed stages name a log here');
  rmSync(root, { recursive: true, force: true });
});
