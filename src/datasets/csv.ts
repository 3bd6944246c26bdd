// Minimal RFC 4180 CSV reading/writing with line numbers, so dataset errors can name the line.

export interface CsvRow {
  /** 1-based line in the file where the row starts. */
  line: number;
  fields: string[];
}

/** Parses CSV text (quotes, escaped quotes, CRLF, BOM). Blank lines are skipped. */
export function parseCsv(text: string): CsvRow[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let inQuotes = false;
  let any = false;
  const endRow = () => {
    fields.push(field);
    if (any || fields.length > 1 || field !== '') rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
    any = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      inQuotes = true;
      any = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      any = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else field += ch;
  }
  if (field !== '' || fields.length || any) endRow();
  return rows;
}

function quote(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: (string | number)[][]): string {
  return [header, ...rows].map((r) => r.map(quote).join(',')).join('\n') + '\n';
}
