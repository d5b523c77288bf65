import '../lib/esm-shim.js';
import { runCli } from './program.js';

if (process.env.RKE2OPS_BUNDLE_CHECK === '1') process.stdout.write('bundle-ok cli\n');
else process.exitCode = await runCli(process.argv);
