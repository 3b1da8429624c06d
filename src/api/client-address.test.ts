import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { isAddressOrRange } from '../core/config/schema/server.ts';
import { clientAddress, trustedProxies } from './client-address.ts';

/** Asks a real Hono app who the client is, as @hono/node-server passes the socket (env.incoming). */
async function whoIs(peer: string | undefined, forwardedFor: string | undefined, trusted: string[]) {
  const app = new Hono();
  const list = trustedProxies(trusted);
  app.get('/', (c) => c.text(clientAddress(c, list) ?? '(none)'));
  const headers: Record<string, string> =
    forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  const env = peer === undefined ? undefined : { incoming: { socket: { remoteAddress: peer } } };
  return (await app.request('/', { headers }, env)).text();
}

describe('clientAddress', () => {
  it('is the TCP peer, and ignores X-Forwarded-For unless the peer is a trusted proxy', async () => {
    expect(await whoIs('198.51.100.7', undefined, [])).toBe('198.51.100.7');
    expect(await whoIs('198.51.100.7', '203.0.113.1', [])).toBe('198.51.100.7');
    expect(await whoIs('198.51.100.7', '203.0.113.1', ['10.0.0.0/8'])).toBe('198.51.100.7');
    expect(await whoIs('::ffff:198.51.100.7', undefined, [])).toBe('198.51.100.7');
    expect(await whoIs(undefined, '203.0.113.1', ['10.0.0.0/8'])).toBe('(none)');
  });

  it('behind trusted proxies: the right-most forwarded address that is not a proxy', async () => {
    const proxies = ['10.0.0.0/8', 'fd00::/8', '192.0.2.10'];
    expect(await whoIs('10.1.2.3', '203.0.113.1', proxies)).toBe('203.0.113.1');
    // a client-forged entry on the left is passed over
    expect(await whoIs('10.1.2.3', '1.1.1.1, 203.0.113.1', proxies)).toBe('203.0.113.1');
    // two proxies in a row (the second appended the first)
    expect(await whoIs('::ffff:10.1.2.3', '203.0.113.1, 192.0.2.10', proxies)).toBe('203.0.113.1');
    expect(await whoIs('fd00::5', '2001:db8::9', proxies)).toBe('2001:db8::9');
    // a proxy listed in its IPv4-mapped form
    expect(await whoIs('10.1.2.3', '203.0.113.1', ['::ffff:10.1.2.3'])).toBe('203.0.113.1');
    expect(await whoIs('10.1.2.3', '203.0.113.1', ['::ffff:10.1.2.0/120'])).toBe('203.0.113.1');
    // every hop a proxy, or no header: the nearest we know
    expect(await whoIs('10.1.2.3', '10.9.9.9', proxies)).toBe('10.9.9.9');
    expect(await whoIs('10.1.2.3', undefined, proxies)).toBe('10.1.2.3');
    // junk where an address belongs: the proxy's own peer, not the junk
    expect(await whoIs('10.1.2.3', 'unknown', proxies)).toBe('10.1.2.3');
  });
});

describe('isAddressOrRange (server.trusted_proxies entries)', () => {
  it('accepts addresses and ranges of both families, nothing else', () => {
    for (const ok of ['10.0.0.5', '10.0.0.0/8', '0.0.0.0/0', '::1', 'fd00::/8', '2001:db8::/128'])
      expect(isAddressOrRange(ok), ok).toBe(true);
    for (const bad of [
      'proxy.example',
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.0/',
      '10.0.0.0/8/1',
      '10.0.0.0/x',
    ])
      expect(isAddressOrRange(bad), bad).toBe(false);
  });
});
