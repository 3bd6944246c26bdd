// Dataset label → class index, through task.label_map. Shared by every dataset source.

export type LabelResult = { ok: true; index: number; cls: string } | { ok: false; dropped: true } | { ok: false; dropped: false; message: string };

export function mapLabel(raw: string, classes: string[], labelMap: Record<string, string | null> | undefined): LabelResult {
  const key = raw.trim();
  if (labelMap && Object.prototype.hasOwnProperty.call(labelMap, key)) {
    const to = labelMap[key];
    if (to === null) return { ok: false, dropped: true };
    const i = classes.indexOf(to);
    if (i < 0) return { ok: false, dropped: false, message: `label '${key}' maps to '${to}', which is not a class (classes: ${classes.join(', ')})` };
    return { ok: true, index: i, cls: to };
  }
  const i = classes.indexOf(key);
  if (i >= 0) return { ok: true, index: i, cls: key };
  const mapped = labelMap ? Object.keys(labelMap) : [];
  return {
    ok: false,
    dropped: false,
    message: `label '${key}' is not a class (classes: ${classes.join(', ')})` + (mapped.length ? ` and not in task.label_map (${mapped.join(', ')})` : '; map it with task.label_map'),
  };
}
