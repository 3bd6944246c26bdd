// Where a CLAM slide's feature file lives. Kept free of HDF5 imports: `milflow validate` uses it.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseCsv } from './csv.ts';

/** h5_files/<id>.h5 or <id>.h5 under featuresDir; slide ids with a slide-file extension also match their stem. */
export function findFeatureFile(featuresDir: string, slideId: string): string | undefined {
  const ids = [slideId];
  const stem = slideId.replace(/\.(svs|tif|tiff|ndpi|mrxs|scn|vms|vmu|bif|svslide)$/i, '');
  if (stem !== slideId) ids.push(stem);
  for (const id of ids) {
    for (const p of [join(featuresDir, 'h5_files', `${id}.h5`), join(featuresDir, `${id}.h5`)]) if (existsSync(p)) return p;
  }
  return undefined;
}


/**
 * Feature files (relative to featuresDir, sorted) of the slides a CLAM dataset CSV lists: what a
 * dataset's identity is digested from. undefined when the CSV cannot be read or has no slide_id
 * column (the whole folder is digested then, and the dataset stage reports the problem).
 */
export function referencedFeatureFiles(csv: string, featuresDir: string): string[] | undefined {
  let rows;
  try {
    rows = parseCsv(readFileSync(csv, 'utf8'));
  } catch {
    return undefined;
  }
  const si = rows[0]?.fields.map((h) => h.trim()).indexOf('slide_id') ?? -1;
  if (si < 0) return undefined;
  const out = new Set<string>();
  for (const r of rows.slice(1)) {
    const id = r.fields[si]?.trim();
    const f = id ? findFeatureFile(featuresDir, id) : undefined;
    if (f) out.add(relative(featuresDir, f));
  }
  return [...out].sort();
}
