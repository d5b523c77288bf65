import '../lib/esm-shim.js';
import { runCli } from './program.js';

if (process.env.RKE2OPS_BUNDLE_CHECK === '1') process.stdout.write('bundle-ok cli\n');
else {
  const code = await runCli(process.argv);
  process.exitCode = code;
  // SSH connections still closing gracefully must not hold the verdict back: exit as soon as
  // what was written has been flushed (the callbacks wait for it where pipes are asynchronous).
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
