/** Output helpers of the admin CLI: readable tables and key/value blocks, and JSON lines. */
import { isUnsafeChar } from '@dcs/shared/safe-text';

/** Replaces control, separator and bidi characters so a value from the API cannot move the cursor, forge lines or reorder text. */
export function printable(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) out += isUnsafeChar(value.charCodeAt(i)) ? '?' : value[i];
  return out;
}

/** Formats rows as a left-aligned table with a header line; an empty table prints `empty` instead. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, empty: string): string {
  if (rows.length === 0) return `${empty}\n`;
  const cells = [headers, ...rows].map((row) => row.map((cell) => printable(cell)));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** Formats `label: value` lines with aligned values. */
export function formatFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)} ${printable(value)}\n`).join('');
}

/** Formats a value as one line of JSON. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
