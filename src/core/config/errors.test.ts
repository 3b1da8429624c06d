// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${...} interpolation on purpose
/**
 * Bad configurations: every message must name the file (with line:col), the field path, what was
 * expected and what was found.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { ConfigInvalidError, loadConfig } from './index.ts';
import { expectConfigError, type TempDir, tempDir, yaml } from './test-helpers.ts';

let t: TempDir;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(async () => {
  await t.cleanup();
});

const THERMO = 'type: thermo\n    watch: /mnt/x';

interface Case {
  name: string;
  base: string;
  overlay?: string;
  env?: string;
  environ?: NodeJS.ProcessEnv;
  /** Substrings of the message; `F` is replaced by the base file's path, `O` by the overlay's. */
  expect: string[];
  hint?: string;
}

const cases: Case[] = [
  {
    name: 'unknown top-level key, with suggestion',
    base: 'log: {level: info}\ninstrumnts: {}\n',
    expect: ["unknown field 'instrumnts' at the top level (F:2:1); did you mean 'instruments'?"],
  },
  {
    name: 'unknown instrument key, with suggestion',
    base: yaml`
      instruments:
        astral1:
          type: thermo
          watc: /mnt/astral1
    `,
    expect: ["unknown field 'watc' in instruments.astral1 (F:4:5); did you mean 'watch'?"],
  },
  {
    name: 'unknown key without a plausible suggestion lists the known fields',
    base: 'server:\n  colour: blue\n',
    expect: ["unknown field 'colour' in server (F:2:3); expected one of: host, port"],
  },
  {
    name: 'bad instrument type',
    base: 'instruments:\n  astral1:\n    type: thermos\n    watch: /mnt/x\n',
    expect: [
      "F:3:11: instruments.astral1.type: expected one of thermo, bruker, sciex, generic, found 'thermos'",
    ],
  },
  {
    name: 'missing watch',
    base: 'instruments:\n  astral1:\n    type: thermo\n',
    expect: [
      'F:2:3: instruments.astral1.watch: required field is missing: expected a directory path',
      'found nothing',
    ],
  },
  {
    name: 'generic instrument without glob',
    base: 'instruments:\n  scope1:\n    type: generic\n    watch: /mnt/scope\n',
    expect: [
      "F:2:3: instruments.scope1.glob: required for type 'generic': expected a name pattern",
      'found nothing',
    ],
  },
  {
    name: 'glob on a thermo instrument',
    base: `instruments:\n  astral1:\n    ${THERMO}\n    glob: "*.raw"\n`,
    expect: [
      "F:5:11: instruments.astral1.glob: only allowed for type 'generic': expected no glob for type 'thermo'",
      "found '*.raw'",
    ],
  },
  {
    name: 'generic glob with a path (entries are matched by name only)',
    base: 'instruments:\n  scope1:\n    type: generic\n    watch: /mnt/scope\n    glob: "**/*.tif"\n',
    expect: [
      'F:5:11: instruments.scope1.glob: expected a pattern for the names of entries directly in the watch folder, such as "*.tif"',
      `found '**/*.tif', which contains "/"; point watch at the folder that holds the data`,
    ],
  },
  {
    name: 'project token containing a separator',
    base: 'projects:\n  PRJ1:\n    tokens: [prj1, "prj-1"]\n',
    expect: [
      'F:3:20: projects.PRJ1.tokens[1]: expected a token without _ - . or spaces',
      "found 'prj-1'; list each part as its own token",
    ],
  },
  {
    name: 'entry_kind on a vendor instrument',
    base: `instruments:\n  astral1:\n    ${THERMO}\n    entry_kind: folder\n`,
    expect: ['F:5:17: instruments.astral1.entry_kind: only allowed for type', "found 'folder'"],
  },
  {
    name: 'bad instrument id',
    base: `instruments:\n  Astral 1:\n    ${THERMO}\n`,
    expect: [
      "F:2:3: instruments[\"Astral 1\"]: instrument id 'Astral 1' is not allowed: expected lowercase letters, digits, '-' and '_'",
      "found 'Astral 1'",
    ],
  },
  {
    name: 'instrument is not a mapping',
    base: 'instruments:\n  astral1: /mnt/astral1\n',
    expect: [
      "F:2:12: instruments.astral1: expected a mapping with at least type and watch, found '/mnt/astral1'",
    ],
  },
  {
    name: 'instrument without fields',
    base: 'instruments:\n  a1:\n',
    expect: ['F:2:6: instruments.a1: expected a mapping with at least type and watch, found an empty value'],
  },
  {
    name: 'instrument with every field commented out',
    base: 'instruments:\n  a1:\n    # type: thermo\n    # watch: /mnt/a1\n',
    expect: ['F:2:6: instruments.a1: expected a mapping with at least type and watch, found an empty value'],
  },
  {
    name: 'processing settings, database backup strategy and alert suppression without fields',
    base: yaml`
      processing:
        settings:
          qc:
      database:
        backups:
          -
          - {name: b, cron: "0 3 * * *", location: }
      alerts:
        suppress:
          -
    `,
    expect: [
      'F:3:8: processing.settings.qc: expected a mapping with at least version, software, software_version and template or template_file, found an empty value',
      'F:6:6: database.backups[0]: expected a backup strategy: a mapping with at least name, cron and location, found an empty value',
      'database.backups[1].location: expected a mapping with dir (a local directory) or s3 (a bucket), found an empty value',
      'F:10:6: alerts.suppress[0]: expected a suppression: a mapping with at least rule, found an empty value',
    ],
  },
  {
    name: 'S3 backup targets: bad names, buckets, storage class, part sizes, credentials, cleanup.require',
    base: yaml`
      backup:
        targets:
          - {name: backup, type: s3, bucket: Lab_Raw}
          - {name: s3, type: s3, bucket: "raw-{site}", storage_class: GLACIER, secret_access_key: x}
          - {name: s3, type: s3, bucket: lab-raw, part_size_mb: 4}
          - {name: big, type: s3, bucket: lab-raw, part_size_mb: 512, parts_in_flight: 4}
          - {name: gcs, type: gcs, bucket: lab-raw}
      cleanup:
        require: [s3, tape]
    `,
    expect: [
      "backup.targets[0].name: expected a name other than 'backup' (the filesystem backup, backup.path)",
      "backup.targets[0].bucket: expected a bucket name of 3–63 lowercase letters, digits, '.' and '-'",
      "backup.targets[1].bucket: unknown placeholder: expected only {project} or {instrument}, found '{site}'",
      'backup.targets[1].storage_class: expected one of STANDARD, STANDARD_IA',
      'backup.targets[1].access_key_id: expected both access_key_id and secret_access_key',
      "backup.targets[2].name: expected a name no other target has, found 's3' (also backup.targets[1].name)",
      'backup.targets[2].part_size_mb: expected an integer between 5 and 5120, found 4',
      'backup.targets[3].parts_in_flight: expected part_size_mb × (parts_in_flight + 1) ≤ 1024',
      "backup.targets[4].type: expected a backup target with type: s3 or type: filesystem, found 'gcs'",
      "cleanup.require[1]: unknown backup target: expected one of backup, s3, big, gcs (backup.targets[].name or archive.targets[].name), found 'tape'",
      "cleanup.require: expected a list that includes 'backup'",
    ],
  },
  {
    name: 'filesystem backup targets: missing path, unknown field, reserved and repeated names',
    base: yaml`
      backup:
        targets:
          - {name: second, type: filesystem}
          - {name: backup, type: filesystem, path: /srv/b2}
          - {name: third, type: filesystem, path: /srv/b3, bucket: x}
          - {name: third, type: filesystem, path: /srv/b4, require_mount: maybe}
    `,
    expect: [
      'backup.targets[0].path: required field is missing: expected a directory path (the second backup disk or share)',
      "backup.targets[1].name: expected a name other than 'backup' (the filesystem backup, backup.path)",
      "unknown field 'bucket' in backup.targets[2]",
      "backup.targets[3].name: expected a name no other target has, found 'third' (also backup.targets[2].name)",
      'backup.targets[3].require_mount: expected',
    ],
  },
  {
    name: 'a filesystem target inside the primary backup',
    base: 'backup:\n  path: /srv/backup\n  targets:\n    - {name: second, type: filesystem, path: /srv/backup/second}\n',
    expect: [
      "F:4:46: backup.targets[0].path: expected a folder apart from backup.path, the other filesystem targets and every watch folder, found '/srv/backup/second', which is inside backup.path ('/srv/backup')",
    ],
    hint: "set each filesystem target's path to a folder on another disk",
  },
  {
    name: 'two filesystem targets at the same path, one containing a watch folder',
    base: 'instruments:\n  a1: {type: thermo, watch: /mnt/b2/a1}\nbackup:\n  path: /srv/backup\n  targets:\n    - {name: second, type: filesystem, path: /mnt/b3}\n    - {name: third, type: filesystem, path: /mnt/b3/}\n    - {name: fourth, type: filesystem, path: /mnt/b2}\n',
    expect: [
      'backup.targets[1].path: expected a folder apart from backup.path',
      "which is backup.targets[0].path ('/mnt/b3')",
      'backup.targets[2].path: expected a folder apart from backup.path',
      "which contains instruments.a1.watch ('/mnt/b2/a1')",
    ],
  },
  {
    name: 'main_file_timeout_seconds on a thermo instrument (only Bruker waits for a main file)',
    base: `instruments:\n  astral1:\n    ${THERMO}\n    acquisition:\n      main_file_timeout_seconds: 600\n`,
    expect: [
      "F:6:34: instruments.astral1.acquisition.main_file_timeout_seconds: only allowed for type 'bruker'",
      "expected no main_file_timeout_seconds for type 'thermo'",
      'found 600; remove it',
    ],
  },
  {
    name: 'backup.path inside a watch folder',
    base: 'instruments:\n  a1: {type: thermo, watch: /mnt/a1}\nbackup:\n  path: /mnt/a1/backup\n',
    expect: [
      "F:4:9: backup.path: expected a folder outside every instrument's watch folder, found '/mnt/a1/backup', which is inside instruments.a1.watch ('/mnt/a1')",
    ],
    hint: 'set backup.path to a folder on another disk',
  },
  {
    name: 'backup.path containing a watch folder',
    base: 'instruments:\n  a1: {type: thermo, watch: /mnt/raw/a1}\nbackup:\n  path: /mnt/raw\n',
    expect: [
      'F:4:9: backup.path: expected a folder outside',
      "found '/mnt/raw', which contains instruments.a1.watch",
    ],
  },
  {
    name: 'backup.path equal to a watch folder, compared as resolved absolute paths',
    base: 'instruments:\n  a1: {type: bruker, watch: ./raw}\nbackup:\n  path: raw/\n',
    expect: ['F:4:9: backup.path: expected a folder outside', "/raw', which is instruments.a1.watch"],
  },
  {
    name: 'default backup path (data_dir/backup) inside a watch folder',
    base: 'data_dir: /mnt/a1/sluice\ninstruments:\n  a1: {type: thermo, watch: /mnt/a1}\n',
    expect: [
      "F:1:11: backup.path: expected a folder outside every instrument's watch folder, found '/mnt/a1/sluice/backup' (the default <data_dir>/backup), which is inside instruments.a1.watch",
    ],
  },
  {
    name: 'scan interval above one hour',
    base: `instruments:\n  astral1:\n    ${THERMO}\n    scan_interval_seconds: 7200\n`,
    expect: [
      'F:5:28: instruments.astral1.scan_interval_seconds: expected a number greater than 0 and at most 3600 seconds, found 7200',
    ],
  },
  {
    name: 'boolean written as yes',
    base: `instruments:\n  astral1:\n    ${THERMO}\n    move_after_backup: yes\n`,
    expect: ["F:5:24: instruments.astral1.move_after_backup: expected true or false, found 'yes'"],
  },
  {
    name: 'project reference to an unknown project',
    base: `projects:\n  prot: {tokens: [PRO]}\ninstruments:\n  astral1:\n    ${THERMO}\n    project: metab\n`,
    expect: [
      'F:7:14: instruments.astral1.project: unknown project: expected the id of a project under projects: (prot)',
      "found 'metab'",
    ],
  },
  {
    name: 'two instruments watching overlapping folders',
    base: 'instruments:\n  a1: {type: thermo, watch: /mnt/share}\n  a2: {type: bruker, watch: /mnt/share/a2}\n',
    expect: [
      "F:3:29: instruments.a2.watch: expected a folder no other instrument watches, found '/mnt/share/a2'",
      'overlaps instruments.a1.watch',
    ],
  },
  {
    name: 'negative pool size',
    base: 'pools:\n  copy: -3\n',
    expect: ['F:2:9: pools.copy: expected a pool size: an integer of 0 or more', 'found -3'],
  },
  {
    name: 'bad pool name',
    base: 'pools:\n  Copy: 3\n',
    expect: [
      "F:2:3: pools.Copy: pool name 'Copy' is not allowed: expected lowercase letters",
      "found 'Copy'",
    ],
  },
  {
    name: 'bad project id',
    base: 'projects:\n  _hidden: {tokens: [X]}\n',
    expect: [
      "F:2:3: projects._hidden: project id '_hidden' is not allowed: expected letters",
      "found '_hidden'",
    ],
  },
  {
    name: 'unknown variable, with suggestion',
    base: 'variables:\n  min_free_space: 100\n',
    expect: ["unknown variable 'min_free_space' in variables (F:2:3); did you mean 'min_free_space_gb'?"],
  },
  {
    name: 'variable with the wrong type',
    base: 'variables:\n  min_file_age_days: two weeks\n',
    expect: ["F:2:22: variables.min_file_age_days: expected a number, found 'two weeks'"],
  },
  {
    name: 'variable outside its enum',
    base: 'variables:\n  output_exists_mode: replace\n',
    expect: [
      "F:2:23: variables.output_exists_mode: expected one of raise, overwrite, associate, add, found 'replace'",
    ],
  },
  {
    name: 'heartbeat not below half the lease',
    base: 'worker:\n  lease_seconds: 20\n  heartbeat_seconds: 10\n',
    expect: [
      'F:3:22: worker.heartbeat_seconds: expected less than half of worker.lease_seconds (20 / 2 = 10), found 10',
    ],
  },
  {
    name: 'lease too short',
    base: 'worker:\n  lease_seconds: 2\n  heartbeat_seconds: 0.5\n',
    expect: ['F:2:18: worker.lease_seconds: expected a number at least 5 seconds, found 2'],
  },
  {
    name: 'embedded port out of range',
    base: 'database:\n  embedded_port: 80\n',
    expect: ['F:2:18: database.embedded_port: expected an integer between 1024 and 65535, found 80'],
  },
  {
    name: 'database url with the wrong scheme (password not shown)',
    base: 'database:\n  url: mysql://sluice:hunter2@db/sluice\n',
    expect: [
      "F:2:8: database.url: expected a URL starting with postgres:// or postgresql://, found 'mysql://sluice:***@db/sluice'",
    ],
  },
  {
    name: 'DATABASE_URL with the wrong scheme names the environment variable',
    base: 'log: {level: info}\n',
    environ: { DATABASE_URL: 'mysql://h/db' },
    expect: [
      'environment variable DATABASE_URL: database.url: expected a URL starting with postgres://',
      "found 'mysql://h/db'",
    ],
  },
  {
    name: 'bad log level',
    base: 'log:\n  level: verbose\n',
    expect: [
      "F:2:10: log.level: expected one of fatal, error, warn, info, debug, trace, silent, found 'verbose'",
    ],
  },
  {
    name: 'layout with an unknown placeholder',
    base: 'backup:\n  layout: "{instrument}/{year}/{file_id}"\n',
    expect: [
      'F:2:11: backup.layout: unknown placeholder: expected only {instrument}, {yyyy}, {mm}, {dd}, {file_id}, {project}',
      "found '{year}'",
    ],
  },
  {
    name: 'layout without {file_id}',
    base: 'backup:\n  layout: "{instrument}/{yyyy}"\n',
    expect: ['F:2:11: backup.layout: expected a layout containing {file_id}', "found '{instrument}/{yyyy}'"],
  },
  {
    name: 'unsupported hash',
    base: 'backup:\n  hash: sha257\n',
    expect: ['F:2:9: backup.hash: expected a hash algorithm supported by Node.js', "found 'sha257'"],
  },
  {
    name: 'worker tags not a list',
    base: 'worker:\n  tags: gpu\n',
    expect: ["F:2:9: worker.tags: expected a list of strings, e.g. [a, b], found 'gpu'"],
  },
  {
    name: 'environment written in the file',
    base: 'environment: production\n',
    expect: [
      "F:1:1: environment: expected no 'environment' field (it is set from --env or SLUICE_ENV), found 'production'",
    ],
  },
  {
    name: 'YAML syntax error with line and column',
    base: 'log:\n  level: info\nworker:\n\tconcurrency: 4\n',
    expect: ['F:4:1: YAML syntax error: Tabs are not allowed as indentation'],
  },
  {
    name: 'unclosed flow sequence',
    base: 'worker:\n  tags: [a, b\nlog: {level: info}\n',
    expect: ['F:', 'YAML syntax error', 'Flow sequence'],
  },
  {
    name: 'duplicate key',
    base: 'instruments:\n  astral1:\n    type: thermo\n    watch: /a\n    type: bruker\n',
    expect: ["F:5:5: duplicate key 'type' in instruments.astral1 (first defined at line 3)"],
  },
  {
    name: 'top level is a list',
    base: '- instruments\n- pools\n',
    expect: ['F:1:1: (top level): expected a mapping of sections', 'found a list'],
  },
  {
    name: 'top level is a plain string',
    base: 'just some text\n',
    expect: ['F:1:1: (top level): expected a mapping of sections', "found 'just some text'"],
  },
  {
    name: 'missing environment variable',
    base: 'database:\n  url: postgres://sluice:${DB_PASSWORD}@db/sluice\n',
    expect: ['F:2:8: database.url: environment variable DB_PASSWORD is not set'],
    hint: 'set DB_PASSWORD or use ${DB_PASSWORD:-default}',
  },
  {
    name: 'malformed interpolation',
    base: 'server:\n  host: ${1HOST}\n',
    expect: ["F:2:9: server.host: invalid interpolation '${1HOST}': expected ${VAR}", "found '1HOST'"],
  },
  {
    name: 'interpolated value of the wrong type',
    base: 'server:\n  port: ${PORT:-http}\n',
    expect: [
      "F:2:9: server.port: expected a TCP port between 0 and 65535 (0 picks a free port), found 'http'",
    ],
  },
  {
    name: 'trusted proxy that is not an address or range',
    base: 'server:\n  trusted_proxies: [10.0.0.5, proxy.example, 10.0.0.0/33]\n',
    expect: [
      "F:2:31: server.trusted_proxies[1]: expected an IP address or range of a reverse proxy, e.g. 10.0.0.5 or 10.0.0.0/24, found 'proxy.example'",
      "F:2:46: server.trusted_proxies[2]: expected an IP address or range of a reverse proxy, e.g. 10.0.0.5 or 10.0.0.0/24, found '10.0.0.0/33'",
    ],
  },
  {
    name: 'quoted number',
    base: 'server:\n  port: "8080"\n',
    expect: [
      'F:2:9: server.port: expected a TCP port',
      "found '8080' (quoted, so it is text: remove the quotes)",
    ],
  },
  {
    name: 'error in the overlay names the overlay file',
    base: `instruments:\n  astral1:\n    ${THERMO}\n`,
    overlay: 'instruments:\n  astral1:\n    type: thermo2\n',
    env: 'production',
    expect: [
      "O:3:11: instruments.astral1.type: expected one of thermo, bruker, sciex, generic, found 'thermo2'",
    ],
  },
  {
    name: 'unknown key in the overlay names the overlay file',
    base: 'log: {level: info}\n',
    overlay: 'log:\n  levle: warn\n',
    env: 'production',
    expect: ["unknown field 'levle' in log (O:2:3); did you mean 'level'?"],
  },
  {
    name: 'YAML error in the overlay',
    base: 'log: {level: info}\n',
    overlay: 'log:\n  level: warn\n  level: info\n',
    env: 'sandbox',
    expect: ["O:3:3: duplicate key 'level' in log (first defined at line 2)"],
  },
];

describe('bad configurations', () => {
  let n = 0;
  it.each(cases)('$name', async (c) => {
    const dir = join(t.dir, `case-${n++}`);
    await mkdir(dir);
    const base = join(dir, 'sluice.yaml');
    const env = c.env ?? 'local';
    const overlay = join(dir, `sluice.${env}.yaml`);
    await writeFile(base, c.base);
    if (c.overlay !== undefined) await writeFile(overlay, c.overlay);
    const err = await expectConfigError(
      loadConfig({ cwd: dir, env, environ: c.environ ?? {} }),
      c.expect.map((s) => s.replaceAll('F:', `${base}:`).replaceAll('O:', `${overlay}:`)),
    );
    if (c.hint !== undefined) expect(err.hint).toContain(c.hint);
    else expect(err.hint).toBeTruthy();
  });

  it('has at least 15 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });
});

describe('environment name', () => {
  it('rejects an unknown --env', async () => {
    await expectConfigError(loadConfig({ cwd: t.dir, env: 'prod', environ: {} }), [
      "unknown environment 'prod' (from --env): expected one of local, sandbox, production, found 'prod'",
    ]);
  });

  it('rejects an unknown SLUICE_ENV', async () => {
    await expectConfigError(loadConfig({ cwd: t.dir, environ: { SLUICE_ENV: 'staging' } }), [
      "unknown environment 'staging' (from SLUICE_ENV): expected one of local, sandbox, production, found 'staging'",
    ]);
  });
});

describe('many problems', () => {
  it('reports all of them, one per line, sorted by position', async () => {
    const dir = join(t.dir, 'many');
    await mkdir(dir);
    const file = join(dir, 'sluice.yaml');
    await writeFile(
      file,
      yaml`
        pools:
          copy: -1
        instruments:
          a1: {type: x, watch: /a}
          a2: {type: generic, watch: /b}
        worker:
          concurency: 3
      `,
    );
    const err = (await expectConfigError(loadConfig({ cwd: dir, environ: {} }), [
      '4 problems in the configuration:',
    ])) as ConfigInvalidError;
    expect(err).toBeInstanceOf(ConfigInvalidError);
    const lines = err.message.split('\n').slice(1);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain(`${file}:2:9: pools.copy`);
    expect(lines[1]).toContain(`${file}:4:14: instruments.a1.type`);
    expect(lines[2]).toContain(`${file}:5:3: instruments.a2.glob`);
    expect(lines[3]).toContain("unknown field 'concurency' in worker");
    expect(lines[3]).toContain("did you mean 'concurrency'?");
    expect(err.problems.map((p) => p.path)).toEqual([
      'pools.copy',
      'instruments.a1.type',
      'instruments.a2.glob',
      'worker.concurency',
    ]);
  });

  it('caps the message at 20 problems', async () => {
    const dir = join(t.dir, 'lots');
    await mkdir(dir);
    const pools = Array.from({ length: 25 }, (_, i) => `  p${i}: -1`).join('\n');
    await writeFile(join(dir, 'sluice.yaml'), `pools:\n${pools}\n`);
    const err = await expectConfigError(loadConfig({ cwd: dir, environ: {} }), [
      '25 problems in the configuration:',
      '... and 5 more problems',
    ]);
    expect(err.message.split('\n')).toHaveLength(22);
    expect(err).toBeInstanceOf(ConfigError);
  });
});
