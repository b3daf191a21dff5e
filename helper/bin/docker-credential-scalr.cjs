#!/usr/bin/env node
require('../dist/docker-credential-scalr.cjs');
