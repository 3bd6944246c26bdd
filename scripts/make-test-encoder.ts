// Writes a tiny seeded CNN patch encoder as .onnx (no download): Conv → Relu → GlobalAveragePool
// → Flatten → Gemm. Usage: node --import tsx scripts/make-test-encoder.ts OUT.onnx [--size 64 --dim 32 --seed 0]
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { tinyEncoder } from '../src/features/onnx-writer.ts';

const args = process.argv.slice(2);
const out = args.find((a) => !a.startsWith('--'));
const opt = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
if (!out) {
  console.error('usage: make-test-encoder.ts OUT.onnx [--size 64] [--dim 32] [--channels 16] [--seed 0]');
  process.exit(2);
}
const enc = tinyEncoder({ inputSize: opt('size', 64), dim: opt('dim', 32), channels: opt('channels', 16), seed: opt('seed', 0) });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, enc.bytes);
console.log(`${out}: tiny encoder, input [N,3,${enc.inputSize},${enc.inputSize}] → features [N,${enc.dim}], ${enc.bytes.length} bytes`);
