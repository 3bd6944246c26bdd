// First two principal components of slide embeddings (the report's embedding figure).

/** Top-2 eigenpairs of a symmetric PSD matrix by power iteration with deflation. */
function top2(M: Float64Array[], iters = 500): { vals: number[]; vecs: Float64Array[] } {
  const m = M.length;
  const vecs: Float64Array[] = [];
  const vals: number[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: m }, (_, i) => 1 + ((i * 7919) % 13) / 13);
    let lambda = 0;
    for (let it = 0; it < iters; it++) {
      const w = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        const row = M[i];
        let acc = 0;
        for (let j = 0; j < m; j++) acc += row[j] * v[j];
        w[i] = acc;
      }
      for (const u of vecs) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += w[i] * u[i];
        for (let i = 0; i < m; i++) w[i] -= dot * u[i];
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += w[i] * w[i];
      norm = Math.sqrt(norm);
      if (norm === 0) break;
      let delta = 0;
      for (let i = 0; i < m; i++) {
        const x = w[i] / norm;
        delta = Math.max(delta, Math.abs(x - v[i]));
        w[i] = x;
      }
      v = w;
      const done = Math.abs(norm - lambda) <= 1e-12 * norm && delta < 1e-10;
      lambda = norm;
      if (done) break;
    }
    vecs.push(v);
    vals.push(lambda);
  }
  return { vals, vecs };
}

/**
 * First two principal components (scores) of rows. With fewer rows than dimensions (slide
 * embeddings: ~100 slides × 512) the n × n Gram matrix is decomposed instead of the covariance.
 */
export function pca2(rows: number[][]): { scores: [number, number][]; explained: [number, number] } {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  if (n < 2 || d === 0) return { scores: rows.map(() => [0, 0]), explained: [NaN, NaN] };
  const mu = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mu[j] += r[j] / n;
  const X = rows.map((r) => Float64Array.from(r, (v, j) => v - mu[j]));
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  let scores: [number, number][];
  let vals: number[];
  let trace = 0;
  if (n <= d) {
    const K = Array.from({ length: n }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) K[i][j] = K[j][i] = dot(X[i], X[j]);
    for (let i = 0; i < n; i++) trace += K[i][i];
    const e = top2(K);
    vals = e.vals;
    // X v_c = σ_c u_c with σ_c² the Gram eigenvalue.
    scores = X.map((_, i) => [e.vecs[0][i] * Math.sqrt(vals[0]), e.vecs[1][i] * Math.sqrt(vals[1])]);
  } else {
    const C = Array.from({ length: d }, () => new Float64Array(d));
    for (const r of X) for (let i = 0; i < d; i++) for (let j = i; j < d; j++) C[i][j] += r[i] * r[j];
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) C[i][j] = C[j][i];
    for (let i = 0; i < d; i++) trace += C[i][i];
    const e = top2(C);
    vals = e.vals;
    scores = X.map((r) => [dot(r, e.vecs[0]), dot(r, e.vecs[1])]);
  }
  // Sign convention: the most extreme score of each component is positive (stable pictures).
  for (const c of [0, 1]) {
    let k = 0;
    for (let i = 1; i < n; i++) if (Math.abs(scores[i][c]) > Math.abs(scores[k][c])) k = i;
    if (scores[k][c] < 0) for (const s of scores) s[c] = -s[c];
  }
  return { scores, explained: [vals[0] / trace, vals[1] / trace] };
}

