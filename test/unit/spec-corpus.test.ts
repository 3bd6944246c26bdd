// The broken-spec corpus: every file under test/fixtures/bad-specs must be rejected with a
// message on the line its `# expect: <line>:<substring>` comment names, containing that text.
// Also: every shipped experiment validates, and the generated types match the schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { validateSpec, formatSpecMessage } from '../../src/spec/load.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const corpus = join(root, 'test/fixtures/bad-specs');
const files = readdirSync(corpus).filter((f) => f.endsWith('.yaml')).sort();

test('the corpus has at least 20 broken specs, each with an expectation', () => {
  assert.ok(files.length >= 20, `only ${files.length} files`);
  for (const f of files) assert.match(readFileSync(join(corpus, f), 'utf8'), /^# expect: \d+:.+$/m, f);
});

for (const f of files) {
  test(`bad spec ${f} is rejected on the expected line`, async () => {
    const text = readFileSync(join(corpus, f), 'utf8');
    const [, line, substring] = text.match(/^# expect: (\d+):(.+)$/m)!;
    const r = await validateSpec(join(corpus, f));
    assert.equal(r.ok, false, `${f} was accepted`);
    if (r.ok) return;
    const all = r.messages.map(formatSpecMessage).join('\n');
    const hit = r.messages.find((m) => m.line === Number(line) && formatSpecMessage(m).includes(substring.trim()));
    assert.ok(hit, `${f}: expected a message on line ${line} containing "${substring.trim()}", got:\n${all}`);
    // every message names the file and a real position
    for (const m of r.messages) {
      assert.ok(m.file.endsWith(f), m.file);
      assert.ok(m.line >= 1 && m.column >= 1);
      assert.ok(m.message.length > 0);
    }
  });
}

test('every experiments/*.yaml validates (paper-protocol without its user data)', async () => {
  const dir = join(root, 'experiments');
  const specs = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(specs.includes('quickstart.yaml'));
  for (const f of specs) {
    const r = await validateSpec(join(dir, f), { checkFiles: f !== 'paper-protocol.yaml' });
    assert.ok(r.ok, `${f}:\n${r.ok ? '' : r.messages.map(formatSpecMessage).join('\n')}`);
  }
});

test('paper-protocol names data the user brings: with file checks it fails on exactly those', async () => {
  const r = await validateSpec(join(root, 'experiments/paper-protocol.yaml'));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.messages.map((m) => m.path).sort(), ['dataset.clam.csv', 'dataset.clam.features_dir']);
});

test('src/spec/types.gen.ts is up to date with the schema', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/gen-types.ts', '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
});
