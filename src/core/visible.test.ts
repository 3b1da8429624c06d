import { describe, expect, it } from 'vitest';
import { visibleLines, visibleText } from './visible.ts';

/** Any character a terminal acts on: C0, DEL, C1, separators, bidi controls. */
const CONTROL = /[\p{Cc}\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

describe('visibleText', () => {
  it('escapes controls as the \\xHH of their UTF-8 bytes and leaves everything else', () => {
    expect(visibleText('a\nb\tc\x1b[31md\x7f')).toBe('a\\x0ab\\x09c\\x1b[31md\\x7f');
    expect(visibleText('csi\u009b2J nel\u0085')).toBe('csi\\xc2\\x9b2J nel\\xc2\\x85');
    expect(visibleText('evil\u202Egnp.exe')).toBe('evil\\xe2\\x80\\xaegnp.exe');
    expect(visibleText('Müller 100% C:\\data M\\xfcller 😀')).toBe('Müller 100% C:\\data M\\xfcller 😀');
  });

  it('never lets a control through, for every character up to U+2FFF', () => {
    let all = '';
    for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c);
    expect(CONTROL.test(visibleText(all))).toBe(false);
    expect(visibleLines('one\x1b[2J\ntwo\r')).toBe('one\\x1b[2J\ntwo\\x0d');
  });
});
