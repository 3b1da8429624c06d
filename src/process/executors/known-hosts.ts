/**
 * OpenSSH known_hosts: parsing, host lookup and fingerprints (as `ssh-keygen -l` prints them).
 * Supports plain and hashed (`|1|salt|hash`) host fields, pattern lists with `*`/`?` and `!`
 * negation, `[host]:port` for non-standard ports, and the `@revoked` marker. `@cert-authority`
 * lines are ignored (certificates are not supported).
 */
import { createHash, createHmac } from 'node:crypto';
import { PermanentError } from '../../core/errors.ts';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  hosts: string; // the host field as written
  type: string; // key type from the line, e.g. ssh-ed25519
  key: Buffer; // the decoded key blob
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (parts[0] === '@revoked' || parts[0] === '@cert-authority') {
      marker = parts[0] === '@revoked' ? 'revoked' : 'cert-authority';
      parts.shift();
    }
    const [hosts, type, b64] = parts;
    if (!hosts || !type || !b64) continue;
    const key = Buffer.from(b64, 'base64');
    if (key.length < 8) continue;
    out.push({ hosts, type, key, ...(marker ? { marker } : {}) });
  }
  return out;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const esc = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${esc}$`, 'i');
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return h === hash;
  }
  let matched = false;
  for (const p of field.split(',')) {
    if (!p) continue;
    if (p.startsWith('!')) {
      if (globToRegExp(p.slice(1)).test(name)) return false;
    } else if (globToRegExp(p).test(name)) {
      matched = true;
    }
  }
  return matched;
}

/** Keys known for host:port, and keys revoked anywhere. */
export function lookupHost(
  entries: KnownHostEntry[],
  host: string,
  port: number,
): { keys: KnownHostEntry[]; revoked: KnownHostEntry[] } {
  const name = knownHostsName(host, port);
  const keys: KnownHostEntry[] = [];
  const revoked: KnownHostEntry[] = [];
  for (const e of entries) {
    if (e.marker === 'revoked') {
      if (hostFieldMatches(e.hosts, name)) revoked.push(e);
      continue;
    }
    if (e.marker === 'cert-authority') continue;
    if (hostFieldMatches(e.hosts, name)) keys.push(e);
  }
  return { keys, revoked };
}

/** `SHA256:<base64 without padding>` of a key blob, as OpenSSH prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (first length-prefixed string). */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len <= 0 || len > 64 || blob.length < 4 + len) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** Host key algorithms to offer so that negotiation picks a key type that known_hosts has. */
export function hostKeyAlgorithms(keys: KnownHostEntry[]): string[] {
  const out: string[] = [];
  const add = (...a: string[]) => {
    for (const x of a) if (!out.includes(x)) out.push(x);
  };
  for (const k of keys) {
    const t = blobKeyType(k.key) ?? k.type;
    if (t === 'ssh-rsa') add('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if (t === 'ssh-ed25519' || t.startsWith('ecdsa-sha2-')) add(t);
  }
  return out;
}

/**
 * The verdict on the host key a server offered (`blob`), given the keys known_hosts has for it and
 * the revoked ones: undefined when it is known, else the error that names the host, the offered
 * fingerprint and what to do (a revoked key, an unknown host, a key that does not match).
 */
export function judgeHostKey(
  blob: Buffer,
  known: { keys: KnownHostEntry[]; revoked: KnownHostEntry[] },
  host: string,
  port: number,
  knownHosts: string,
): PermanentError | undefined {
  const { keys, revoked } = known;
  const name = knownHostsName(host, port);
  const scan = `ssh-keyscan -p ${port} ${host} >> ${knownHosts}`;
  const fp = fingerprint(blob);
  const type = blobKeyType(blob) ?? 'unknown-type';
  if (revoked.some((r) => r.key.equals(blob))) {
    return new PermanentError(
      'process.ssh_host_key',
      `SSH host ${name} offered a REVOKED host key (${type} ${fp}, marked @revoked in ${knownHosts}); refusing to connect`,
      'ask the cluster administrators which key the host should have',
    );
  }
  if (keys.some((k) => k.key.equals(blob))) return undefined;
  if (keys.length === 0) {
    return new PermanentError(
      'process.ssh_host_key',
      `SSH host ${name} is not in ${knownHosts}; it offered the host key ${type} ${fp}. Refusing to connect to an unknown host`,
      `verify this fingerprint with the cluster administrators, then add the key: ${scan}`,
    );
  }
  const have = keys.map((k) => `${blobKeyType(k.key) ?? k.type} ${fingerprint(k.key)}`).join(', ');
  return new PermanentError(
    'process.ssh_host_key',
    `SSH host key of ${name} does not match ${knownHosts}: the server offered ${type} ${fp}, known_hosts has ${have}. ` +
      'Refusing to connect (the key changed, or someone is intercepting the connection)',
    `if the host key was changed on purpose, verify the new fingerprint with the cluster administrators, ` +
      `remove the old entry (ssh-keygen -R '${name}' -f ${knownHosts}) and add the new one: ${scan}`,
  );
}
