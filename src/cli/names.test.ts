import { describe, expect, it } from 'vitest';
import { nameToText } from '../core/names.ts';
import { visibleText } from '../core/visible.ts';
import { fileIdCandidates } from './names.ts';

describe('fileIdCandidates', () => {
  it('reads back what visibleText showed for an id', () => {
    const ids = [
      nameToText(Buffer.from('a\nb.raw')),
      nameToText(Buffer.from('c1\u009bx.raw')),
      nameToText(Buffer.from('M\xfcller.raw', 'latin1')),
      nameToText(Buffer.from('\\x41.raw')),
      'C:\\data.raw',
      'legacy\nraw\x1b[31m.raw',
      'plain.raw',
    ];
    for (const id of ids) expect(fileIdCandidates(visibleText(id)), id).toContain(id);
    expect(fileIdCandidates('plain.raw')).toEqual(['plain.raw']);
    expect(fileIdCandidates('M\\xfcller.raw')).toEqual(['M\\xfcller.raw']);
  });
});
