/**
 * Every file id Sluice records can be addressed (issue #17 item 4): ids are names in text form
 * (core/names.ts: control and non-UTF-8 bytes escaped `\xHH`), so they hold `\`, `%`, spaces and
 * anything else a name may; older records may even hold raw control characters. The API shows,
 * ignores and retries each of them; only what no record can hold (NUL, `/`, too long) is a 400 that
 * names the parameter. The CLI prints them without raw control characters and takes back what it
 * printed. Real PostgreSQL, the real app, the real `sluice` process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdProblem } from '../src/api/params.ts';
import { nameToText } from '../src/core/names.ts';
import { visibleText } from '../src/core/visible.ts';
import { type ApiHarness, call, createApiHarness, insertFailedFile } from './helpers/api.ts';
import { sluice } from './helpers/cli.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
  for (const id of Object.values(IDS)) await insertFailedFile(h.db, id);
});
afterAll(async () => {
  await h?.close();
});

/** The id the scanner records for a name given as bytes. */
const scanned = (name: string | Buffer) => nameToText(typeof name === 'string' ? Buffer.from(name) : name);

const IDS = {
  newline: scanned('a\nb.raw'),
  colour: scanned('\x1b[31mred\x1b[0m.raw'),
  backslash: scanned('C:\\data\\run.raw'),
  escapeLookalike: scanned('\\x41 lookalike.raw'),
  percent: scanned('100%2F..%25.raw'),
  tab: scanned('tab\there.raw'),
  latin1: scanned(Buffer.from('Probe_M\xfcller.raw', 'latin1')),
  longLatin1: scanned(Buffer.alloc(255, 0xe9)),
  punctuation: scanned(' #?&=+;.raw'),
  c1: scanned('c1\u009b31mcsi\u0085nel.raw'),
  rawControls: 'legacy\nline\x1b[2Jclear\ttab.raw',
};

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

const fileUrl = (id: string, action = '') => `/api/files/${encodeURIComponent(id)}${action}`;

describe('API: every recorded file id', () => {
  it('ids hold what names hold: escapes, backslashes, percent signs, raw controls', () => {
    expect(IDS.newline).toBe('a\\x0ab.raw');
    expect(IDS.latin1).toBe('Probe_M\\xfcller.raw');
    expect(IDS.escapeLookalike).toBe('\\x5cx41 lookalike.raw');
    expect(IDS.longLatin1.length).toBe(1020);
  });

  it.each(Object.entries(IDS))('shows, ignores and retries the file %s', async (_what, id) => {
    const show = await call(h.app, fileUrl(id), { token: h.tokens.viewer });
    expect(show.status, await show.clone().text()).toBe(200);
    const detail = (await show.json()) as { file: { id: string }; events: { reason: string }[] };
    expect(detail.file.id).toBe(id);
    expect(detail.events.map((e) => e.reason)).toContain(`${id} failed`);

    const ignore = await call(h.app, fileUrl(id, '/ignore'), {
      token: h.tokens.operator,
      body: { reason: 'test' },
    });
    expect(ignore.status, await ignore.clone().text()).toBe(200);
    expect(await json(ignore)).toMatchObject({ id, status: 'ignored' });

    const retry = await call(h.app, fileUrl(id, '/retry'), { token: h.tokens.operator, body: {} });
    expect(retry.status, await retry.clone().text()).toBe(200);
    expect((await json(retry)).id).toBe(id);
  });

  it('a listed id leads back to its file', async () => {
    const res = await call(h.app, '/api/files?limit=500', { token: h.tokens.viewer });
    const ids = ((await json(res)).items as { id: string }[]).map((f) => f.id);
    expect(ids.sort()).toEqual(Object.values(IDS).sort());
    for (const id of ids)
      expect((await call(h.app, fileUrl(id), { token: h.tokens.viewer })).status).toBe(200);
  });

  it('an id no record can have is a 400 naming the parameter; an unknown one a 404', async () => {
    const refused = {
      '%00': /NUL/,
      'a%2Fb.raw': /'\/'/,
      [encodeURIComponent('é'.repeat(136))]: /at most 271 bytes/,
      [encodeURIComponent('\\xe9'.repeat(272))]: /at most 271 bytes/,
    };
    for (const [raw, message] of Object.entries(refused)) {
      for (const action of ['', '/retry', '/ignore']) {
        const res = await call(h.app, `/api/files/${raw}${action}`, {
          token: h.tokens.operator,
          method: action ? 'POST' : 'GET',
        });
        expect(res.status, `${raw}${action}`).toBe(400);
        const body = await json(res);
        expect(body.field).toBe('id');
        expect(body.message).toMatch(message);
      }
    }
    const unknown = await call(h.app, fileUrl('no such\\x0a.raw'), { token: h.tokens.viewer });
    expect(unknown.status).toBe(404);
    // a percent sign that does not decode stays as it is: no such file
    expect((await call(h.app, '/api/files/%ED%A0%80', { token: h.tokens.viewer })).status).toBe(404);
  });

  it('fileIdProblem: refuses only what cannot be recorded', () => {
    for (const ok of [...Object.values(IDS), 'é'.repeat(135) + 'x', '\\xe9'.repeat(271)])
      expect(fileIdProblem(ok), ok).toBeUndefined();
    for (const bad of ['', 'a\0b', 'a\uD800b', 'a/b', 'x'.repeat(272), '\\xe9'.repeat(272)])
      expect(fileIdProblem(bad), bad).toBeDefined();
  });
});

/** Characters a terminal acts on (C0 and C1 controls, DEL, separators, bidi controls). */
const CONTROL = /[\p{Cc}\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

/** The lines of human output that hold a character a terminal would act on. */
const unsafeLines = (out: string) => out.split('\n').filter((line) => CONTROL.test(line));

describe('CLI: names safe for a terminal', () => {
  const cli = (...args: string[]) => sluice(args, { env: h.cliEnv });

  it('files list shows every id escaped, --json exactly', async () => {
    const human = await cli('files', 'list');
    expect(human.code, human.stderr).toBe(0);
    expect(unsafeLines(human.stdout)).toEqual([]);
    for (const id of Object.values(IDS)) expect(human.stdout).toContain(visibleText(id));
    const json = await cli('files', 'list', '--json');
    expect(json.code, json.stderr).toBe(0);
    const ids = (JSON.parse(json.stdout) as { id: string }[]).map((f) => f.id);
    expect(ids.sort()).toEqual(Object.values(IDS).sort());
  });

  it('files show takes the id as it was shown and prints it without controls', async () => {
    // a spawn each: the ids with controls in each form, and an escaped Latin-1 name
    for (const id of [IDS.colour, IDS.latin1, IDS.c1, IDS.rawControls]) {
      const shown = visibleText(id);
      const r = await cli('files', 'show', shown);
      expect(r.code, `${shown}: ${r.stderr}`).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(shown);
      expect(r.stdout).toContain(`${shown} failed`);
      expect(unsafeLines(r.stdout)).toEqual([]);
    }
    const exact = await cli('files', 'show', IDS.rawControls, '--json');
    expect(exact.code, exact.stderr).toBe(0);
    expect((JSON.parse(exact.stdout) as { file: { id: string } }).file.id).toBe(IDS.rawControls);
  });

  it('files ignore and retry act on an id given as shown', async () => {
    for (const id of [IDS.c1, IDS.rawControls]) {
      const shown = visibleText(id);
      const ignore = await cli('files', 'ignore', shown);
      expect(ignore.code, ignore.stderr).toBe(0);
      expect(ignore.stdout).toBe(`${shown}: ignored\n`);
      expect(
        (await h.db.one<{ status: string }>('select status from files where id = $1', [id])).status,
      ).toBe('ignored');
      const retry = await cli('files', 'retry', shown);
      expect(retry.code, retry.stderr).toBe(0);
      expect(unsafeLines(retry.stdout)).toEqual([]);
    }
  });

  it('jobs list --file and jobs cancel take the id as shown; a log tail is shown escaped', async () => {
    const id = IDS.rawControls;
    const shown = visibleText(id);
    await h.db.exec(
      `insert into jobs (file_id, settings_name, settings_version, key, executor, state, output_dir, log_tail)
       values ($1, 'qc', 1, 'qc-1-x', 'slurm', 'new', '/output/qc/x', $2)`,
      [id, 'loading\n\x1b[31mred\x1b[0m\u009b2J\ndone'],
    );
    const show = await cli('files', 'show', shown);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('LOG TAIL');
    expect(show.stdout).toContain('\\x1b[31mred\\x1b[0m\\xc2\\x9b2J\ndone');
    expect(unsafeLines(show.stdout)).toEqual([]);
    const list = await cli('jobs', 'list', '--file', shown);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(shown);
    expect(unsafeLines(list.stdout)).toEqual([]);
    const cancel = await cli('jobs', 'cancel', shown);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toBe(`cancelling qc job (not submitted yet) of ${shown}\n`);
  });

  it('an unknown id is an error that quotes it escaped', async () => {
    const r = await cli('files', 'show', 'nosuch\x1b[31m\u009b.raw');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no file with id 'nosuch\\x1b[31m\\xc2\\x9b.raw'");
    expect(unsafeLines(r.stderr)).toEqual([]);
  });
});
