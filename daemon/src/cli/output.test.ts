import { describe, expect, it } from 'vitest';
import { formatFields, formatTable, printable } from './output.js';

describe('printable', () => {
  it('replaces C0, C1 (U+009B CSI), separators and bidi overrides, and keeps other text', () => {
    expect(printable('a\u001b[2Jb\u009b2Jc\u202eexe.txt\u2028d\u2066e')).toBe('a?[2Jb?2Jc?exe.txt?d?e');
    expect(printable('ghcr.io/ünïcode ✓')).toBe('ghcr.io/ünïcode ✓');
  });

  it('applies to every table cell and field value', () => {
    expect(formatTable(['NAME'], [['ci\u202eevil']], 'none')).toBe('NAME\nci?evil\n');
    expect(formatFields([['name', 'x\u0085y']])).toBe('name: x?y\n');
  });
});
