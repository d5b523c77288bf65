import '../common/esm-shim.js';
import { run } from './main.js';

await run();
