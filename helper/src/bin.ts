/** docker-credential-scalr on Node: the npm `.bin` entry. The packaged binary starts from bin-bun.ts. */
import { createNodePlatform } from './node-platform.js';
import { runMain } from './platform.js';

void runMain(createNodePlatform());
