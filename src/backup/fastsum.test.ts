import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FAST_ALGORITHM, fastChecksum, fastChecksumError, loadFastChecksum } from './fastsum.ts';

describe('fast read-back checksum (two seeded XXH3-64 streams)', () => {
  it('loads on this platform', () => {
    expect(fastChecksumError()).toBeUndefined();
    expect(fastChecksum()?.path).toMatch(/xxhash/);
    expect(FAST_ALGORITHM).toBe('xxh3-64x2');
  });

  it('is 128 bits, the first half XXH3-64 seed 0 (reference value), independent of chunking', () => {
    const f = fastChecksum()!;
    const empty = f.create().digest();
    expect(empty).toMatch(/^[0-9a-f]{32}$/);
    expect(empty.slice(0, 16)).toBe('2d06800538d394c2'); // XXH3_64bits("") from xxHash
    expect(empty.slice(16)).not.toBe(empty.slice(0, 16)); // the second seed differs

    const data = randomBytes(3 * 1024 * 1024 + 17);
    const whole = f.create().update(data).digest();
    const parts = f.create();
    for (let o = 0; o < data.length; o += 100_003) parts.update(data.subarray(o, o + 100_003));
    expect(parts.digest()).toBe(whole);
  });

  it('changes when one bit, one length or one order changes', () => {
    const f = fastChecksum()!;
    const data = randomBytes(1024 * 1024);
    const d = (b: Buffer) => f.create().update(b).digest();
    const base = d(data);
    const flipped = Buffer.from(data);
    flipped[777_777] = flipped[777_777]! ^ 1;
    expect(d(flipped)).not.toBe(base);
    expect(d(data.subarray(0, data.length - 1))).not.toBe(base);
    expect(d(Buffer.concat([data.subarray(512 * 1024), data.subarray(0, 512 * 1024)]))).not.toBe(base);
    const zeros = Buffer.alloc(data.length);
    expect(d(zeros)).not.toBe(d(Buffer.alloc(data.length + 1)));
  });

  it('a binding that cannot be loaded is reported, not thrown', () => {
    const r = loadFastChecksum('@sluice-test/no-such-xxhash');
    expect(r).toMatchObject({ error: expect.stringContaining('cannot be loaded') });
  });
});
