// The action's entry, as in GitHub's typescript-action template: everything is in main.ts's
// run(), which tools such as @github/local-action can also load directly.
import '../../lib/esm-shim.js';
import { run } from './main.js';

await run();
