#!/usr/bin/env -S node --max-semi-space-size=1
// --max-semi-space-size=1: under load V8 otherwise grows the young generation to 16 MiB per
// semi-space and keeps it resident (about 40 MiB more RSS) for no measurable gain in lookups per
// second (docs/performance.md).
import '../dist/main.js';
