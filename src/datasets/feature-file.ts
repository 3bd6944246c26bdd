// Where a CLAM slide's feature file lives. Kept free of HDF5 imports: `milflow validate` uses it.
// CLAM's extract_features_fp.py writes both h5_files/<id>.h5 (features + coords) and
// pt_files/<id>.pt (the features tensor alone); either is read, .h5 first (it has coordinates).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseCsvRows } from '../io/csv.ts';

const SLIDE_EXT = /\.(svs|tif|tiff|ndpi|mrxs|scn|vms|vmu|bif|svslide)$/i;

/** Candidate paths for a slide id, in the order they are tried. */
export function featureFileCandidates(featuresDir: string, slideId: string): string[] {
  const ids = [slideId];
  const stem = slideId.replace(SLIDE_EXT, '');
  if (stem !== slideId) ids.push(stem);
  const out: string[] = [];
  for (const id of ids) out.push(join(featuresDir, 'h5_files', `${id}.h5`), join(featuresDir, `${id}.h5`));
  for (const id of ids) out.push(join(featuresDir, 'pt_files', `${id}.pt`), join(featuresDir, `${id}.pt`));
  return out;
}

/** h5_files/<id>.h5, <id>.h5, pt_files/<id>.pt or <id>.pt under featuresDir; slide ids with a slide-file extension also match their stem. */
export function findFeatureFile(featuresDir: string, slideId: string): string | undefined {
  return featureFileCandidates(featuresDir, slideId).find((p) => existsSync(p));
}

/** What a features directory holds, for messages when a slide's file is missing. */
export function describeFeaturesDir(featuresDir: string): string {
  const count = (d: string, ext: string) => {
    try { return readdirSync(d).filter((f) => f.endsWith(ext)).length; } catch { return 0; }
  };
  const parts: string[] = [];
  for (const [d, label] of [[join(featuresDir, 'h5_files'), 'h5_files/'], [join(featuresDir, 'pt_files'), 'pt_files/'], [featuresDir, '']] as const) {
    for (const ext of ['.h5', '.pt']) {
      const n = count(d, ext);
      if (n) parts.push(`${n} ${ext} file${n === 1 ? '' : 's'} in ${label || 'the directory itself'}`);
    }
  }
  return parts.length ? `it holds ${parts.join(', ')}` : 'it holds no .h5 or .pt files (CLAM writes h5_files/<slide_id>.h5 and pt_files/<slide_id>.pt)';
}

/**
 * Feature files (relative to featuresDir, sorted) of the slides a CLAM dataset CSV lists: what a
 * dataset's identity is digested from. undefined when the CSV cannot be read or has no slide_id
 * column (the whole folder is digested then, and the dataset stage reports the problem).
 */
export function referencedFeatureFiles(csv: string, featuresDir: string): string[] | undefined {
  let rows;
  try {
    rows = parseCsvRows(readFileSync(csv, 'utf8'), csv);
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
