/**
 * The address a request came from, for the per-address login throttle (auth/login-throttle.ts) and
 * the log. It is the TCP peer, unless that peer is one of `server.trusted_proxies`: then it is the
 * right-most address in `X-Forwarded-For` that is not a trusted proxy (each proxy appends the address
 * it received the request from, so entries left of the last untrusted one may be forged by the client).
 * Without trusted proxies the header is ignored: anyone can send it.
 */
import { BlockList, isIP } from 'node:net';
import type { Context } from 'hono';

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) → `10.0.0.1`. */
function plain(address: string): string {
  const a = address.trim();
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return m ? m[1]! : a;
}

/**
 * Parse `server.trusted_proxies` entries (an address, or a range `address/prefix`). Returns undefined
 * for an empty list. Entries are validated by the config schema (`isAddressOrRange` in schema/server.ts).
 */
export function trustedProxies(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    // as written: a BlockList matches IPv4 clients against IPv4-mapped IPv6 entries and back
    const [addr, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(prefix), type);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const a = plain(address);
  const family = isIP(a);
  return family !== 0 && list.check(a, family === 6 ? 'ipv6' : 'ipv4');
}

/** The TCP peer's address; undefined when the request did not come over a socket (tests). */
function peerAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const address = env?.incoming?.socket?.remoteAddress;
  return address ? plain(address) : undefined;
}

export function clientAddress(c: Context, trusted: BlockList | undefined): string | undefined {
  const peer = peerAddress(c);
  if (!peer || !trusted || !isTrusted(trusted, peer)) return peer;
  const forwarded = (c.req.header('x-forwarded-for') ?? '')
    .split(',')
    .map((s) => plain(s))
    .filter((s) => s !== '');
  for (let i = forwarded.length - 1; i >= 0; i--) {
    const hop = forwarded[i]!;
    if (!isTrusted(trusted, hop)) return isIP(hop) ? hop : peer; // not an address: the proxy's own view
  }
  // every hop is a trusted proxy (or there was no header): the left-most is the nearest to the client
  return forwarded[0] ?? peer;
}
