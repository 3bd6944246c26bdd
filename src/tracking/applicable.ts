// Params that mean something for the model at hand: CLAM's instance-clustering fields (B, c1, c2,
// inst_loss, subtyping) are defaults nobody chose on a MIL or ABMIL model, and listing them
// there makes two runs look different or alike for the wrong reasons.
import { isClam, type ModelType } from '../models/config.ts';

const CLAM_ONLY = ['B', 'c1', 'c2', 'inst_loss'];

function modelFields(m: unknown): unknown {
  const t = (m as { type?: ModelType } | null)?.type;
  if (!t || typeof m !== 'object' || isClam(t)) return m;
  return Object.fromEntries(Object.entries(m as Record<string, unknown>).filter(([k]) => !CLAM_ONLY.includes(k)));
}

/** A stage's params without the fields its model ignores. */
export function applicableParams(params: unknown): unknown {
  const p = params as { model?: { type?: ModelType } } | null;
  if (!p || typeof p !== 'object' || !p.model?.type || isClam(p.model.type)) return params;
  const { subtyping: _s, ...rest } = p as Record<string, unknown>;
  return { ...rest, model: modelFields(p.model) };
}

/** The experiment's params for the parent run: no storage/tracking settings, per-model fields that apply. */
export function applicableSpec(spec: unknown): unknown {
  if (!spec || typeof spec !== 'object') return spec;
  const { tracking: _t, output: _o, ...rest } = spec as Record<string, unknown>;
  if (Array.isArray(rest.models)) rest.models = rest.models.map(modelFields);
  return rest;
}
