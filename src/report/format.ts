// How the report writes numbers (formatting only: every number comes from a stage output).

export const fmt = (x: number | undefined | null, digits = 3) => (x === undefined || x === null || !Number.isFinite(x) ? '–' : x.toFixed(digits));
export const fmtP = (p: number | undefined | null) => (p === undefined || p === null || !Number.isFinite(p) ? '–' : p < 0.001 ? '< 0.001' : p.toFixed(3));
export const pct = (f: number) => `${+(f * 100).toFixed(1)} %`;
export const fmtCi = (ci: [number, number] | undefined, digits = 3) => (ci && ci.every(Number.isFinite) ? `${ci[0].toFixed(digits)}–${ci[1].toFixed(digits)}` : '–');
