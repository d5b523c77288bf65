// The action's entry, as in GitHub's typescript-action template: everything is in main.ts's
// run().
import '../../lib/esm-shim.js';
import { run } from './main.js';

await run();
