// Minimal RFC 4180 CSV reading/writing for split and prediction files (quoted fields,
// embedded commas/quotes/newlines). Errors carry the file name and line number.

export interface CsvTable {
  header: string[];
  rows: string[][];
  /** 1-based source line of each row (for error messages). */
  lines: number[];
}

export function parseCsv(text: string, file = '<csv>'): CsvTable {
  const records: string[][] = [];
  const lines: number[] = [];
  let field = '';
  let rec: string[] = [];
  let inQuotes = false;
  let line = 1;
  let recLine = 1;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // BOM from spreadsheet exports
  for (; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; }
        else inQuotes = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') inQuotes = true;
    else if (ch === ',') { rec.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      rec.push(field);
      records.push(rec);
      lines.push(recLine);
      rec = []; field = '';
      line++;
      recLine = line;
    } else field += ch;
  }
  if (inQuotes) throw new Error(`${file}:${recLine}: unterminated quoted field`);
  if (field !== '' || rec.length > 0) { rec.push(field); records.push(rec); lines.push(recLine); }
  // Blank lines are not records.
  const keep = records.map((r, k) => [r, lines[k]] as const).filter(([r]) => !(r.length === 1 && r[0] === ''));
  if (keep.length === 0) throw new Error(`${file}: empty CSV (no header)`);
  const header = keep[0][0];
  const rows = keep.slice(1).map(([r]) => r);
  const rowLines = keep.slice(1).map(([, l]) => l);
  rows.forEach((r, k) => {
    if (r.length !== header.length) {
      throw new Error(`${file}:${rowLines[k]}: ${r.length} fields, header has ${header.length}`);
    }
  });
  return { header, rows, lines: rowLines };
}

export function csvField(v: string | number | boolean): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: (string | number | boolean)[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

/** Column index by name, with an error naming the file and the columns found. */
export function column(t: CsvTable, name: string, file: string): number {
  const k = t.header.indexOf(name);
  if (k < 0) throw new Error(`${file}: missing column '${name}' (found: ${t.header.join(', ')})`);
  return k;
}
