/**
 * The read-back's own GET (raw-get.ts) through `readBackS3Copy`, against a loopback server that
 * answers with raw bytes, so every way an answer can be wrong is produced on purpose: an object
 * with a byte changed, one shorter or longer than recorded, a body cut off before its
 * Content-Length, a head split over many reads, a chunked answer (the SDK's path then), a missing
 * object, a cancelled read and a store that is down. The well-formed answers are checked to have
 * taken the raw path (`RawBody`), so these tests test it.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '../../storage/s3-client.ts';
import type { S3Manifest } from './keys.ts';
import { RawBody, rawBodyGet } from './raw-get.ts';
import { readBackS3Copy } from './verify.ts';

const SIZE = 3 * 1024 * 1024 + 17; // many reads of the 256 KiB buffer, and a ragged end
const data = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = (i * 31 + (i >> 11)) & 255;
const hash = createHash('sha256').update(data).digest('hex');
const ETAG = 'abc123';

/** How the server answers each key. */
const answers: Record<string, (s: Socket) => void> = {};
const requests: string[] = [];
let server: Server;
const sockets = new Set<Socket>();
let client: S3Client;

const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
const ok = (body: Buffer, length = body.length) =>
  head([
    'HTTP/1.1 200 OK',
    `ETag: "${ETAG}"`,
    `Content-Length: ${length}`,
    'Content-Type: binary/octet-stream',
  ]);

/** Writes `bufs` one after another, each flushed before the next (so they arrive as separate reads). */
async function dribble(s: Socket, bufs: Buffer[]): Promise<void> {
  for (const b of bufs) {
    if (!s.write(b)) await once(s, 'drain');
    await new Promise((r) => setTimeout(r, 2));
  }
}

beforeAll(async () => {
  server = createServer((s) => {
    sockets.add(s);
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (!got.includes('\r\n\r\n')) return;
      requests.push(got);
      const key = /^GET \/b\/([^?\s]+)/.exec(got)?.[1] ?? '';
      (answers[key] ?? ((x: Socket) => x.end(head(['HTTP/1.1 500 Oops', 'Content-Length: 0']))))(s);
    });
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  client = s3Client(
    {
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      force_path_style: true,
      access_key_id: 'K',
      secret_access_key: 'S',
    },
    { maxAttempts: 1 },
  );
});

afterAll(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

function manifest(key: string, size = SIZE): S3Manifest {
  return {
    algorithm: 'sha256',
    totalBytes: size,
    entries: [{ rel: 'raw.bin', size, mtimeMs: 0, hash }],
    s3: { bucket: 'b', place: '', objects: [{ rel: 'raw.bin', key, etag: ETAG }], storageClass: 'STANDARD' },
  };
}

describe('the read-back GET into a reused buffer', () => {
  it('takes the raw path for a plain http answer and reads every byte, head and body split anyhow', async () => {
    answers.whole = (s) => s.end(Buffer.concat([ok(data), data]));
    const whole = Buffer.concat([ok(data), data]);
    // the head cut in the middle of a line, the first body bytes with its end, then odd pieces
    answers.split = (s) =>
      void dribble(s, [
        whole.subarray(0, 20),
        whole.subarray(20, ok(data).length + 5),
        whole.subarray(ok(data).length + 5),
      ]).then(() => s.end());
    for (const key of ['whole', 'split']) {
      const r = await client.send(rawBodyGet(new GetObjectCommand({ Bucket: 'b', Key: key })));
      expect(r.Body).toBeInstanceOf(RawBody);
      expect(r.ETag).toBe(`"${ETAG}"`);
      const h = createHash('sha256');
      expect(await (r.Body as unknown as RawBody).drain((b) => h.update(b))).toBe(SIZE);
      expect(h.digest('hex')).toBe(hash);
      const back = await readBackS3Copy(client, manifest(key));
      expect(back).toMatchObject({ ok: true, problems: [], bytes: SIZE });
    }
    expect(requests.at(-1)).toMatch(/^authorization: AWS4-HMAC-SHA256 /im); // signed by the SDK
    expect(requests.at(-1)).toMatch(/^GET \/b\/split\?x-id=GetObject HTTP\/1\.1\r\n/);
  });

  it('finds a changed byte, a short and a long object, and a wrong ETag', async () => {
    const flipped = Buffer.from(data);
    flipped[SIZE - 1]! ^= 1;
    answers.flipped = (s) => s.end(Buffer.concat([ok(flipped), flipped]));
    const short = data.subarray(0, SIZE - 1);
    answers.short = (s) => s.end(Buffer.concat([ok(short), short]));
    const long = Buffer.concat([data, Buffer.from([0])]);
    answers.long = (s) => s.end(Buffer.concat([ok(long), long]));
    const otherEtag = head(['HTTP/1.1 200 OK', 'ETag: "abc124"', `Content-Length: ${SIZE}`]);
    answers.etag = (s) => s.end(Buffer.concat([otherEtag, data]));
    expect((await readBackS3Copy(client, manifest('flipped'))).problems).toEqual([
      expect.stringMatching(/^s3:\/\/b\/flipped: sha256 [0-9a-f]{64}, recorded /),
    ]);
    expect((await readBackS3Copy(client, manifest('short'))).problems).toEqual([
      `s3://b/short: ${SIZE - 1} bytes, recorded ${SIZE}`,
    ]);
    expect((await readBackS3Copy(client, manifest('long'))).problems).toEqual([
      `s3://b/long: ${SIZE + 1} bytes, recorded ${SIZE}`,
    ]);
    expect((await readBackS3Copy(client, manifest('etag'))).problems).toEqual([
      `s3://b/etag: ETag "abc124", recorded ${ETAG}`,
    ]);
  });

  it('throws when the body breaks off before its Content-Length (nothing concluded)', async () => {
    answers.cut = (s) => s.end(Buffer.concat([ok(data), data.subarray(0, SIZE - 1000)]));
    await expect(readBackS3Copy(client, manifest('cut'))).rejects.toThrow(
      `broke off after ${SIZE - 1000} of ${SIZE} bytes`,
    );
  });

  it('leaves a chunked answer and a missing object to the SDK, which reads and judges them', async () => {
    const chunked = (s: Socket) =>
      s.end(
        Buffer.concat([
          head(['HTTP/1.1 200 OK', `ETag: "${ETAG}"`, 'Transfer-Encoding: chunked']),
          Buffer.from(`${SIZE.toString(16)}\r\n`),
          data,
          Buffer.from('\r\n0\r\n\r\n'),
        ]),
      );
    answers.chunked = chunked;
    const r = await client.send(rawBodyGet(new GetObjectCommand({ Bucket: 'b', Key: 'chunked' })));
    expect(r.Body).not.toBeInstanceOf(RawBody);
    await r.Body!.transformToByteArray();
    expect(await readBackS3Copy(client, manifest('chunked'))).toMatchObject({ ok: true, bytes: SIZE });
    answers.gone = (s) =>
      s.end(
        head(['HTTP/1.1 404 Not Found', 'Content-Type: application/xml', 'Content-Length: 95']).toString(
          'latin1',
        ) + '<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>no</Message></Error>'.padEnd(95),
      );
    expect((await readBackS3Copy(client, manifest('gone'))).problems).toEqual(['s3://b/gone: missing']);
  });

  it('throws when cancelled mid-body and when the store is down', async () => {
    let sent!: () => void;
    const started = new Promise<void>((r) => {
      sent = r;
    });
    answers.slow = (s) => void dribble(s, [ok(data), data.subarray(0, 1000)]).then(sent); // then nothing more
    const stop = new AbortController();
    const reading = readBackS3Copy(client, manifest('slow'), { signal: stop.signal });
    await started;
    stop.abort();
    await expect(reading).rejects.toThrow(/cancelled/);
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const down = s3Client(
      {
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${port}`,
        force_path_style: true,
        access_key_id: 'K',
        secret_access_key: 'S',
      },
      { maxAttempts: 1 },
    );
    await expect(readBackS3Copy(down, manifest('whole'))).rejects.toThrow(/ECONNREFUSED/);
  });
});
