// Where a CLAM slide's feature file lives. Kept free of HDF5 imports: `milflow validate` uses it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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

