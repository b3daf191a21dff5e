/** The daemon's version, reported by `scalr-credd version` and `/healthz`. Kept equal to package.json's. */
export const VERSION = '0.1.0';
