/** docker-credential-scalr as the packaged binary: compiled with Bun by scripts/build-binary.mjs. */
// First: it starts reading stdin while the rest is evaluated.
import './bun-stdin.js';
import { createBunPlatform } from './bun-platform.js';
import { runMain } from './platform.js';

void runMain(createBunPlatform());
