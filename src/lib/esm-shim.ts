// ssh2's bundled poly1305 code reads __dirname, which does not exist in an ESM bundle
// (toolchain-notes.md). Entry files (src/actions/<name>/index.ts, src/cli/index.ts) import
// this module first so it runs before ssh2 loads.
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

const g = globalThis as { __filename?: string; __dirname?: string };
g.__filename ??= fileURLToPath(import.meta.url);
g.__dirname ??= dirname(g.__filename);
