#!/usr/bin/env node
// Runs node's test runner over test/**/*.test.ts (Node 20 has no --test glob support).
// Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default: test/)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(p, out) {
  const st = statSync(p);
  if (st.isDirectory()) for (const e of readdirSync(p).sort()) collect(join(p, e), out);
  else if (/\.test\.ts$/.test(p)) out.push(p);
  return out;
}
const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test'];
const files = roots.flatMap((r) => collect(r, []));
if (files.length === 0) { console.error('no test files found under', roots.join(' ')); process.exit(1); }
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
