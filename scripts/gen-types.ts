// Generates src/spec/types.gen.ts from schemas/experiment.schema.json, the single source of truth.
// `--check` exits 1 when the checked-in file differs (run by the test suite so they cannot drift).
import { compile } from 'json-schema-to-typescript';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = join(root, 'schemas/experiment.schema.json');
const outPath = join(root, 'src/spec/types.gen.ts');

export async function generateTypes(): Promise<string> {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  return compile(schema, 'Experiment', {
    bannerComment: '// GENERATED from schemas/experiment.schema.json by scripts/gen-types.ts. Do not edit.',
    additionalProperties: false,
    unreachableDefinitions: true,
    cwd: join(root, 'schemas'),
    style: { singleQuote: true },
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await generateTypes();
  if (process.argv.includes('--check')) {
    const cur = readFileSync(outPath, 'utf8');
    if (cur !== text) {
      console.error('src/spec/types.gen.ts is out of date: run `npm run gen:types`');
      process.exit(1);
    }
    console.log('types up to date');
  } else {
    writeFileSync(outPath, text);
    console.log('wrote', outPath);
  }
}
