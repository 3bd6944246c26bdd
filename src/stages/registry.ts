// Stage kinds by name, loaded lazily so a worker process imports only what it runs.
// Each module default-exports a StageKind.
import type { StageKind } from './types.ts';

const loaders: Record<string, () => Promise<{ default: StageKind }>> = {
  // foundation (issue 2)
  dataset: () => import('./dataset.ts'),
  splits: () => import('./splits.ts'),
  // models & training (issue 3)
  train: () => import('./train.ts'),
  // evaluation & statistics (issue 4)
  evaluate: () => import('./evaluate.ts'),
  aggregate: () => import('./aggregate.ts'),
  ensemble: () => import('./ensemble.ts'),
  compare: () => import('./compare.ts'),
  // report (issue 5)
  report: () => import('./report.ts'),
  // wsi (issue 6): segment, patch, extract
  heatmap: () => import('./heatmap.ts'), // attention heatmaps over WSI thumbnails
  segment: () => import('./segment.ts'), patch: () => import('./patch.ts'), extract: () => import('./extract.ts'), 'wsi-dataset': () => import('./wsi-dataset.ts'),
};

export function stageKinds(): string[] {
  return Object.keys(loaders).sort();
}

export async function loadStageKind(kind: string): Promise<StageKind> {
  const load = loaders[kind];
  if (!load) throw new Error(`unknown stage kind '${kind}' (known: ${stageKinds().join(', ')})`);
  return (await load()).default;
}
