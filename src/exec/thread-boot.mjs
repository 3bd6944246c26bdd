// Entry of a light-stage thread (./in-process.ts): a thread does not inherit tsx when the
// orchestrator registered it programmatically (bin/milflow.mjs), so it registers tsx itself
// before loading the TypeScript thread body.
import { register } from 'tsx/esm/api';
register();
await import('./thread.ts');
