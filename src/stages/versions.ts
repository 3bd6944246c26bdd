// Stage implementation versions and placement, readable without importing any stage module:
// `milflow plan` computes every cache key from this table in milliseconds, where importing the
// train stage would load the whole engine. Bump a stage's version here AND in its module when it
// changes its outputs; the executor refuses to run a stage whose module disagrees with this table
// (the key would otherwise name outputs the code no longer produces). Kinds missing here are
// imported once to read their version.
export const stageMeta: Record<string, { version: string; heavy: boolean }> = {
  // kind: { version, heavy }   (heavy: runs in a worker process on a device slot)
  dataset: { version: '1', heavy: false },
  splits: { version: '1', heavy: false },
  train: { version: '1', heavy: true },
  evaluate: { version: '1', heavy: true },
  aggregate: { version: '1', heavy: false },
  ensemble: { version: '1', heavy: false },
  compare: { version: '1', heavy: false },
  report: { version: '1', heavy: false },
  segment: { version: '1', heavy: false },
  patch: { version: '1', heavy: false },
  extract: { version: '1', heavy: true },
  'wsi-dataset': { version: '1', heavy: false },
  heatmap: { version: '1', heavy: true },
};
