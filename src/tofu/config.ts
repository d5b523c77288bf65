import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../lib/errors.js';
import {
  inputBoolean,
  inputChoice,
  inputInteger,
  inputList,
  inputOptional,
  inputString,
  type InputSource,
} from '../lib/inputs.js';
import { DEFAULT_DOWNLOAD_BASE_URL } from './install.js';
import { inert, inertText } from '../lib/inert.js';

/**
 * The tofu capability's configuration, parsed from named inputs (the action's `with:`, the
 * CLI's flags mapped onto the same names) with defaults and validation. Every error names the
 * input. Nothing here runs tofu or touches the network.
 */
export const Inputs = {
  command: 'command',
  workingDirectory: 'working-directory',
  version: 'version',
  downloadBaseUrl: 'download-base-url',
  init: 'init',
  backendConfig: 'backend-config',
  varFiles: 'var-files',
  vars: 'vars',
  planArgs: 'plan-args',
  planFile: 'plan-file',
  resourceChangesHash: 'resource-changes-hash',
  lockTimeout: 'lock-timeout',
  comment: 'comment',
  commentKey: 'comment-key',
  pullRequest: 'pull-request',
  githubToken: 'github-token',
  includeSensitiveOutputs: 'include-sensitive-outputs',
} as const;

export const COMMANDS = ['plan', 'apply', 'output'] as const;
export type TofuCommand = (typeof COMMANDS)[number];

export const DEFAULT_TOFU_VERSION = '1.11.6';

export interface CommonConfig {
  /** Absolute path of the configuration to run in. */
  workingDirectory: string;
  /** The same, relative to the workspace (`.` for the root): shown to people, keys the comment. */
  displayDirectory: string;
  install: { version: string; baseUrl: string };
  init: boolean;
  /** `-backend-config=` values for init. */
  backendConfig: string[];
  /** `-var-file=` paths, relative to the working directory as tofu reads them. */
  varFiles: string[];
  /** Variables as TF_VAR_<name> (environment, so values never show in a process listing). */
  vars: Record<string, string>;
  /** `-lock-timeout=` for plan and apply. */
  lockTimeout?: string;
  /** Where plan files and the report go (RUNNER_TEMP or the system temp dir). */
  scratchDir: string;
}

export interface PlanConfig extends CommonConfig {
  command: 'plan';
  planFile: string;
  /** Extra plan arguments (-target=..., -replace=..., -refresh=false, -destroy, ...). */
  planArgs: string[];
  comment: boolean;
  /** Sticky comment key: the working directory, plus `comment-key` when given. */
  commentKey: string;
  pullRequest?: number;
}

export interface ApplyConfig extends CommonConfig {
  command: 'apply';
  planFile: string;
  /** The hash recorded when the plan was reviewed; apply refuses any other plan. */
  expectedHash: string;
}

export interface OutputConfig extends CommonConfig {
  command: 'output';
  includeSensitive: boolean;
}

export type TofuConfig = PlanConfig | ApplyConfig | OutputConfig;

export interface ConfigEnvironment {
  /** Base for relative paths (the workspace). */
  cwd: string;
  /** Scratch space: RUNNER_TEMP in an action. */
  tempDir?: string;
}

const VERSION = /^\d+\.\d+\.\d+(-(alpha|beta|rc)\d+)?$/;
const HASH = /^[0-9a-f]{64}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
// Arguments the action itself controls: a second -out or -json would break its flow.
const RESERVED_PLAN_ARGS = /^-(out|json|detailed-exitcode|chdir|input|no-color|state-out)(=|$)/;

/**
 * Paths (and keys) end up in messages, the PR comment and the job summary: control and bidi
 * characters are refused here rather than escaped everywhere later.
 */
function safePath(field: string, value: string): string {
  if (inertText(value, Infinity) !== value)
    throw new InputError(field, `${inert(value)} contains control or bidi characters`);
  return value;
}

function directory(field: string, path: string): void {
  let ok: boolean;
  try {
    ok = statSync(path).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new InputError(field, `${inert(path)} is not a directory`);
}

export function displayPath(cwd: string, absolute: string): string {
  const rel = relative(cwd, absolute);
  if (rel === '') return '.';
  return rel.split(sep).join('/');
}

function parseVars(get: InputSource): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of get(Inputs.vars).split(/\r?\n/)) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!VAR_NAME.test(name))
      throw new InputError(Inputs.vars, `${inert(line)}: expected one "name=value" per line`);
    vars[name] = line.slice(eq + 1);
  }
  return vars;
}

export function parseTofuConfig(get: InputSource, env: ConfigEnvironment): TofuConfig {
  const command = inputChoice(get, Inputs.command, COMMANDS, 'plan');
  const dirInput = safePath(Inputs.workingDirectory, inputString(get, Inputs.workingDirectory, '.'));
  const workingDirectory = resolve(env.cwd, dirInput);
  directory(Inputs.workingDirectory, workingDirectory);
  const displayDirectory = displayPath(env.cwd, workingDirectory);

  const version = inputString(get, Inputs.version, DEFAULT_TOFU_VERSION).replace(/^v/, '');
  if (!VERSION.test(version))
    throw new InputError(Inputs.version, `${inert(version)} is not an exact OpenTofu version like 1.11.6`);
  const baseUrl = inputString(get, Inputs.downloadBaseUrl, DEFAULT_DOWNLOAD_BASE_URL);
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(baseUrl);
  } catch {
    throw new InputError(Inputs.downloadBaseUrl, `${inert(baseUrl)} is not a URL`);
  }
  if (parsedUrl.protocol !== 'https:' && parsedUrl.protocol !== 'http:')
    throw new InputError(Inputs.downloadBaseUrl, 'must be an http(s) URL');

  const lockTimeout = inputOptional(get, Inputs.lockTimeout);
  if (lockTimeout && !/^\d+(ms|s|m|h)$/.test(lockTimeout))
    throw new InputError(Inputs.lockTimeout, `${inert(lockTimeout)}: expected a duration like 30s or 5m`);

  const scratchDir = join(
    env.tempDir || tmpdir(),
    'rke2-ops-tofu',
    `${displayDirectory.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-60)}-${createHash('sha256').update(workingDirectory).digest('hex').slice(0, 8)}`,
  );
  const common: CommonConfig = {
    workingDirectory,
    displayDirectory,
    install: { version, baseUrl },
    init: inputBoolean(get, Inputs.init, true),
    backendConfig: inputList(get, Inputs.backendConfig).map((v) => safePath(Inputs.backendConfig, v)),
    varFiles: inputList(get, Inputs.varFiles).map((v) => safePath(Inputs.varFiles, v)),
    vars: parseVars(get),
    ...(lockTimeout ? { lockTimeout } : {}),
    scratchDir,
  };

  const planFileInput = inputOptional(get, Inputs.planFile);
  const planFile = planFileInput
    ? resolve(env.cwd, safePath(Inputs.planFile, planFileInput))
    : join(scratchDir, 'tfplan');

  if (command === 'plan') {
    const planArgs = get(Inputs.planArgs)
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const arg of planArgs) {
      if (!arg.startsWith('-'))
        throw new InputError(Inputs.planArgs, `${inert(arg)}: one option per line, like -target=module.x`);
      if (RESERVED_PLAN_ARGS.test(arg))
        throw new InputError(Inputs.planArgs, `${inert(arg)} is set by the action itself`);
    }
    const prInput = inputOptional(get, Inputs.pullRequest);
    const keyInput = inputOptional(get, Inputs.commentKey);
    const extraKey = keyInput === undefined ? undefined : safePath(Inputs.commentKey, keyInput);
    return {
      ...common,
      command,
      planFile,
      planArgs,
      comment: inputBoolean(get, Inputs.comment, true),
      commentKey: extraKey ? `${displayDirectory}#${extraKey}` : displayDirectory,
      ...(prInput ? { pullRequest: inputInteger(get, Inputs.pullRequest, 0, { min: 1 }) } : {}),
    };
  }
  if (command === 'apply') {
    if (!planFileInput)
      throw new InputError(
        Inputs.planFile,
        'apply needs the saved plan to apply (the plan-file output of the plan step)',
      );
    if (!isAbsolute(planFile)) throw new InputError(Inputs.planFile, 'must resolve to an absolute path');
    const hash = inputString(get, Inputs.resourceChangesHash, '').toLowerCase();
    if (!hash)
      throw new InputError(
        Inputs.resourceChangesHash,
        'apply needs the resource-changes-hash of the reviewed plan (an output of the plan step, shown in the PR comment)',
      );
    if (!HASH.test(hash))
      throw new InputError(Inputs.resourceChangesHash, 'must be 64 hex characters (a sha256)');
    return { ...common, command, planFile, expectedHash: hash };
  }
  return { ...common, command, includeSensitive: inputBoolean(get, Inputs.includeSensitiveOutputs, false) };
}
