import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  blobKeyType,
  fingerprint,
  hostKeyAlgorithms,
  judgeHostKey,
  knownHostsName,
  lookupHost,
  parseKnownHosts,
} from './known-hosts.ts';

/** An OpenSSH ssh-ed25519 public key blob from a fresh key. */
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
}

const hasKeygen = existsSync('/usr/bin/ssh-keygen');
const tmp = mkdtempSync(path.join(tmpdir(), 'sluice-kh-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('known_hosts', () => {
  const a = ed25519Blob();
  const b = ed25519Blob();
  const line = (hosts: string, blob: Buffer) => `${hosts} ssh-ed25519 ${blob.toString('base64')}`;

  it('names hosts like OpenSSH', () => {
    expect(knownHostsName('login1', 22)).toBe('login1');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('finds plain entries, pattern lists, wildcards and negations', () => {
    const entries = parseKnownHosts(
      [
        '# comment',
        '',
        line('login1,login1.example.org', a),
        line('[127.0.0.1]:2222', b),
        line('*.cluster.org,!bad.cluster.org', a),
        `@cert-authority *.example.org ssh-ed25519 ${b.toString('base64')}`,
      ].join('\n'),
    );
    expect(lookupHost(entries, 'login1', 22).keys.map((k) => k.key)).toEqual([a]);
    expect(lookupHost(entries, 'LOGIN1.example.org', 22).keys).toHaveLength(1);
    expect(lookupHost(entries, '127.0.0.1', 2222).keys.map((k) => k.key)).toEqual([b]);
    expect(lookupHost(entries, '127.0.0.1', 22).keys).toHaveLength(0);
    expect(lookupHost(entries, 'n1.cluster.org', 22).keys).toHaveLength(1);
    expect(lookupHost(entries, 'bad.cluster.org', 22).keys).toHaveLength(0);
    expect(lookupHost(entries, 'x.example.org', 22).keys).toHaveLength(0); // CA lines ignored
  });

  it('reports @revoked keys', () => {
    const entries = parseKnownHosts(`${line('login1', a)}\n@revoked * ssh-ed25519 ${b.toString('base64')}\n`);
    const r = lookupHost(entries, 'login1', 22);
    expect(r.keys).toHaveLength(1);
    expect(r.revoked.map((k) => k.key)).toEqual([b]);
  });

  it('offers only the key types known_hosts has', () => {
    const entries = parseKnownHosts(line('h', a));
    expect(hostKeyAlgorithms(lookupHost(entries, 'h', 22).keys)).toEqual(['ssh-ed25519']);
    expect(blobKeyType(a)).toBe('ssh-ed25519');
  });

  it.skipIf(!hasKeygen)('matches hashed entries written by ssh-keygen -H', () => {
    const file = path.join(tmp, 'known_hosts');
    writeFileSync(file, `${line('[10.1.2.3]:2200', a)}\n${line('login2', b)}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('|1|');
    expect(text).not.toContain('login2');
    const entries = parseKnownHosts(text);
    expect(lookupHost(entries, '10.1.2.3', 2200).keys.map((k) => k.key)).toEqual([a]);
    expect(lookupHost(entries, 'login2', 22).keys.map((k) => k.key)).toEqual([b]);
    expect(lookupHost(entries, 'login3', 22).keys).toHaveLength(0);
  });

  it.skipIf(!hasKeygen)('fingerprints like ssh-keygen -l', () => {
    const file = path.join(tmp, 'key.pub');
    writeFileSync(file, `ssh-ed25519 ${a.toString('base64')} test\n`);
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' });
    expect(out.split(' ')[1]).toBe(fingerprint(a));
  });
});

describe('the verdict on an offered host key', () => {
  const a = ed25519Blob();
  const b = ed25519Blob();
  const kh = (text: string) => lookupHost(parseKnownHosts(text), 'login1', 22);
  it('accepts a known key', () => {
    expect(
      judgeHostKey(a, kh(`login1 ssh-ed25519 ${a.toString('base64')}`), 'login1', 22, '/kh'),
    ).toBeUndefined();
  });
  it('refuses a revoked key, an unknown host and a changed key, saying what to do', () => {
    const revoked = kh(
      `login1 ssh-ed25519 ${a.toString('base64')}\n@revoked * ssh-ed25519 ${a.toString('base64')}`,
    );
    expect(judgeHostKey(a, revoked, 'login1', 22, '/kh')?.message).toContain('REVOKED host key');
    const unknown = judgeHostKey(a, kh(''), 'login1', 2222, '/kh');
    expect(unknown?.message).toContain('[login1]:2222 is not in /kh');
    expect(unknown?.hint).toContain('ssh-keyscan -p 2222 login1 >> /kh');
    const changed = judgeHostKey(b, kh(`login1 ssh-ed25519 ${a.toString('base64')}`), 'login1', 22, '/kh');
    expect(changed?.message).toContain(`known_hosts has ssh-ed25519 ${fingerprint(a)}`);
    expect(changed?.code).toBe('process.ssh_host_key');
  });
});
