/** The pure parts of S3 copies: buckets per project, keys, locations, and S3's multipart ETag. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bucketFor, expectedEtag, parseS3Location, placeFor, s3Location, sameEtag } from './keys.ts';

const file = {
  id: 'run 1.raw',
  instrument_id: 'astral1',
  project_id: 'prj1',
  mtime: new Date('2026-03-04T05:06:07Z'),
};
const md5 = (s: string) => createHash('md5').update(s).digest();

describe('S3 keys', () => {
  it('fills the bucket per project or instrument, and the place from the prefix and the layout', () => {
    expect(bucketFor({ bucket: 'raw-{project}' }, file)).toBe('raw-prj1');
    expect(bucketFor({ bucket: 'raw-{instrument}-x' }, file)).toBe('raw-astral1-x');
    expect(bucketFor({ bucket: 'lab' }, file)).toBe('lab');
    expect(placeFor({ prefix: 'sluice/' }, '{instrument}/{yyyy}_{mm}/{file_id}', file)).toBe(
      'sluice/astral1/2026_03/run 1.raw/',
    );
    expect(parseS3Location(s3Location('lab', 'a/b/'))).toEqual({ bucket: 'lab', place: 'a/b/' });
    expect(parseS3Location('/srv/backup/x')).toBeUndefined();
  });

  it('computes the ETag S3 gives a multipart upload: md5 of the parts md5s, then -N', () => {
    const parts = [md5('a'), md5('b'), md5('c')];
    const want = `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-3`;
    expect(expectedEtag(parts, true)).toBe(want);
    expect(expectedEtag([md5('abc')], false)).toBe(md5('abc').toString('hex'));
    expect(sameEtag(`"${want}"`, want)).toBe(true);
    expect(sameEtag('"0cc175b9c0f1b6a831c399e269772661"', want)).toBe(false);
  });
});
