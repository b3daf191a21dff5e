/**
 * Making text from elsewhere (a daemon's error message, a host name, a file path) safe to print on one
 * terminal line. One pass over the characters, no regular expression: the text may be attacker bytes.
 */

/**
 * True for the characters that must never reach a terminal: C0 controls and DEL, C1 controls
 * (U+0080–U+009F, U+009B is an 8-bit CSI), line and paragraph separators (U+2028, U+2029), and the
 * bidirectional controls that reorder what a reader sees (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
 */
export function isUnsafeChar(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/**
 * Returns `text` on one line: every run of unsafe characters, with the spaces around it, becomes one
 * space; the ends are trimmed; more than `maxLength` characters are cut with `...`.
 */
export function toSafeLine(text: string, maxLength = 512): string {
  let out = '';
  let spaces = 0;
  let unsafe = false;
  for (let i = 0; i < text.length && out.length <= maxLength; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x20) spaces++;
    else if (isUnsafeChar(code)) unsafe = true;
    else {
      if (out !== '') out += unsafe ? ' ' : ' '.repeat(spaces);
      out += text[i];
      spaces = 0;
      unsafe = false;
    }
  }
  return out.length > maxLength ? `${out.slice(0, maxLength - 3)}...` : out;
}

/** A URL as it may be shown: user information (`https://user:password@host`) replaced by `…@`. */
export function withoutUserInfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1…@');
}
