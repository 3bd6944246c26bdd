// CLAM-layout datasets: a CSV (case_id, slide_id, label) plus a features directory holding
// h5_files/<slide_id>.h5 or pt_files/<slide_id>.pt (or either directly in it). Features are not copied: slides.csv points at them
// (the DAG digests the external files). Every problem names the CSV line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvRows } from '../io/csv.ts';
import { featureShape } from './h5-shape.ts';
import { describeFeaturesDir, findFeatureFile } from './feature-file.ts';

export { findFeatureFile };
import { mapLabel } from './labels.ts';
import { DatasetError, type Excluded, type SlideEntry } from './types.ts';

export interface ClamSource {
  csv: string;
  features_dir: string;
  classes: string[];
  label_map?: Record<string, string | null>;
}

export interface ClamListing {
  slides: SlideEntry[];
  excluded: Excluded[];
  dim: number;
}

export async function readClamDataset(src: ClamSource, onProgress?: (done: number, total: number) => void): Promise<ClamListing> {
  let text: string;
  try {
    text = readFileSync(src.csv, 'utf8');
  } catch (e) {
    throw new DatasetError([`${src.csv}: cannot read (${(e as Error).message})`]);
  }
  const rows = parseCsvRows(text, src.csv);
  if (rows.length === 0) throw new DatasetError([`${src.csv}: empty file (expected a header case_id,slide_id,label)`]);
  const header = rows[0].fields.map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  const missing = ['case_id', 'slide_id', 'label'].filter((c) => col(c) < 0);
  if (missing.length) throw new DatasetError([`${src.csv}:${rows[0].line}: header lacks ${missing.join(', ')} (found: ${header.join(', ')})`]);
  const [ci, si, li] = [col('case_id'), col('slide_id'), col('label')];

  const problems: string[] = [];
  const slides: SlideEntry[] = [];
  const excluded: Excluded[] = [];
  const seen = new Map<string, number>();
  const body = rows.slice(1);
  let dim = -1;
  let dimFrom = '';
  for (let r = 0; r < body.length; r++) {
    const { line, fields } = body[r];
    onProgress?.(r, body.length);
    const at = `${src.csv}:${line}`;
    if (fields.length < header.length) {
      problems.push(`${at}: expected ${header.length} columns, got ${fields.length}`);
      continue;
    }
    const case_id = fields[ci].trim();
    const slide_id = fields[si].trim();
    if (!case_id || !slide_id) {
      problems.push(`${at}: empty ${!case_id ? 'case_id' : 'slide_id'}`);
      continue;
    }
    if (seen.has(slide_id)) {
      problems.push(`${at}: slide '${slide_id}' is listed twice (also line ${seen.get(slide_id)})`);
      continue;
    }
    seen.set(slide_id, line);
    const lab = mapLabel(fields[li], src.classes, src.label_map);
    if (!lab.ok) {
      if (lab.dropped) excluded.push({ slide_id, reason: `label '${fields[li].trim()}' mapped to null` });
      else problems.push(`${at}: slide '${slide_id}': ${lab.message}`);
      continue;
    }
    const file = findFeatureFile(src.features_dir, slide_id);
    if (!file) {
      problems.push(`${at}: slide '${slide_id}': no feature file (looked for h5_files/${slide_id}.h5, ${slide_id}.h5, pt_files/${slide_id}.pt and ${slide_id}.pt in ${src.features_dir}; ${describeFeaturesDir(src.features_dir)})`);
      continue;
    }
    let n: number;
    let e: number;
    try {
      [n, e] = await featureShape(file);
    } catch (err) {
      problems.push(`${at}: slide '${slide_id}': ${file}: ${(err as Error).message}`);
      continue;
    }
    if (dim < 0) {
      dim = e;
      dimFrom = slide_id;
    } else if (e !== dim) {
      problems.push(`${at}: slide '${slide_id}': features have dimension ${e}, but slide '${dimFrom}' has ${dim}`);
      continue;
    }
    if (n === 0) {
      excluded.push({ slide_id, reason: 'no patches (0 feature rows)' });
      continue;
    }
    slides.push({ case_id, slide_id, label: lab.cls, label_index: lab.index, n, externalPath: file });
  }
  onProgress?.(body.length, body.length);
  if (problems.length) throw new DatasetError(problems);
  if (slides.length === 0) throw new DatasetError([`${src.csv}: no usable slides (${excluded.length} excluded)`]);
  return { slides, excluded, dim };
}
