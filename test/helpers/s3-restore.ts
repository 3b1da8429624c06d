/**
 * A restore-aware S3 STAND-IN for tests of the cold-storage retrieval flow (issue #20). No S3 server
 * that runs here implements `RestoreObject` (s3rver accepts a storage class and ignores it), so this
 * is a small HTTP proxy in front of s3rver that adds the part of S3's Glacier behaviour Sluice relies
 * on, and forwards everything else (signed requests pass through unchanged: same path, same Host):
 *
 * - an object written with `x-amz-storage-class: GLACIER | DEEP_ARCHIVE | GLACIER_IR`… (PutObject,
 *   or CreateMultipartUpload for the key) is cold (GLACIER_IR excepted, as on S3: it is readable);
 * - GET of a cold object not (yet) restored answers 403 `InvalidObjectState`;
 * - `POST /bucket/key?restore` (RestoreObject) answers 202 the first time, 409
 *   `RestoreAlreadyInProgress` while it runs, 200 once restored; on a non-cold object 403
 *   `InvalidObjectState`;
 * - HEAD of a cold object reports `x-amz-storage-class` and, once a restore was asked for,
 *   `x-amz-restore: ongoing-request="true"` or `ongoing-request="false", expiry-date="…"`;
 * - a restore completes `restoreDelayMs` after it was asked for (or at once by `completeRestore`);
 *   `expireRestore` turns a restored object cold again.
 *
 * What it does NOT emulate: restore tiers and their real durations (hours), billing, the restore
 * request's XML being checked beyond its presence, `Days` deciding the expiry date (it always
 * reports the days asked for, default 1), lifecycle transitions to a cold class, S3 Select restores,
 * restores of object versions, and any S3 error besides the ones above.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const COLD_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

interface ColdObject {
  storageClass: string;
  restoreAskedAt?: number;
  restoredAt?: number;
  days?: number;
  restores: number;
}

export interface RestoreStandIn {
  endpoint: string;
  /** RestoreObject calls accepted (202) per `bucket/key`. */
  restoreRequests(bucket: string, key: string): number;
  /** GETs answered 200 per `bucket/key` (downloads that reached s3rver). */
  gets(bucket: string, key: string): number;
  completeRestore(bucket: string, key: string): void;
  expireRestore(bucket: string, key: string): void;
  isCold(bucket: string, key: string): boolean;
  close(): Promise<void>;
}

function xmlError(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
}

function objectOf(url: URL): string {
  return decodeURIComponent(url.pathname.slice(1));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function forward(
  upstream: AddressInfo,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  onHeaders?: (status: number, headers: http.OutgoingHttpHeaders) => void,
): void {
  const out = http.request(
    { host: upstream.address, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      const headers = { ...up.headers } as http.OutgoingHttpHeaders;
      onHeaders?.(up.statusCode ?? 500, headers);
      res.writeHead(up.statusCode ?? 500, headers);
      up.pipe(res);
    },
  );
  out.on('error', (e) => {
    if (!res.headersSent) xmlError(res, 502, 'BadGateway', e.message);
    else res.destroy(e);
  });
  req.pipe(out);
}

/** Starts the stand-in on loopback in front of an s3rver listening at `upstream`. */
export async function startRestoreStandIn(
  upstream: AddressInfo,
  opts: { restoreDelayMs?: number } = {},
): Promise<RestoreStandIn> {
  const delay = opts.restoreDelayMs ?? 0;
  const cold = new Map<string, ColdObject>();
  const getCounts = new Map<string, number>();
  /** Restored yet? (`restoreDelayMs: Infinity` leaves it to `completeRestore`.) */
  function restored(o: ColdObject): boolean {
    if (o.restoredAt !== undefined) return true;
    if (o.restoreAskedAt === undefined || Date.now() - o.restoreAskedAt < delay) return false;
    o.restoredAt = Date.now();
    return true;
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const key = objectOf(url);
    const cls = String(req.headers['x-amz-storage-class'] ?? '');
    const obj = cold.get(key);
    if (req.method === 'POST' && url.searchParams.has('restore')) {
      const body = await readBody(req);
      if (!obj)
        return xmlError(
          res,
          403,
          'InvalidObjectState',
          "Restore is not allowed for the object's current storage class",
        );
      if (restored(obj)) {
        res.writeHead(200).end();
        return;
      }
      if (obj.restoreAskedAt !== undefined) {
        return xmlError(res, 409, 'RestoreAlreadyInProgress', 'Object restore is already in progress');
      }
      obj.restoreAskedAt = Date.now();
      obj.days = Number(/<Days>(\d+)<\/Days>/.exec(body)?.[1] ?? 1);
      obj.restores++;
      res.writeHead(202).end();
      return;
    }
    if (req.method === 'PUT' && !url.searchParams.has('partNumber')) {
      if (COLD_CLASSES.has(cls)) cold.set(key, { storageClass: cls, restores: 0 });
      else if (!req.headers['x-amz-copy-source']) cold.delete(key);
    }
    if (req.method === 'POST' && url.searchParams.has('uploads')) {
      if (COLD_CLASSES.has(cls)) cold.set(key, { storageClass: cls, restores: 0 });
      else cold.delete(key);
    }
    if (req.method === 'DELETE' && url.searchParams.size === 0) cold.delete(key);
    if (req.method === 'GET' && obj && !restored(obj)) {
      return xmlError(
        res,
        403,
        'InvalidObjectState',
        "The operation is not valid for the object's storage class",
      );
    }
    forward(upstream, req, res, (status, headers) => {
      if (req.method === 'GET' && status < 300) getCounts.set(key, (getCounts.get(key) ?? 0) + 1);
      if (!obj || (req.method !== 'HEAD' && req.method !== 'GET')) return;
      headers['x-amz-storage-class'] = obj.storageClass;
      if (obj.restoreAskedAt === undefined) return;
      if (restored(obj)) {
        const expiry = new Date((obj.restoredAt ?? Date.now()) + (obj.days ?? 1) * 86_400_000);
        headers['x-amz-restore'] = `ongoing-request="false", expiry-date="${expiry.toUTCString()}"`;
      } else headers['x-amz-restore'] = 'ongoing-request="true"';
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const k = (bucket: string, key: string) => `${bucket}/${key}`;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    restoreRequests: (b, key) => cold.get(k(b, key))?.restores ?? 0,
    gets: (b, key) => getCounts.get(k(b, key)) ?? 0,
    completeRestore(b, key) {
      const o = cold.get(k(b, key));
      if (o?.restoreAskedAt !== undefined) o.restoredAt = Date.now();
    },
    expireRestore(b, key) {
      const o = cold.get(k(b, key));
      if (!o) return;
      o.restoreAskedAt = undefined;
      o.restoredAt = undefined;
    },
    isCold: (b, key) => cold.has(k(b, key)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
