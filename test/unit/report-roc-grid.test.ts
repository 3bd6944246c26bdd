// The ROC figure wraps one panel per training fraction into a grid. Its last row must hold only
// real panels: no axis drawn under an empty cell (a wrapped vega-lite facet put every column's
// x axis at the bottom of the grid, so 4 panels on 3 columns showed two axes with no plot).
// Checked on the laid-out scenegraph (the same headless view that writes the SVG).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFigures, figureView } from '../../src/report/figures.ts';
import { writeSampleRun } from '../../src/report/sample-run.ts';
import { entriesFromEvents, readEntries } from '../../src/report/inputs.ts';
import { analyze } from '../../src/report/analysis.ts';

interface Rect { x1: number; y1: number; x2: number; y2: number }

/** Plot areas holding a curve, and the (non-grid) axes, in absolute coordinates. */
async function layout(spec: object): Promise<{ panels: Rect[]; xAxes: Rect[]; yAxes: Rect[] }> {
  const view = figureView(spec);
  await view.runAsync();
  const panels: Rect[] = [], xAxes: Rect[] = [], yAxes: Rect[] = [];
  const visit = (mark: any, ox: number, oy: number) => {
    for (const it of mark.items ?? []) {
      if (mark.role === 'axis') {
        const b = it.bounds;
        const r = { x1: b.x1 + ox, y1: b.y1 + oy, x2: b.x2 + ox, y2: b.y2 + oy };
        // Grid-only axes have zero extent across their direction; they are not what a reader sees as an axis.
        if (r.y2 - r.y1 > 1 && r.x2 - r.x1 > 1) (r.x2 - r.x1 > r.y2 - r.y1 ? xAxes : yAxes).push(r);
        continue;
      }
      if (mark.marktype !== 'group') continue;
      const gx = ox + (it.x ?? 0), gy = oy + (it.y ?? 0);
      if ((it.items ?? []).some((m: any) => m.marktype === 'line' && m.role === 'mark' && m.items?.length))
        panels.push({ x1: gx, y1: gy, x2: gx + it.width, y2: gy + it.height });
      for (const m of it.items ?? []) visit(m, gx, gy);
    }
  };
  // vega types the scenegraph loosely; its root is the top-level group mark.
  visit((view.scenegraph() as unknown as { root: unknown }).root, 0, 0);
  view.finalize();
  // A colour-split line sits in one group per model, each spanning the panel's plot area.
  const unique = [...new Map(panels.map((p) => [[p.x1, p.y1, p.x2, p.y2].map(Math.round).join(','), p])).values()];
  return { panels: unique, xAxes, yAxes };
}

const overlap = (a: Rect, b: Rect) => Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);

test('ROC grid: the last row holds only real panels, every axis belongs to a plotted panel', async () => {
  const d = mkdtempSync(join(tmpdir(), 'milflow-roc-'));
  try {
    for (const [fracs, rows] of [
      [[1, 0.5, 0.25, 0.1], [2, 2]],
      [[1, 0.75, 0.5, 0.25, 0.1], [3, 2]],
      [[1, 0.5, 0.25], [3]],
    ] as [number[], number[]][]) {
      const run = writeSampleRun({ root: join(d, String(fracs.length)), models: ['clam_sb', 'mil'], fracs, folds: 2, slides: 16, epochs: 3 });
      const figs = await buildFigures(analyze(readEntries(entriesFromEvents(run.events))));
      const roc = figs.find((f) => f.id === 'roc_test');
      assert.ok(roc, 'ROC figure drawn');
      const { panels, xAxes, yAxes } = await layout(roc.spec);
      assert.equal(panels.length, fracs.length, `${fracs.length} fractions: one panel each`);
      const rowTops = [...new Set(panels.map((p) => Math.round(p.y1)))].sort((a, b) => a - b);
      assert.deepEqual(rowTops.map((y) => panels.filter((p) => Math.round(p.y1) === y).length), rows, `${fracs.length} panels wrap as ${rows.join(' + ')}`);
      assert.equal(xAxes.length, fracs.length, 'one x axis per panel, none under an empty cell');
      assert.equal(yAxes.length, fracs.length, 'one y axis per panel');
      for (const ax of xAxes)
        assert.ok(
          panels.some((p) => Math.abs(p.y2 - ax.y1) <= 2 && overlap(p, ax) >= 0.9 * (p.x2 - p.x1)),
          `x axis at (${Math.round(ax.x1)}, ${Math.round(ax.y1)}) sits right under a plotted panel`,
        );
      for (const ax of yAxes)
        assert.ok(panels.some((p) => Math.abs(p.x1 - ax.x2) <= 2 && Math.min(p.y2, ax.y2) - Math.max(p.y1, ax.y1) >= 0.9 * (p.y2 - p.y1)), 'y axis beside a plotted panel');
      // Panels do not overlap one another (axes of one panel must not run into the next).
      for (const [i, p] of panels.entries())
        for (const q of panels.slice(i + 1)) assert.ok(overlap(p, q) <= 0 || Math.min(p.y2, q.y2) - Math.max(p.y1, q.y1) <= 0, 'panels are disjoint');
      assert.match(roc.svg, /Training data 100 %/);
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
