// Shapes shared by the DAG builder, the key function and the planner.
import type { Json, StageDecl } from '../stages/types.ts';

/** A sweep coordinate: dotted spec path → value (e.g. "models.clam_sb.B" → 16). */
export type Coords = Record<string, unknown>;

/** An input of a stage as the key saw it: upstream stage (id + key) or external (path + digest). */
export interface InputRef {
  id?: string;
  key?: string;
  path?: string;
  digest: string;
  /** External directory digested by its listed files only: relative path → sha256. */
  files?: Record<string, string>;
}

export interface KeyedStage {
  decl: StageDecl;
  key: string;
  version: string;
  inputs: Record<string, InputRef>;
}

export type Action = 'run' | 'cached';

export interface PlannedStage {
  id: string;
  kind: string;
  key: string;
  version: string;
  action: Action;
  reason: string;
  params: Json;
  inputs: Record<string, InputRef>;
  labels: Record<string, string | number>;
  /** Upstream stage ids (the DAG edges). */
  deps: string[];
  decl: StageDecl;
}
