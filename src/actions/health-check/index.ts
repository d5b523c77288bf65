import '../common/esm-shim.js';
import { runAction } from '../common/runtime.js';
import { main } from './main.js';

await runAction('health-check', (ctx) => main(ctx));
