/**
 * Text shown to people, with nothing in it that a terminal or a page acts on. Ids and paths are
 * text forms (core/names.ts) in which control bytes are already escaped `\xHH`, but valid UTF-8 may
 * still hold characters a display acts on: C1 controls (U+009B is CSI on many terminals), line and
 * paragraph separators, and bidirectional overrides that reorder what is shown. Free text (reasons,
 * log tails, records older than the escaping) may hold raw C0 controls, ESC sequences included.
 * `visibleText` writes every such character as the `\xHH` escapes of its UTF-8 bytes, the notation
 * of core/names.ts, so what an operator copies from the screen reads back as the bytes it came from
 * (cli/names.ts `fileIdCandidates`). Plain code without Node APIs: the CLI and the dashboard share it.
 */

/**
 * C0 and C1 controls, DEL, the Arabic letter mark, LRM/RLM, line and paragraph separators, bidi
 * embeddings, overrides and isolates.
 */
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu;

const utf8 = new TextEncoder();

function escapeChar(ch: string): string {
  return [...utf8.encode(ch)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
}

/** `text` with every character a display would act on written as `\xHH` (one line, always). */
export function visibleText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** Like `visibleText`, but line breaks stay (for multi-line text such as a log tail). */
export function visibleLines(text: string): string {
  return text.split('\n').map(visibleText).join('\n');
}
