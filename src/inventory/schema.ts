import { z } from 'zod';
import { patterns } from '../lib/identifiers.js';
import { parseHostKey } from '../ssh/hostkeys.js';
import { errorMessage } from '../lib/errors.js';
import { inert } from '../lib/inert.js';

/**
 * The inventory contract (design.md section 3): one JSON document describing a cluster to
 * every action and the CLI. The module emits it as `ops_inventory`; the lab writes one.
 * Secrets never belong in it. Objects are strict, so a misspelled key is an error, not a
 * silently ignored setting.
 */

export const INVENTORY_VERSION = 1;

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const ipv6 = /^[0-9A-Fa-f:]+(%[A-Za-z0-9]+)?$/;
const hostname =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An IPv4/IPv6 address or a DNS host name (at most 253 characters), nothing a shell or ssh would parse. */
export function isAddress(v: string): boolean {
  return (
    v.length <= 253 &&
    (ipv4.test(v) || (v.includes(':') && ipv6.test(v)) || (hostname.test(v) && !/^[\d.]+$/.test(v)))
  );
}

const address = z.string({ error: 'must be a string (an IP address or host name)' }).refine(isAddress, {
  error: (issue) => `must be an IPv4/IPv6 address or a host name (got ${inert(issue.input)})`,
});

const hostKey = z.string({ error: 'must be an OpenSSH public key line' }).superRefine((value, ctx) => {
  try {
    parseHostKey(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid host key: ${errorMessage(error)}` });
  }
});

const port = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be a whole number' })
  .min(1)
  .max(65535);

const named = (pattern: RegExp, what: string) =>
  z
    .string({ error: `must be a string (${what})` })
    .regex(pattern, { error: (i) => `must be a ${what} (got ${inert(i.input)})` });

export const nodeSchema = z.strictObject({
  name: named(patterns.nodeName, 'node name: lowercase letters, digits and "-", at most 63 characters'),
  address,
  host_keys: z.array(hostKey, { error: 'must be a list of OpenSSH public key lines' }).default([]),
});

export const bastionSchema = z.strictObject({
  name: named(patterns.nodeName, 'node name').default('bastion'),
  address,
  port: port.default(22),
  user: named(patterns.userName, 'user name').default('root'),
  host_keys: z.array(hostKey).default([]),
});

export const inventorySchema = z.strictObject({
  version: z.literal(INVENTORY_VERSION, {
    error: (i) =>
      `unsupported inventory version ${inert(i.input)}: this toolkit reads version ${INVENTORY_VERSION}`,
  }),
  cluster: named(patterns.clusterName, 'cluster name: lowercase letters, digits and "-"'),
  ssh: z
    .strictObject({
      user: named(patterns.userName, 'user name').default('root'),
      port: port.default(22),
      bastion: bastionSchema.nullable().default(null),
    })
    .default({ user: 'root', port: 22, bastion: null }),
  masters: z
    .array(nodeSchema, { error: 'must be a list of nodes' })
    .min(1, { error: 'needs at least one master (masters[0] is the initial server)' }),
  workers: z.array(nodeSchema, { error: 'must be a list of nodes' }).default([]),
  rke2: z.strictObject({
    version: named(patterns.rke2Version, 'RKE2 version like v1.34.4+rke2r1'),
    data_dir: z
      .string()
      .regex(/^\/[A-Za-z0-9._/-]*$/, { error: 'must be an absolute path' })
      .refine((v) => !v.split('/').includes('..'), { error: 'must not contain ".."' })
      .default('/var/lib/rancher/rke2'),
    kube_proxy: z.boolean({ error: 'must be true or false' }).default(true),
    install_command: z.string().min(1).nullable().default(null),
  }),
  etcd_s3: z
    .strictObject({
      endpoint: z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, {
        error: 'must be a host[:port] with no scheme (RKE2 etcd-s3-endpoint)',
      }),
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name' }),
      folder: z
        .string()
        .regex(/^[A-Za-z0-9._/-]*$/, { error: 'must be a key prefix without spaces' })
        .default(''),
      region: z
        .string()
        .regex(/^[a-z0-9-]+$/)
        .default('us-east-1'),
      insecure: z.boolean().default(false),
    })
    .nullable()
    .default(null),
  velero: z
    .strictObject({
      namespace: named(patterns.namespace, 'namespace').default('velero'),
      schedule: named(patterns.objectName, 'Velero schedule name'),
    })
    .nullable()
    .default(null),
  health: z
    .strictObject({
      urls: z.array(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })).default([]),
    })
    .default({ urls: [] }),
});

export type Inventory = z.infer<typeof inventorySchema>;
export type InventoryNode = z.infer<typeof nodeSchema>;
