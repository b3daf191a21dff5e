import { TOKEN_VALUE_PATTERN } from '../auth/token-hash.js';

/** Structured log fields. Values under sensitive keys are dropped by the redaction layer. */
export type LogFields = Record<string, unknown>;

/** A JSON-lines logger. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
/** A log level name. */
export type LogLevel = keyof typeof LEVELS;

const SENSITIVE_KEYS = new Set([
  'secret', 'password', 'passwd', 'token', 'authorization', 'cookie', 'set-cookie', 'auth',
  'identitytoken', 'registrytoken', 'rootkey', 'key', 'body',
]);

/** Builds a logger writing one JSON object per line through `write`, redacted. */
export function createLogger(write: (line: string) => void, level: LogLevel = 'info', now: () => Date = () => new Date()): Logger {
  const min = LEVELS[level];
  const log = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    write(`${JSON.stringify({ time: now().toISOString(), level: lvl, msg: redactText(msg), ...(redact(fields ?? {}) as LogFields) })}\n`);
  };
  return {
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
  };
}

/** Returns a copy of `value` with sensitive keys replaced and token values scrubbed from strings. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return redactText(value);
  if (value instanceof Error) {
    return { name: value.name, message: redactText(value.message), stack: value.stack ? redactText(value.stack) : undefined };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = SENSITIVE_KEYS.has(key.toLowerCase()) ? '[redacted]' : redact(item, depth + 1);
    }
    return out;
  }
  return value;
}

function redactText(text: string): string {
  return text.replace(TOKEN_VALUE_PATTERN, 'scd_[redacted]');
}
