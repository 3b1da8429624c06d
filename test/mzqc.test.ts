/**
 * mzQC export through the API and the CLI on real PostgreSQL: processed files with recorded metrics,
 * verified backups and processing settings become one runQuality per file and settings; the document
 * meets the mzQC 1.0.0 schema's requirements (checked with ajv against the requirements written out
 * below: required members, accession pattern, no members the schema does not allow); metrics without
 * a PSI-MS term are left out and named; bad requests say what was wrong.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, call, createApiHarness } from './helpers/api.ts';
import { sluice } from './helpers/cli.ts';

let h: ApiHarness;
const HASH = 'c0ffee'.padEnd(64, '0');

beforeAll(async () => {
  h = await createApiHarness();
  await h.db.exec(
    `insert into processing_settings (name, version, software, software_version, definition, content_hash)
     values ('msqc', 1, 'msqc', '1.3', '{}', 'h1'), ('msqc', 2, 'msqc', '1.4', '{}', 'h2'),
            ('dia', 1, 'DIA-NN', '1.9.2', '{}', 'h3')`,
  );
  for (const [i, id] of ['qc_01.raw', 'qc_02.raw', 'plain_03.raw'].entries()) {
    await h.db.exec(
      `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime, acquired_at, manifest)
       values ($1, 'astral1', $1, 'file', '/instr/' || $1, 'PRJ1', 'done', 10, now(), $2, $3)`,
      [
        id,
        `2026-11-0${i + 1}T10:00:00Z`,
        JSON.stringify({
          algorithm: 'sha256',
          totalBytes: 10,
          entries: [{ rel: id, size: 10, mtimeMs: 0, hash: HASH }],
        }),
      ],
    );
    await h.db.exec(
      `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes)
       values ($1, 'backup', '/backup/astral1/' || $1, 'verified', 'sha256', '{}', 10)`,
      [id],
    );
  }
  const metric = (file: string, settings: string, version: number, name: string, value: number, at: string) =>
    h.db.exec(
      `insert into metrics (file_id, settings_name, settings_version, name, value, created_at) values ($1, $2, $3, $4, $5, $6)`,
      [file, settings, version, name, value, at],
    );
  // qc_01: msqc v1 (superseded) and v2, and DIA-NN; qc_02: msqc v2; plain_03: only unmapped metrics
  await metric('qc_01.raw', 'msqc', 1, 'ms1_scans', 1, '2026-11-01T11:00:00Z');
  await metric('qc_01.raw', 'msqc', 2, 'ms1_scans', 12000, '2026-11-01T12:00:00Z');
  await metric('qc_01.raw', 'msqc', 2, 'ms1_median_tic', 2.5e9, '2026-11-01T12:00:00Z');
  await metric('qc_01.raw', 'dia', 1, 'proteins_identified', 6100, '2026-11-01T12:00:00Z');
  await metric('qc_02.raw', 'msqc', 2, 'ms2_scans', 90000, '2026-11-02T12:00:00Z');
  await metric('plain_03.raw', 'msqc', 2, 'ms1_median_tic', 1e9, '2026-11-03T12:00:00Z');
});
afterAll(() => h?.close());

// The mzQC 1.0.0 schema's requirements (HUPO-PSI/mzQC schema/mzqc_schema.json), restated.
const cv = {
  type: 'object',
  required: ['accession', 'name'],
  properties: { accession: { type: 'string', pattern: '^[A-Z]+:[A-Z0-9]+$' }, name: { type: 'string' } },
};
const MZQC = {
  type: 'object',
  additionalProperties: false,
  required: ['mzQC'],
  properties: {
    mzQC: {
      type: 'object',
      additionalProperties: false,
      required: ['version', 'creationDate', 'controlledVocabularies', 'runQualities'],
      properties: {
        version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' },
        creationDate: { type: 'string' },
        description: { type: 'string' },
        contactName: { type: 'string' },
        contactAddress: { type: 'string' },
        controlledVocabularies: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'uri'],
            properties: { name: { type: 'string' }, uri: { type: 'string' }, version: { type: 'string' } },
          },
        },
        runQualities: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['metadata', 'qualityMetrics'],
            properties: {
              metadata: {
                type: 'object',
                additionalProperties: false,
                required: ['inputFiles', 'analysisSoftware'],
                properties: {
                  label: { type: 'string' },
                  inputFiles: {
                    type: 'array',
                    minItems: 1,
                    items: {
                      type: 'object',
                      additionalProperties: false,
                      required: ['name', 'location', 'fileFormat'],
                      properties: {
                        name: { type: 'string' },
                        location: { type: 'string' },
                        fileFormat: cv,
                        fileProperties: { type: 'array', minItems: 1, items: cv },
                      },
                    },
                  },
                  analysisSoftware: {
                    type: 'array',
                    minItems: 1,
                    items: { allOf: [cv, { required: ['version', 'uri'] }] },
                  },
                },
              },
              qualityMetrics: { type: 'array', minItems: 1, items: cv },
            },
          },
        },
      },
    },
  },
};

function checkDocument(doc: unknown): void {
  const validate = new Ajv({ allErrors: true, strict: false }).compile(MZQC);
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  const d = doc as {
    mzQC: { creationDate: string; runQualities: { metadata: { inputFiles: { location: string }[] } }[] };
  };
  expect(Number.isNaN(Date.parse(d.mzQC.creationDate))).toBe(false);
  for (const rq of d.mzQC.runQualities)
    for (const f of rq.metadata.inputFiles) expect(() => new URL(f.location)).not.toThrow();
}

type Doc = {
  mzQC: {
    runQualities: {
      metadata: {
        label: string;
        inputFiles: { name: string; location: string }[];
        analysisSoftware: { version: string }[];
      };
      qualityMetrics: { accession: string; value: number }[];
    }[];
  };
};

describe('mzQC export', () => {
  it('exports an instrument’s runs: one runQuality per file and settings, newest version, mapped metrics only', async () => {
    const res = await call(h.app, '/api/qc/mzqc?instrument=astral1', { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('.mzQC');
    expect(res.headers.get('x-sluice-unmapped-metrics')).toBe('ms1_median_tic');
    const doc = (await res.json()) as Doc;
    checkDocument(doc);
    const rqs = doc.mzQC.runQualities.map((r) => ({
      label: r.metadata.label,
      location: r.metadata.inputFiles[0]!.location,
      software: r.metadata.analysisSoftware[0]!.version,
      metrics: r.qualityMetrics.map((m) => [m.accession, m.value]),
    }));
    expect(rqs).toEqual([
      {
        label: 'qc_01.raw · dia v1',
        location: 'file:///backup/astral1/qc_01.raw',
        software: '1.9.2',
        metrics: [['MS:1003327', 6100]],
      },
      {
        label: 'qc_01.raw · msqc v2',
        location: 'file:///backup/astral1/qc_01.raw',
        software: '1.4',
        metrics: [['MS:4000059', 12000]],
      },
      {
        label: 'qc_02.raw · msqc v2',
        location: 'file:///backup/astral1/qc_02.raw',
        software: '1.4',
        metrics: [['MS:4000060', 90000]],
      },
    ]);
  });

  it('exports chosen files or a date range', async () => {
    const one = (await (
      await call(h.app, '/api/qc/mzqc?files=qc_02.raw', { token: h.tokens.viewer })
    ).json()) as Doc;
    expect(one.mzQC.runQualities.map((r) => r.metadata.inputFiles[0]!.name)).toEqual(['qc_02.raw']);
    const range = await call(h.app, '/api/qc/mzqc?from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z', {
      token: h.tokens.viewer,
    });
    expect(
      ((await range.json()) as Doc).mzQC.runQualities.map((r) => r.metadata.inputFiles[0]!.name),
    ).toEqual(['qc_02.raw']);
  });

  it('refuses what cannot be exported, saying why', async () => {
    const none = await call(h.app, '/api/qc/mzqc', { token: h.tokens.viewer });
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ field: 'files' });
    const unmapped = await call(h.app, '/api/qc/mzqc?files=plain_03.raw', { token: h.tokens.viewer });
    expect(unmapped.status).toBe(422);
    expect(((await unmapped.json()) as { message: string }).message).toContain('ms1_median_tic');
    const missing = await call(h.app, '/api/qc/mzqc?files=nope.raw', { token: h.tokens.viewer });
    expect(missing.status).toBe(404);
    const bad = await call(h.app, '/api/qc/mzqc?instrument=astral1&from=yesterday', {
      token: h.tokens.viewer,
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'from' });
    expect((await call(h.app, '/api/qc/mzqc?instrument=astral1')).status).toBe(401);
  });

  it('sluice qc export writes the same document to a file and names what it left out', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-mzqc-'));
    const out = path.join(dir, 'nov.mzQC');
    const r = await sluice(['qc', 'export', '--instrument', 'astral1', '--from', '2026-11-01', '-o', out], {
      env: h.cliEnv,
    });
    expect(r.stderr).toContain('3 run(s) exported');
    expect(r.stderr).toContain('left out (no PSI-MS term): ms1_median_tic');
    expect(r.code).toBe(0);
    const doc = JSON.parse(await readFile(out, 'utf8')) as Doc;
    checkDocument(doc);
    expect(doc.mzQC.runQualities).toHaveLength(3);
    const usage = await sluice(['qc', 'export'], { env: h.cliEnv });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('choose files, --instrument or --from');
    const badDate = await sluice(['qc', 'export', '--from', '2026-13-01'], { env: h.cliEnv });
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--from');
  });
});
