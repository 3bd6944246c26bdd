// The results a reader compares across runs, as parent-run metrics (one column each in the MLflow
// runs table): test AUC mean and SD per model × fraction × cohort (aggregate), the ensemble AUC
// with its DeLong CI (ensemble), and the CLAM − MIL differences with their p-values (compare).
// Keys follow the stage ids, so sweep variants and cohorts stay apart:
// auc_mean/clam_sb/frac_0.5/test, ensemble_auc/clam_sb/frac_1/external, auc_diff/clam_sb-vs-mil/frac_1/test.
import type { Manifest } from '../types/stage.ts';

export interface HeadlineInput {
  id: string;
  kind: string;
  manifest?: Pick<Manifest, 'metrics'>;
}

/** Stage metric → headline name, per stage kind. */
const PICK: Record<string, [string, string][]> = {
  aggregate: [['auc_mean', 'auc_mean'], ['auc_std', 'auc_sd']],
  ensemble: [['auc', 'ensemble_auc'], ['auc_ci_low', 'ensemble_auc_ci_low'], ['auc_ci_high', 'ensemble_auc_ci_high']],
  compare: [['auc_diff_mean', 'auc_diff'], ['paired_t_p', 'auc_diff_p'], ['ensemble_auc_diff', 'ensemble_auc_diff'], ['ensemble_delong_p', 'ensemble_delong_p']],
};

/** Characters every MLflow version accepts in a metric key. */
const safe = (s: string) => s.replace(/=/g, '_').replace(/[^A-Za-z0-9_\-. /:]/g, '_');

export function headlineMetrics(stages: HeadlineInput[]): { key: string; value: number }[] {
  const out: { key: string; value: number }[] = [];
  for (const s of stages) {
    const pick = PICK[s.kind];
    if (!pick || !s.manifest?.metrics) continue;
    const rest = safe(s.id.startsWith(`${s.kind}/`) ? s.id.slice(s.kind.length + 1) : s.id);
    for (const [from, to] of pick) {
      const v = s.manifest.metrics[from];
      if (typeof v === 'number' && Number.isFinite(v)) out.push({ key: `${to}/${rest}`, value: v });
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}
