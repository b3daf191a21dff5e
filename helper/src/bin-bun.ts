/** docker-credential-scalr as the packaged binary: compiled with Bun by scripts/build-binary.mjs. */
import { createBunPlatform } from './bun-platform.js';
import { runMain } from './platform.js';

void runMain(createBunPlatform());
