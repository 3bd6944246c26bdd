// Reading the per-fold evaluate outputs a statistics stage receives as inputs fold0..fold{K-1}
// (or a_fold0.., b_fold0..).
import { join } from 'node:path';
import type { StageInput } from '../types/stage.ts';
import { readPredictions } from '../stats/predictions.ts';
import type { Predictions } from '../stats/metrics.ts';

export interface FoldPredictions { fold: number; id: string; pred: Predictions }

export function foldInputs(inputs: Record<string, StageInput>, prefix = ''): { fold: number; input: StageInput }[] {
  const re = new RegExp(`^${prefix}fold(\\d+)$`);
  return Object.entries(inputs)
    .map(([k, v]) => [re.exec(k), v] as const)
    .filter((e): e is [RegExpExecArray, StageInput] => e[0] !== null)
    .map(([m, input]) => ({ fold: Number(m[1]), input }))
    .sort((a, b) => a.fold - b.fold);
}

export function readFoldPredictions(inputs: Record<string, StageInput>, prefix = '', where = 'stage'): FoldPredictions[] {
  const f = foldInputs(inputs, prefix);
  if (f.length === 0) throw new Error(`${where}: no inputs named ${prefix}fold<k>`);
  return f.map(({ fold, input }) => ({ fold, id: input.id, pred: readPredictions(join(input.dir, 'predictions.csv')) }));
}
