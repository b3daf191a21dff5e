#!/usr/bin/env -S node --optimize-for-size
// --optimize-for-size: V8 keeps a small heap instead of growing it under load, so the daemon's resident
// memory stays low at about the same lookups per second (figures in docs/performance.md, change 9).
import '../dist/main.js';
