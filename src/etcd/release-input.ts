import { InputError } from '../lib/errors.js';
import { inert } from '../lib/inert.js';
import { inputString, type InputSource } from '../lib/inputs.js';
import { DEFAULT_ETCD_BASE_URL, DEFAULT_ETCD_VERSION, type InstallEtcdRequest } from './install.js';

/**
 * The two inputs that say which etcd tools a trial restore installs, read the same way by every
 * front end that verifies at the `restore` level (snapshot, backup-freshness's restore drill).
 */
export function etcdReleaseInput(
  get: InputSource,
  names: { version: string; baseUrl: string },
): InstallEtcdRequest {
  const version = inputString(get, names.version, DEFAULT_ETCD_VERSION).replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new InputError(names.version, `${inert(version)} is not an etcd release like 3.6.16`);
  const baseUrl = inputString(get, names.baseUrl, DEFAULT_ETCD_BASE_URL);
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error();
  } catch {
    throw new InputError(names.baseUrl, `${inert(baseUrl)} is not an http(s) URL`);
  }
  return { version, baseUrl };
}
