/**
 * Byte-wise search for secrets in every encoding they could escape in: raw UTF-8, JSON-escaped
 * (also Go's HTML-safe escaping), URL-encoded (component and form), base64 and base64url at every
 * alignment, hex, and UTF-16LE.
 */

/** One encoded form of a needle. */
export interface NeedleForm {
  form: string;
  bytes: Buffer;
}

/** Where a needle was found. */
export interface Hit {
  needle: string;
  form: string;
  where: string;
  offset: number;
  /** A few bytes around the hit with the needle itself masked, for the failure message. */
  context: string;
}

const MIN_FORM_LENGTH = 12;

/** Returns every distinct encoded form of `value` that is long enough to search for without false hits. */
export function needleForms(value: string): NeedleForm[] {
  const forms = new Map<string, string | Buffer>();
  const raw = Buffer.from(value, 'utf8');
  forms.set('raw', raw);
  const json = JSON.stringify(value).slice(1, -1);
  forms.set('json', json);
  forms.set('json-html', json.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026'));
  forms.set('json-slash', json.replace(/\//g, '\\/'));
  forms.set('json-ascii', json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  forms.set('url', encodeURIComponent(value));
  forms.set('url-lower', encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  forms.set('form', encodeURIComponent(value).replace(/%20/g, '+'));
  forms.set('url-all', [...raw].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
  forms.set('hex', raw.toString('hex'));
  forms.set('HEX', raw.toString('hex').toUpperCase());
  forms.set('utf16le', Buffer.from(value, 'utf16le'));
  for (let shift = 0; shift < 3; shift++) {
    const shifted = Buffer.concat([Buffer.alloc(shift), raw]);
    // Only the base64 groups that depend on the value's bytes alone, whatever surrounds it.
    const start = shift === 0 ? 0 : shift === 1 ? 2 : 3;
    const end = Math.floor(shifted.length / 3) * 4;
    for (const [name, encoding] of [
      ['base64', 'base64'],
      ['base64url', 'base64url'],
    ] as const) {
      const middle = shifted.toString(encoding).slice(start, end);
      forms.set(`${name}@${shift}`, middle);
    }
  }
  const out: NeedleForm[] = [];
  const seen = new Set<string>();
  for (const [form, bytes] of forms) {
    const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    if (buffer.length < MIN_FORM_LENGTH) continue;
    const key = buffer.toString('hex');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ form, bytes: buffer });
  }
  return out;
}

/** A set of named needles searched for in many places. */
export class LeakScanner {
  private readonly needles = new Map<string, NeedleForm[]>();
  readonly hits: Hit[] = [];
  /** Places searched and bytes read, for the report. */
  places = 0;
  bytes = 0;

  /** Adds a value to look for under a label (the label is what failure messages show, never the value). */
  add(label: string, value: string): void {
    if (value.length < 8) throw new Error(`needle ${label} is too short to scan for reliably`);
    this.needles.set(label, needleForms(value));
  }

  /** Labels of every needle. */
  labels(): string[] {
    return [...this.needles.keys()];
  }

  /** Searches `data` for every needle except those `allow` lets through here; records and returns the hits. */
  scan(where: string, data: Buffer | string, allow: (label: string) => boolean = () => false): Hit[] {
    const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.places++;
    this.bytes += buffer.length;
    const found: Hit[] = [];
    for (const [label, forms] of this.needles) {
      if (allow(label)) continue;
      for (const { form, bytes } of forms) {
        let offset = buffer.indexOf(bytes);
        while (offset >= 0) {
          const before = buffer.subarray(Math.max(0, offset - 40), offset).toString('latin1');
          const after = buffer.subarray(offset + bytes.length, offset + bytes.length + 40).toString('latin1');
          found.push({ needle: label, form, where, offset, context: JSON.stringify(`${before}<${label}>${after}`) });
          offset = buffer.indexOf(bytes, offset + 1);
        }
      }
    }
    this.hits.push(...found);
    return found;
  }

  /** Counts how often a needle (any form) occurs in `data`, without recording hits: for positive controls. */
  count(label: string, data: Buffer | string): number {
    const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let n = 0;
    for (const { bytes } of this.needles.get(label) ?? []) {
      for (let at = buffer.indexOf(bytes); at >= 0; at = buffer.indexOf(bytes, at + 1)) n++;
    }
    return n;
  }
}

/** Formats hits for an assertion message. */
export function describeHits(hits: readonly Hit[], max = 20): string {
  return hits
    .slice(0, max)
    .map((hit) => `${hit.needle} (${hit.form}) in ${hit.where} at ${hit.offset}: ${hit.context}`)
    .join('\n');
}
