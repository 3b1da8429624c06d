import { describe, expect, it } from 'vitest';
import { collectSecrets, isSensitivePath, redact } from './secrets.ts';
import { levenshtein, suggest } from './suggest.ts';

describe('secrets', () => {
  it('treats keys that look like credentials as sensitive', () => {
    expect(isSensitivePath(['alerts', 'slack', 'webhook_url'])).toBe(true);
    expect(isSensitivePath(['archive', 's3', 'secret_access_key'])).toBe(true);
    expect(isSensitivePath(['server', 'auth', 'api_key'])).toBe(true);
    expect(isSensitivePath(['server', 'auth', 'tokens', 0])).toBe(true);
    expect(isSensitivePath(['nats', 'password'])).toBe(true);
    expect(isSensitivePath(['projects', 'prot', 'tokens', 0])).toBe(false);
    expect(isSensitivePath(['server', 'host'])).toBe(false);
  });

  it('collects sensitive leaves, file secrets and URL passwords, and redacts them', () => {
    const config = {
      server: { host: 'h', auth: { tokens: ['t1', 't2'], api_key: '' } },
      alerts: { webhook: 'https://hooks.example/abc' },
      archive: { url: 's3://key:secret@bucket', region: 'eu' },
      projects: { p: { tokens: ['PRO'] } },
      nats: { url: 'nats://h:4222' },
      custom: { value: 'from-file' },
    };
    const secrets = collectSecrets(config, [['custom', 'value']]);
    expect(secrets).toEqual([
      'alerts.webhook',
      'archive.url',
      'custom.value',
      'server.auth.tokens[0]',
      'server.auth.tokens[1]',
    ]);
    expect(redact(config, secrets)).toEqual({
      server: { host: 'h', auth: { tokens: ['***', '***'], api_key: '' } },
      alerts: { webhook: '***' },
      archive: { url: 's3://key:***@bucket', region: 'eu' },
      projects: { p: { tokens: ['PRO'] } },
      nats: { url: 'nats://h:4222' },
      custom: { value: '***' },
    });
  });
});

describe('suggest', () => {
  it('finds near misses, case and camelCase variants', () => {
    expect(levenshtein('watc', 'watch')).toBe(1);
    expect(levenshtein('levle', 'level')).toBe(1);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(suggest('watc', ['type', 'watch', 'glob'])).toBe('watch');
    expect(suggest('Watch', ['type', 'watch'])).toBe('watch');
    expect(suggest('leaseSeconds', ['lease_seconds', 'poll_seconds'])).toBe('lease_seconds');
    expect(suggest('instrumnts', ['instruments', 'pools'])).toBe('instruments');
    expect(suggest('colour', ['host', 'port'])).toBeUndefined();
  });
});
