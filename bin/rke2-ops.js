#!/usr/bin/env node
// The CLI ships as an ncc bundle (cli/dist), like the actions: no build step for users.
// Node >= 22.1 keeps V8's compiled code for the bundle in its compile cache (os.tmpdir()), so
// the next run skips parsing it; older nodes have no such API and just load it.
import module from 'node:module';

module.enableCompileCache?.();
await import('../cli/dist/index.js');
