/**
 * Names are bytes. A Linux file name is any sequence of bytes except `/` and NUL; instruments (and
 * Windows shares mounted with a Latin-1 code page) write names such as `Probe_M\xfcller.tdf` that are
 * not valid UTF-8. Node's `fs` turns such a name into a string with U+FFFD in it, and that string no
 * longer names the file: every later `lstat`/`open` of it fails with ENOENT, which listing code took
 * for "vanished" and skipped.
 *
 * Sluice therefore keeps every name and path it records as its **text form**, a reversible escaping
 * of the bytes that PostgreSQL `text` and JSON can hold and people can read:
 * - valid UTF-8 stays as it is (`Müller.raw` is `Müller.raw`);
 * - every byte that is not part of valid UTF-8 (strict: no overlong forms, no surrogates, nothing
 *   above U+10FFFF), every control byte (0x00–0x1f, 0x7f) is written `\xHH` (two lower-case hex
 *   digits): Latin-1 `M\xfcller` is the text `M\xfcller`;
 * - a backslash that would read as such an escape (followed by `x` and two hex digits) is written
 *   `\x5c`; any other backslash stays as it is (`C:\data` stays `C:\data`).
 * `textToName` reads `\xHH` as one byte only for the bytes the escaping produces (controls, `\`,
 * 0x80–0xff), so `\x2f` can never become a `/` and a text splits at `/` exactly where its bytes do:
 * `path.join`, `dirname` and `basename` work on text paths unchanged. Every byte string has exactly
 * one text form (`nameToText`), and `textToName(nameToText(b))` is `b` for every `b`
 * (names.test.ts checks this on random byte strings). A name that is valid UTF-8 without controls and
 * without `\xHH` look-alikes has the same text as before this escaping existed, so existing records
 * keep their meaning.
 *
 * Paths in records, manifests, messages and logs are text; a file-system call takes `fsPath(text)`
 * (src/core/text-fs.ts wraps the calls the data path makes). Config paths are plain strings; they
 * become text with `pathToText` (the same string unless it holds a control or a `\xHH` look-alike).
 *
 * Names derived from a name (a temp folder `.<name>.sluice-partial`, a collision id
 * `<date>-<name>`, `<name>.replaced-<time>`) must still fit the 255-byte limit of Linux filesystems:
 * `fitName` shortens such a name, keeping its extension and adding a hash of the whole, so two
 * different long names never shorten to the same one.
 *
 * The core (`nameToText`, `textToName`, `fsPath`) is plain JavaScript in names-core.mjs so worker
 * threads (the scan's, intake/threads/fs.mjs) import the very same code without a TypeScript loader;
 * this module re-exports it.
 */
import { createHash } from 'node:crypto';
import { fsPath, nameToText, textToName } from './names-core.mjs';

export { fsPath, nameToText, textToName };

/** The text form of a path given as a plain string (a config path): itself unless it must be escaped. */
export function pathToText(p: string): string {
  return nameToText(Buffer.from(p, 'utf8'));
}

/** Bytes of a text name once on disk. */
export function nameBytes(text: string): number {
  return text.includes('\\') ? textToName(text).length : Buffer.byteLength(text, 'utf8');
}

/** Linux filesystems (ext4, xfs, tmpfs, btrfs, NFS, SMB) allow names of up to 255 bytes. */
export const NAME_MAX = 255;

/** An extension worth keeping when a name is shortened: `.raw`, `.d`, `.wiff2`, `.tdf_bin` ... */
const EXTENSION = /\.[A-Za-z0-9_]{1,15}$/;

/**
 * `text` (a name) if it is at most `maxBytes` bytes on disk; else its first bytes (cut between
 * characters, never inside an escape), `~`, 16 hex digits of the SHA-256 of the whole name's bytes,
 * and its extension. Different names give different results (up to a 64-bit hash collision); the
 * same name always the same one. `maxBytes` must leave room for the hash and extension (≥ 40).
 */
export function fitName(text: string, maxBytes = NAME_MAX): string {
  const bytes = textToName(text);
  if (bytes.length <= maxBytes) return text;
  if (maxBytes < 40) throw new RangeError(`fitName: ${maxBytes} bytes leave no room for the hash`);
  const ext = EXTENSION.exec(text)?.[0] ?? '';
  const tag = `~${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}${ext}`;
  const room = maxBytes - tag.length;
  // Whole characters or escapes of the text, as long as their bytes fit.
  let head = '';
  let used = 0;
  for (const m of text.matchAll(/\\x[0-9a-fA-F]{2}|[\s\S]/gu)) {
    const n = nameBytes(m[0]);
    if (used + n > room) break;
    head += m[0];
    used += n;
  }
  return nameToText(textToName(head + tag)); // canonical: a cut may have split `\x5cx41`
}
