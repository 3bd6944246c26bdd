export * from './delong.ts';
export * from './metrics.ts';
export * from './normal.ts';
export * from './bootstrap.ts';
export * from './predictions.ts';
export * from './summary.ts';
export * from './paired.ts';
export * from './folds-summary.ts';
