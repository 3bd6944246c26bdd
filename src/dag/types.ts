// Shapes shared by the DAG builder, the key function and the planner.
import type { InputRef, Json, StageDecl } from '../types/stage.ts';


/** A sweep coordinate: dotted spec path → value (e.g. "models.clam_sb.B" → 16). */
export type Coords = Record<string, unknown>;

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
