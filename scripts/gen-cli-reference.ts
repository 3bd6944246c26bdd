// Regenerates the CLI reference in README.md (between the CLI-REFERENCE markers) from the
// verbs' own --help, so the README cannot drift from the code. `--check` exits 1 if stale.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/milflow.mjs');
const help = (...args: string[]) =>
  execFileSync(process.execPath, [bin, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } }).trimEnd();

export function cliReference(): string {
  const top = help();
  const verbs = [...top.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((v) => v !== 'help');
  const parts = ['<!-- CLI-REFERENCE -->', '## CLI reference', '', '```text', top, '```'];
  for (const v of verbs) {
    const text = help(v);
    parts.push('', `### milflow ${v}`, '', '```text', text, '```');
    const sub = [...text.matchAll(/^Commands:\n([\s\S]*?)(?:\n\n|$)/gm)][0]?.[1] ?? '';
    for (const m of sub.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)) {
      if (m[1] === 'help') continue;
      parts.push('', `#### milflow ${v} ${m[1]}`, '', '```text', help(v, m[1]), '```');
    }
  }
  parts.push('<!-- /CLI-REFERENCE -->');
  return parts.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const readmePath = join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  if (!/<!-- CLI-REFERENCE -->/.test(readme)) throw new Error('README.md has no <!-- CLI-REFERENCE --> marker');
  const withEnd = /<!-- \/CLI-REFERENCE -->/.test(readme) ? readme : readme.replace('<!-- CLI-REFERENCE -->', '<!-- CLI-REFERENCE -->\n<!-- /CLI-REFERENCE -->');
  const next = withEnd.replace(/<!-- CLI-REFERENCE -->[\s\S]*?<!-- \/CLI-REFERENCE -->/, cliReference());
  if (process.argv.includes('--check')) {
    if (next !== readme) { console.error('README.md CLI reference is stale: run `npm run gen:cli`'); process.exit(1); }
    console.log('CLI reference up to date');
  } else {
    writeFileSync(readmePath, next);
    console.log('updated README.md CLI reference');
  }
}
