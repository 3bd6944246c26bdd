// models[].checkpoints (pre-trained fold models), checked when the spec loads: the directory
// holds a checkpoint for every fold, the test sets are the splits the models were trained on
// (splits.mode: import) and there is one training fraction. Runs after splitImportIssues,
// which has filled the folds and fractions from the split directories.
import { existsSync, statSync } from 'node:fs';
import { findFoldCheckpoints } from '../models/fold-checkpoints.ts';
import { resolvePath } from './semantic.ts';
import type { Issue } from './schema.ts';

export function pretrainedIssues(data: any, specDir: string, checkFiles = true): Issue[] {
  const issues: Issue[] = [];
  const models: any[] = Array.isArray(data?.models) ? data.models : [];
  const s = data?.splits ?? {};
  models.forEach((m, i) => {
    if (!m || typeof m.checkpoints !== 'string') return;
    const at = ['models', i, 'checkpoints'];
    if (s.mode !== 'import') {
      issues.push({ path: at, message: `pre-trained fold models must be tested on the splits they were trained on (any other test set may hold their training slides): set splits.mode: import with import_dir (CLAM writes splits_<k>.csv next to s_<k>_checkpoint.pt)` });
    }
    if (Array.isArray(s.training_fractions) && s.training_fractions.length > 1) {
      issues.push({ path: at, message: `pre-trained models have no training fraction; the spec has ${s.training_fractions.length} (${s.training_fractions.join(', ')}): use one` });
    }
    if (!checkFiles) return;
    const dir = resolvePath(specDir, m.checkpoints);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      issues.push({ path: at, message: `directory not found: ${m.checkpoints}${dir !== m.checkpoints ? ` (resolved to ${dir})` : ''}` });
      return;
    }
    try {
      const have = findFoldCheckpoints(dir).map((c) => c.fold);
      const folds = typeof s.folds === 'number' ? s.folds : 10;
      const missing = Array.from({ length: folds }, (_, k) => k).filter((k) => !have.includes(k));
      if (missing.length) issues.push({ path: at, message: `${dir} has no checkpoint for fold${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${folds} (it holds s_<k>_checkpoint for ${have.join(', ')})` });
    } catch (e) {
      issues.push({ path: at, message: (e as Error).message });
    }
  });
  return issues;
}
