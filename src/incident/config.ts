import { readFile } from 'node:fs/promises';
import { InputError } from '../lib/errors.js';
import { assertIdentifier } from '../lib/identifiers.js';
import { inert, inertText } from '../lib/inert.js';
import {
  inputBoolean,
  inputDuration,
  inputList,
  inputOptional,
  inputString,
  type InputSource,
} from '../lib/inputs.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { parseRepository } from '../github/context.js';
import { parseReport, type IncidentSubject } from './envelope.js';
import { LABEL_MAX } from './identity.js';

/** Input names, shared by action.yml, the CLI flags and the tests. */
export const IncidentInputs = {
  report: 'report',
  reportFile: 'report-file',
  githubToken: 'github-token',
  repository: 'repository',
  snapshot: 'snapshot',
  rollbackWorkflow: 'rollback-workflow',
  labels: 'labels',
  closeOnRecovery: 'close-on-recovery',
  duplicateCheckDelay: 'duplicate-check-delay',
} as const;

export interface IncidentConfig {
  subject: IncidentSubject;
  /** Where the issue lives. */
  repository: { owner: string; repo: string };
  /** The consumer's rollback workflow file, for the dispatch command in the issue. */
  rollbackWorkflow: string;
  /** Added to a new issue besides the incident labels. */
  extraLabels: string[];
  closeOnRecovery: boolean;
  /** Wait before looking again for an issue opened concurrently (GitHub's lists lag writes a little). */
  duplicateCheckDelayMs: number;
}

export interface IncidentRunConfig {
  incident: IncidentConfig;
  /** Registered as a secret the moment it is read. */
  token: string;
}

export interface IncidentEnvironment {
  /** `GITHUB_REPOSITORY`, the default for `repository`. */
  repository?: string;
  readFile?: (path: string) => Promise<string>;
}

const WORKFLOW_FILE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.ya?ml$/;

/**
 * Reads and validates every input before any API call: the report (text or file) must be an
 * rke2-ops report, the repository `owner/repo`, the snapshot a snapshot name, the rollback
 * workflow a workflow file name. Errors name the input.
 */
export async function readIncidentConfig(
  get: InputSource,
  secrets: SecretRegistry,
  env: IncidentEnvironment = {},
): Promise<IncidentRunConfig> {
  const token = inputOptional(get, IncidentInputs.githubToken) ?? '';
  secrets.add(token);
  if (!token)
    throw new InputError(IncidentInputs.githubToken, 'is empty: a token with issues: write is needed');

  const text = inputOptional(get, IncidentInputs.report);
  const file = inputOptional(get, IncidentInputs.reportFile);
  if (!text && !file)
    throw new InputError(IncidentInputs.report, 'give `report` (the JSON report) or `report-file`');
  if (text && file)
    throw new InputError(IncidentInputs.report, 'give only one of `report` and `report-file`');
  const subject = text
    ? parseReport(text, IncidentInputs.report)
    : parseReport(await readReportFile(file!, env.readFile), IncidentInputs.reportFile);

  const repoText = inputString(get, IncidentInputs.repository, env.repository ?? '');
  if (!repoText)
    throw new InputError(IncidentInputs.repository, 'is not given and GITHUB_REPOSITORY is not set');
  const repository = parseRepository(repoText);
  if (!repository) throw new InputError(IncidentInputs.repository, `${inert(repoText)} is not owner/repo`);

  const snapshot = inputOptional(get, IncidentInputs.snapshot);
  if (snapshot) {
    assertIdentifier('snapshotName', IncidentInputs.snapshot, snapshot);
    subject.snapshot = { name: snapshot, source: 'input' };
  }

  const rollbackWorkflow = inputString(get, IncidentInputs.rollbackWorkflow, 'rollback.yml');
  if (!WORKFLOW_FILE.test(rollbackWorkflow) || rollbackWorkflow.includes('..'))
    throw new InputError(
      IncidentInputs.rollbackWorkflow,
      `${inert(rollbackWorkflow)} is not a workflow file name like rollback.yml`,
    );

  const extraLabels = inputList(get, IncidentInputs.labels);
  for (const label of extraLabels) {
    if (label.length > LABEL_MAX || inertText(label, Infinity) !== label)
      throw new InputError(
        IncidentInputs.labels,
        `${inert(label)} is not a label name (at most ${LABEL_MAX} characters, no control characters)`,
      );
  }

  return {
    token,
    incident: {
      subject,
      repository,
      rollbackWorkflow,
      extraLabels,
      closeOnRecovery: inputBoolean(get, IncidentInputs.closeOnRecovery, true),
      duplicateCheckDelayMs: Math.round(inputDuration(get, IncidentInputs.duplicateCheckDelay, 3) * 1000),
    },
  };
}

async function readReportFile(
  path: string,
  read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<string> {
  try {
    return await read(path);
  } catch (error) {
    throw new InputError(
      IncidentInputs.reportFile,
      `cannot read ${inert(path)} (${(error as NodeJS.ErrnoException).code ?? inertText(String(error))})`,
    );
  }
}
