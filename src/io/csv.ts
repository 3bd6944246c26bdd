// CSV, read and written in one place: RFC 4180 (quoted fields with embedded commas, quotes and
// newlines; CRLF; a spreadsheet's BOM), every record with the 1-based line it starts on so that
// errors can name file:line. Blank lines are not records.

/** A record and the line it starts on. */
export interface CsvRow {
  line: number;
  fields: string[];
}

/** A header and rows of the header's width (checked). */
export interface CsvTable {
  header: string[];
  rows: string[][];
  /** 1-based source line of each row (for error messages). */
  lines: number[];
}

/** Every record of the text; throws naming `file` on an unterminated quoted field. */
export function parseCsvRows(text: string, file = '<csv>'): CsvRow[] {
  const out: CsvRow[] = [];
  let field = '';
  let rec: string[] = [];
  let inQuotes = false;
  let quoted = false;
  let line = 1;
  let recLine = 1;
  const end = () => {
    rec.push(field);
    // A blank line is one empty unquoted field: not a record.
    if (rec.length > 1 || field !== '' || quoted) out.push({ line: recLine, fields: rec });
    rec = [];
    field = '';
    quoted = false;
  };
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
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
    if (ch === '"') { inQuotes = true; quoted = true; }
    else if (ch === ',') { rec.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      end();
      line++;
      recLine = line;
    } else field += ch;
  }
  if (inQuotes) throw new Error(`${file}:${recLine}: unterminated quoted field`);
  if (field !== '' || rec.length > 0 || quoted) end();
  return out;
}

/** Header + rows, every row as wide as the header. */
export function parseCsv(text: string, file = '<csv>'): CsvTable {
  const recs = parseCsvRows(text, file);
  if (recs.length === 0) throw new Error(`${file}: empty CSV (no header)`);
  const header = recs[0].fields;
  const body = recs.slice(1);
  for (const r of body) {
    if (r.fields.length !== header.length) throw new Error(`${file}:${r.line}: ${r.fields.length} fields, header has ${header.length}`);
  }
  return { header, rows: body.map((r) => r.fields), lines: body.map((r) => r.line) };
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
