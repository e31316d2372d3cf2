#!/usr/bin/env node
// The `raftlab` command (bundled by `npm run build` into dist/cli.js).
require('../dist/cli.js');
