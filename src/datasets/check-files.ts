// `milflow validate --data`: reads the dataset files the way the dataset stage will (same
// readers), so every problem `run` would stop on — duplicate or unknown slide ids, feature files
// that are missing, not HDF5, truncated or a directory, mixed feature dimensions, malformed CSV
// rows — is reported before anything runs. Headers only for feature files: no features loaded.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readClamDataset } from './clam.ts';
import { readMilCsv } from './mil-csv.ts';
import { DatasetError } from './types.ts';

export interface DataSource { where: string; clam?: { csv: string; features_dir: string }; mil_csv?: { csv: string } }

/** Bytes of the files a check would touch (to decide whether the check is cheap enough by default). */
export function dataBytes(sources: DataSource[]): number {
  let total = 0;
  const size = (p: string) => { try { return statSync(p).size; } catch { return 0; } };
  const walk = (d: string, depth: number) => {
    let es;
    try { es = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of es) {
      if (e.isDirectory() && depth < 2) walk(join(d, e.name), depth + 1);
      else if (e.isFile()) total += size(join(d, e.name));
    }
  };
  for (const s of sources) {
    if (s.clam) { total += size(s.clam.csv); walk(s.clam.features_dir, 0); }
    if (s.mil_csv) total += size(s.mil_csv.csv);
  }
  return total;
}

export async function checkDataFiles(
  sources: DataSource[], classes: string[], labelMap: Record<string, string | null> | undefined,
  onProgress?: (where: string, done: number, total: number) => void,
): Promise<{ problems: string[]; summary: string[] }> {
  const problems: string[] = [];
  const summary: string[] = [];
  for (const s of sources) {
    try {
      if (s.clam) {
        const r = await readClamDataset({ csv: s.clam.csv, features_dir: s.clam.features_dir, classes, label_map: labelMap }, (d, t) => onProgress?.(s.where, d, t));
        summary.push(`${s.where}: ${r.slides.length} slides, feature dim ${r.dim}${r.excluded.length ? `, ${r.excluded.length} excluded` : ''}`);
      } else if (s.mil_csv) {
        const r = readMilCsv({ csv: s.mil_csv.csv, classes, label_map: labelMap });
        summary.push(`${s.where}: ${r.bags.length} bags, feature dim ${r.dim}${r.excluded.length ? `, ${r.excluded.length} excluded` : ''}`);
      }
    } catch (err) {
      if (err instanceof DatasetError) problems.push(...err.problems.map((p) => `${s.where}: ${p}`));
      else problems.push(`${s.where}: ${(err as Error).message}`);
    }
  }
  return { problems, summary };
}
