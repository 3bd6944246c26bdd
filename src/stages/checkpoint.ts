// Stage `checkpoint` (identity train/<model>/frac=<f>/fold=<k>, from models[].checkpoints): a
// pre-trained fold model entering the DAG where its train stage would be. Reads the fold's
// checkpoint (CLAM's s_<k>_checkpoint.pt — DataParallel keys and loss buffers handled — or a
// milflow safetensors file), checks it against the spec's model, and writes the same
// model.safetensors a train stage writes, so evaluate / ensemble / compare / report / heatmaps
// consume it unchanged.
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import type { Model } from '../spec/types.gen.ts';
import { loadCheckpoint, saveCheckpoint } from '../models/checkpoint.ts';

export interface CheckpointParams {
  model: Omit<Model, 'checkpoints'>;
  n_classes: number;
  fold: number;
}

const stage: StageKind<CheckpointParams> = {
  kind: 'checkpoint',
  async run(p, ctx) {
    const path = ctx.externals.checkpoint;
    if (!path) throw new Error(`${ctx.id}: needs the 'checkpoint' external`);
    // mil vs mmil is not in the weights' shapes: the spec says which.
    const overrides = p.model.type === 'mil' || p.model.type === 'mmil' ? { type: p.model.type } : {};
    const ck = await loadCheckpoint(path, overrides);
    const c = ck.config;
    const problems: string[] = [];
    if (c.type !== p.model.type) problems.push(`it is a ${c.type} model, the spec says ${p.model.type}`);
    if (c.n_classes !== p.n_classes) problems.push(`it predicts ${c.n_classes} classes, the task has ${p.n_classes}`);
    if (p.model.size && c.size !== p.model.size && (c.type === 'clam_sb' || c.type === 'clam_mb' || c.type === 'abmil')) problems.push(`its attention is size '${c.size}', the spec says '${p.model.size}'`);
    if (problems.length) throw new Error(`${path}: ${problems.join('; ')} (models.${p.model.name})`);
    await saveCheckpoint(join(ctx.outDir, 'model.safetensors'), { ...ck, meta: { ...ck.meta, pretrained_from: path, fold: String(p.fold) } });
    ctx.log(`fold ${p.fold}: ${c.type} (${c.size}, E=${c.dim}, C=${c.n_classes}) from ${path}`);
    return { metrics: { dim: c.dim, n_classes: c.n_classes }, summary: { pretrained_from: path, type: c.type, size: c.size } };
  },
};

export default stage;
