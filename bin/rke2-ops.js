#!/usr/bin/env node
// The CLI ships as an ncc bundle (cli/dist), like the actions: no build step for users.
await import('../cli/dist/index.js');
