import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_NAMES, requestedCommand, summaryProgram } from './main.ts';

describe('sluice command loading', () => {
  it('finds the command after global options and their values', () => {
    expect(requestedCommand(['-c', 'x.yaml', 'files', 'list'])).toBe('files');
    expect(requestedCommand(['--config', 'files', '--env', 'local', 'status'])).toBe('status');
    expect(requestedCommand(['--log-level', 'debug', '--config=x.yaml', 'start', '-r', 'web'])).toBe('start');
    expect(requestedCommand(['--help'])).toBeUndefined();
    expect(requestedCommand(['--', 'files'])).toBe('files');
    expect(requestedCommand(['help', 'files'])).toBe('files');
    expect(requestedCommand(['help'])).toBeUndefined();
    expect(requestedCommand(['-V'])).toBeUndefined();
  });

  it('prints, for --help without loading any command, exactly the help of the registered commands', async () => {
    expect(summaryProgram().helpInformation()).toBe((await buildProgram()).helpInformation());
    expect(summaryProgram().helpInformation()).toContain('files');
  });

  it('loads, for each command, the module that registers it, and all of them otherwise', async () => {
    const all = (await buildProgram()).commands.map((c) => c.name());
    expect([...all].sort()).toEqual([...COMMAND_NAMES].sort());
    for (const name of COMMAND_NAMES) {
      const names = (await buildProgram(name)).commands.map((c) => c.name());
      expect(names).toContain(name);
    }
    expect((await buildProgram('no-such-command')).commands).toHaveLength(all.length);
  });
});
