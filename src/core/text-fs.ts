/**
 * The `node:fs/promises` calls of the data path (intake, backup, cleanup), taking text paths
 * (src/core/names.ts) and answering with text names. Code that touches raw data imports these
 * instead of `node:fs/promises`, so a name that is not valid UTF-8 is reached by its bytes, never
 * by a U+FFFD look-alike that names nothing.
 *
 * Directory listings always read names as bytes (`encoding: 'buffer'`) and return their text form.
 * Paths in errors thrown by these calls are what Node makes of the bytes (for display only); callers
 * name the path in their own messages with the text they passed.
 */
import type { Dirent, MakeDirectoryOptions, Mode, ObjectEncodingOptions, RmOptions } from 'node:fs';
import { existsSync as fsExistsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { fsPath, nameToText } from './names.ts';

export const lstat = (p: string) => fsp.lstat(fsPath(p));
export const stat = (p: string) => fsp.stat(fsPath(p));
export const access = (p: string, mode?: number) => fsp.access(fsPath(p), mode);
export const open = (p: string, flags?: string | number, mode?: Mode) => fsp.open(fsPath(p), flags, mode);
export const rmdir = (p: string) => fsp.rmdir(fsPath(p));
export const rm = (p: string, opts?: RmOptions) => fsp.rm(fsPath(p), opts);
export const rename = (from: string, to: string) => fsp.rename(fsPath(from), fsPath(to));
export const link = (from: string, to: string) => fsp.link(fsPath(from), fsPath(to));
export const unlink = (p: string) => fsp.unlink(fsPath(p));
export const chmod = (p: string, mode: Mode) => fsp.chmod(fsPath(p), mode);
export const statfs = (p: string) => fsp.statfs(fsPath(p));
export const writeFile = (p: string, data: string | Uint8Array, opts?: ObjectEncodingOptions) =>
  fsp.writeFile(fsPath(p), data, opts);
export const existsSync = (p: string) => fsExistsSync(fsPath(p));

/**
 * `mkdir`; with `recursive`, the first directory created as a text path (Node decodes it from the
 * bytes, lossily: it is taken from `p` instead, by its number of `/`).
 */
export async function mkdir(p: string, opts?: MakeDirectoryOptions & { recursive?: boolean }) {
  const first = await fsp.mkdir(fsPath(p), opts);
  if (typeof first !== 'string') return first;
  const depth = first.split('/').length;
  return p.split('/').slice(0, depth).join('/');
}

/** The names in directory `p`, in text form (unsorted). */
export async function readdir(p: string): Promise<string[]> {
  const names = await fsp.readdir(fsPath(p), { encoding: 'buffer' });
  return names.map((n) => nameToText(n));
}

/** A directory entry with its name in text form. */
export interface TextDirent {
  name: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** The entries of directory `p` with their types, names in text form (unsorted). */
export async function readdirTypes(p: string): Promise<TextDirent[]> {
  const entries = (await fsp.readdir(fsPath(p), {
    encoding: 'buffer',
    withFileTypes: true,
  })) as Dirent<Buffer>[];
  return entries.map((d) => ({
    name: nameToText(d.name),
    isFile: () => d.isFile(),
    isDirectory: () => d.isDirectory(),
    isSymbolicLink: () => d.isSymbolicLink(),
  }));
}
