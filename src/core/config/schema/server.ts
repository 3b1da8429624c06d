/**
 * Config schema: `server` (the web role's address, port and trusted proxies).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { int, section, str } from './building-blocks.ts';

/** True for `10.0.0.1`, `fd00::1`, `10.0.0.0/8`, `fd00::/8`. */
export function isAddressOrRange(entry: string): boolean {
  const [addr, prefix, extra] = entry.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

const proxyPhrase = 'an IP address or range of a reverse proxy, e.g. 10.0.0.5 or 10.0.0.0/24';

export const serverSchema = section(
  z.strictObject({
    host: str('a host name or IP address to listen on').default('127.0.0.1'),
    port: int(0, 65535, 'a TCP port between 0 and 65535 (0 picks a free port)').default(8080),
    trusted_proxies: z
      .array(str(proxyPhrase).refine(isAddressOrRange, { error: proxyPhrase }), {
        error: 'a list of IP addresses or ranges, e.g. [127.0.0.1, 10.0.0.0/24]',
      })
      .default([]),
  }),
);
