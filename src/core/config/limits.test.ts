// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${...} interpolation on purpose
/**
 * Config files that must not hang or exhaust the checker (issue #17 item 3): alias bombs, huge files,
 * bytes that are not UTF-8, NUL and lone surrogates in values, and ports outside 1-65535 in URLs.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from './index.ts';
import { firstInvalidUtf8, MAX_CONFIG_BYTES, MAX_SECRET_BYTES } from './limits.ts';
import { expectConfigError, type TempDir, tempDir } from './test-helpers.ts';

let t: TempDir;
beforeEach(async () => {
  t = await tempDir();
});
afterEach(async () => {
  await t.cleanup();
});

/** `a: &a [x ×9]`, then each next anchor a list of nine aliases of the one before: 9^levels values. */
function aliasBomb(levels: number): string {
  const names = 'abcdefghijklmnop'.slice(0, levels + 1).split('');
  let s = `${names[0]}: &${names[0]} [${Array(9).fill('x').join(', ')}]\n`;
  for (let i = 1; i < names.length; i++) {
    s += `${names[i]}: &${names[i]} [${Array(9)
      .fill(`*${names[i - 1]}`)
      .join(', ')}]\n`;
  }
  return s;
}

const parse = (text: string, environ: NodeJS.ProcessEnv = {}) =>
  parseConfigText(text, join(t.dir, 'sluice.yaml'), { environ });

describe('anchors and aliases', () => {
  it('refuses eight chained anchors (9^8 values) with the alias that went over the cap', async () => {
    const file = await t.write('sluice.yaml', aliasBomb(7));
    const err = await expectConfigError(loadConfig({ path: file, environ: {} }), [
      `${file}:5:8: e[0]: alias *d expands the file beyond 10000 values`,
    ]);
    expect(err.hint).toContain('write the repeated values out');
  });

  it('refuses an alias inside the value it refers to, which would expand forever', async () => {
    await expectConfigError(
      () => parse('a: &a [1, *a, *a]\n'),
      ['sluice.yaml:1:11: a[1]: alias *a refers to a value that contains it'],
    );
  });

  it('still accepts ordinary reuse: 300 instruments merging the first one', () => {
    let s =
      'instruments:\n  i0: &d\n    type: thermo\n    watch: /mnt/i0\n    acquisition: {stable_window_seconds: 60}\n';
    for (let i = 1; i < 300; i++) s += `  i${i}:\n    <<: *d\n    watch: /mnt/i${i}\n`;
    const { instruments } = parse(s).config;
    expect(Object.keys(instruments)).toHaveLength(300);
    expect(instruments.i299?.acquisition.stable_window_seconds).toBe(60);
    expect(instruments.i299?.watch).toBe('/mnt/i299');
  });
});

describe('nesting', () => {
  it('names deep nesting briefly, with a hint, also when the parser itself runs out of stack', async () => {
    const err = await expectConfigError(
      () => parse(`a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`),
      [
        'sluice.yaml:1:203: a[0][0][0]...: nesting too deep (more than 200 levels)',
        'nesting too deep for the YAML parser (at most 200 levels are accepted)',
      ],
    );
    expect(err.message).not.toContain('Maximum call stack');
    expect(err.message.length).toBeLessThan(1000);
    expect(err.hint).toContain('close the open [ and { brackets');
  });
});

describe('file size and bytes', () => {
  it('refuses a config file over the size cap before parsing it', async () => {
    const file = await t.write('sluice.yaml', `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    const err = await expectConfigError(loadConfig({ path: file, environ: {} }), [
      `config file ${file} is larger than 1.0 MiB`,
    ]);
    expect(err.hint).toContain(file);
  });

  it('refuses an endless device instead of reading it forever', async () => {
    await expectConfigError(loadConfig({ path: '/dev/zero', environ: {} }), [
      'config file /dev/zero is larger than 1.0 MiB',
    ]);
  });

  it('refuses bytes that are not UTF-8 with line, column and byte offset', async () => {
    const file = join(t.dir, 'sluice.yaml');
    await writeFile(file, Buffer.from('log:\n  level: info\ndata_dir: /srv/caf\xe9\n', 'latin1'));
    const err = await expectConfigError(loadConfig({ path: file, environ: {} }), [
      `${file}:3:19: invalid UTF-8 (byte 0xe9 at offset 37)`,
    ]);
    expect(err.hint).toContain('convert');
  });

  it('refuses bytes that are not UTF-8 in the environment overlay, naming the overlay', async () => {
    await t.write('sluice.yaml', 'log: {level: info}\n');
    const overlay = join(t.dir, 'sluice.production.yaml');
    await writeFile(overlay, Buffer.from([0x6c, 0x6f, 0x67, 0x3a, 0x20, 0xc3, 0x28, 0x0a]));
    await expectConfigError(loadConfig({ cwd: t.dir, env: 'production', environ: {} }), [
      `${overlay}:1:6: invalid UTF-8 (byte 0xc3 at offset 5)`,
    ]);
  });

  it('finds the first invalid byte exactly where a strict decoder fails', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const cases: [number[], number][] = [
      [[0x61, 0x62], -1],
      [[0xe2, 0x82, 0xac], -1], // €
      [[0xf0, 0x9f, 0x98, 0x80], -1], // 😀
      [[0x61, 0xc0, 0xaf], 1], // overlong '/'
      [[0xed, 0xa0, 0x80], 0], // encoded surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
      [[0x61, 0xe2, 0x82], 1], // truncated at the end
      [[0x80], 0],
    ];
    for (const [bytes, at] of cases) {
      const buf = Uint8Array.from(bytes);
      expect(firstInvalidUtf8(buf), bytes.join(',')).toBe(at);
      expect(() => strict.decode(buf)).toSatisfy((f: () => unknown) => {
        try {
          f();
          return at === -1;
        } catch {
          return at !== -1;
        }
      });
    }
  });
});

describe('text values', () => {
  it('refuses a NUL written as an escape, naming the field', async () => {
    await expectConfigError(
      () => parse('data_dir: "/srv/a\\0b"\n'),
      ['sluice.yaml:1:11: data_dir: value: expected text without NUL characters, found one at character 7'],
    );
  });

  it('refuses a NUL in a mapping key', async () => {
    await expectConfigError(
      () => parse('variables: {"a\\0b": 1}\n'),
      ['variables: key "a\\u0000b": expected text without NUL characters'],
    );
  });

  it('refuses half of a surrogate pair', async () => {
    await expectConfigError(
      () => parse('data_dir: "/srv/\\ud800x"\n'),
      ['data_dir: value: expected valid Unicode text, found half of a surrogate pair'],
    );
  });

  it('refuses a secret file holding a NUL, not UTF-8, or far too big', async () => {
    const nul = await t.write('nul', 'pass\u0000word\n', 0o600);
    await expectConfigError(
      () => parse(`database: {url: "\${file:${nul}}"}\n`),
      ['database.url: secret value: expected text without NUL characters'],
    );
    const latin = join(t.dir, 'latin');
    await writeFile(latin, Buffer.from('caf\xe9', 'latin1'), { mode: 0o600 });
    await expectConfigError(
      () => parse(`database: {url: "\${file:${latin}}"}\n`),
      [`secret file ${latin} is not UTF-8 text (byte 0xe9 at offset 3)`],
    );
    const big = await t.write('big', 'x'.repeat(MAX_SECRET_BYTES + 1), 0o600);
    await expectConfigError(
      () => parse(`database: {url: "\${file:${big}}"}\n`),
      [`secret file ${big} is larger than 64 KiB`],
    );
  });
});

describe('ports in URLs and host lists', () => {
  const pg = (url: string) => parse(`database:\n  url: "${url}"\n`);

  it.each([
    'postgres://u:pw@db.example.org:99999/sluice',
    'postgres://db:0/sluice',
    'postgresql://db:65536/sluice',
    'postgres://db:54x/sluice',
    'postgres://h1:5432,h2:70000/sluice',
  ])('refuses %s in database.url', async (url) => {
    const err = await expectConfigError(
      () => pg(url),
      ['sluice.yaml:2:8: database.url: expected a URL whose port is between 1 and 65535'],
    );
    expect(err.message).not.toContain(':pw@'); // the password stays masked
  });

  it.each([
    'postgres://u:pw@db.example.org:5432/sluice',
    'postgres://db/sluice',
    'postgres://u@[::1]:65535/sluice',
    'postgres:///sluice?host=/var/run/postgresql',
    'postgres://h1:5432,h2/sluice',
  ])('accepts %s', (url) => {
    expect(pg(url).config.database.url).toBe(url);
  });

  it('refuses a bad port in DATABASE_URL, naming the variable', async () => {
    await expectConfigError(
      () => parse('', { DATABASE_URL: 'postgres://db:123456/sluice' }),
      ['environment variable DATABASE_URL: database.url: expected a URL whose port is between 1 and 65535'],
    );
  });

  it('refuses a bad port in a webhook URL, an S3 endpoint and an SSH host', async () => {
    await expectConfigError(
      () => parse('alerts:\n  notifiers:\n    - {type: webhook, url: "https://hooks.example.org:70000/x"}\n'),
      ['alerts.notifiers[0].url: expected an http(s) URL with a valid host and a port between 1 and 65535'],
    );
    await expectConfigError(
      () =>
        parse(
          'database:\n  backups:\n    - name: off\n      cron: "0 3 * * *"\n' +
            '      location: {s3: {bucket: b, endpoint: "http://s3.lan:0"}}\n',
        ),
      ['database.backups[0].location.s3.endpoint: expected an http(s) URL with a valid host and a port'],
    );
    const ssh = (host: string) =>
      parse(
        `processing:\n  executor: slurm\n  slurm:\n    ssh: {hosts: ["${host}"], user: u, key_file: k, known_hosts: h}\n`,
      );
    await expectConfigError(
      () => ssh('login1:99999'),
      ['processing.slurm.ssh.hosts[0]: expected host or host:port with a port between 1 and 65535'],
    );
    expect(ssh('login1:2222').config.processing.slurm.ssh?.hosts).toEqual(['login1:2222']);
    expect(ssh('[fd00::1]:22').config.processing.slurm.ssh?.hosts).toEqual(['[fd00::1]:22']);
  });
});

describe('interpolation', () => {
  it('refuses a value that grows past 1 MiB through ${...}', async () => {
    const big = 'x'.repeat(100_000);
    await expectConfigError(
      () => parse(`data_dir: "${'${BIG}'.repeat(11)}"\n`, { BIG: big }),
      ['sluice.yaml:1:11: data_dir: the value is longer than 1.0 MiB after interpolation'],
    );
    expect(parse(`data_dir: "/${'${BIG}'.repeat(10)}"\n`, { BIG: big }).config.data_dir).toHaveLength(
      1 + 1_000_000,
    );
  });
});

describe('hints', () => {
  // found by test/fuzz-config.test.ts: the only problem had an empty hint, so none was printed
  it('an empty ${file:} comes with a hint', async () => {
    const err = await expectConfigError(() => parse('data_dir: "${file:}"\n'), ["'${file:}' needs a path"]);
    expect(err.hint).toBe('write the path of the secret file after file:');
  });
});
