#!/usr/bin/env -S node --optimize-for-size
// --optimize-for-size: V8 keeps a small heap instead of growing it under load. At 32 connections the
// default young generation grows to 16 MiB per semi-space and the old space to 40-50 MiB between
// collections; with this flag the daemon stays near 24 MiB of heap (RSS under 100 MiB) with the
// same lookups per second (docs/performance.md).
import '../dist/main.js';
