/**
 * The read-back's GET with its body received into one reused buffer (verify.ts): the SDK builds,
 * signs, retries and deserializes the request as always, but the last step — sending it and reading
 * the answer — is done here on a socket of our own, created with `onread` so every read lands in
 * the same 256 KiB buffer and is handed to the caller (the hash) before the next read.
 *
 * Why: the SDK's Node handler (node:http) allocates a fresh 64 KiB buffer for every socket read;
 * 16,000 of them per GiB. Right after an upload (the copy task, the bench) that external memory made
 * V8 run a full mark-compact every ~60 ms ("external memory pressure", --trace-gc): 1 GiB read back
 * with 1.9–3.3 s of client CPU (V8's GC threads up to 1.3 s of it), against ~1.1 s for the same GET
 * of an object uploaded earlier. Here nothing is allocated per read: 0.94–1.13 s (verify.ts).
 *
 * Only a plain `http:` endpoint whose 2xx answer is framed by Content-Length takes this path (S3
 * over TLS, a chunked or unframed answer, and every error status go through the SDK's own handler —
 * for the last two the request is sent again by the SDK — so the SDK reads and judges them as
 * before: a missing object is still its NoSuchKey). A body is
 * never accepted short: the socket closing before Content-Length bytes arrived is an error.
 * Crash points: none (a socket and a buffer, nothing outside the process).
 */
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { GetObjectCommand } from '@aws-sdk/client-s3';
import { buildQueryString } from '@smithy/core/protocols';

/** The size of the one read buffer of a raw GET. */
const READ_SIZE = 256 * 1024;
/** The status line and headers of an answer must fit in this (S3's are ~1 KiB). */
const MAX_HEAD = 64 * 1024;

/** The SDK's request at the end of its stack (the fields the Node handler reads). */
interface SignedRequest {
  protocol: string;
  hostname: string;
  port?: number;
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
  username?: string;
  password?: string;
}

/**
 * A GET's body still on its socket: `drain` hands every byte to `onBytes` (a view of the reused
 * buffer, valid only during the call) and resolves with the count once Content-Length bytes came.
 * Not a stream to read: anything reading it as one fails (the SDK only wraps it, untouched).
 */
export class RawBody extends Readable {
  private sink?: (b: Buffer) => void;
  private got = 0;
  private settle?: { resolve: (n: number) => void; reject: (e: Error) => void };
  private failure?: Error;
  private finished = false;

  constructor(
    private readonly socket: Socket,
    readonly length: number,
    private readonly early: Buffer,
    private readonly where: string,
  ) {
    super();
  }

  override _read(): void {
    this.destroy(
      new Error(`the read-back's body of ${this.where} is read by RawBody.drain, not as a stream`),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  /** Hands every byte of the body to `onBytes`, in order; resolves with the byte count. */
  drain(onBytes: (b: Buffer) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.sink = onBytes;
      this.settle = { resolve, reject };
      this.receive(this.early);
      if (!this.finished) this.socket.resume();
    });
  }

  /** Called with each read's bytes of the body (a view of the reused buffer). */
  receive(b: Buffer): boolean {
    if (!this.sink) return false; // not draining yet: the socket is paused until `drain`
    const n = Math.min(b.length, this.length - this.got);
    if (n > 0) this.sink(n === b.length ? b : b.subarray(0, n));
    this.got += n;
    if (this.got === this.length) this.finish();
    return !this.finished;
  }

  private finish(): void {
    this.finished = true;
    const s = this.settle;
    this.settle = undefined;
    this.sink = undefined;
    this.socket.destroy();
    s?.resolve(this.got);
  }

  /** The socket failed or closed: an error unless every byte arrived. */
  fail(err: Error): void {
    if (this.finished) return;
    const e = new Error(
      `the read-back of ${this.where} broke off after ${this.got} of ${this.length} bytes: ${err.message}`,
    );
    const s = this.settle;
    this.settle = undefined;
    this.sink = undefined;
    if (s) s.reject(e);
    else this.failure ??= e;
  }
}

interface Head {
  status: number;
  reason: string;
  headers: Record<string, string>;
}

function parseHead(text: string): Head | undefined {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) return undefined;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return { status: Number(m[1]), reason: m[2] ?? '', headers };
}

/**
 * Sends the signed request on a socket of its own; resolves with the answer's head and, for a 2xx
 * answer framed by Content-Length alone, its body as a `RawBody` (otherwise undefined: the socket is
 * closed and the caller lets the SDK do the request).
 */
function rawRequest(
  req: SignedRequest,
  signal: AbortSignal | undefined,
): Promise<{ head: Head; body: RawBody } | undefined> {
  const where = `${req.hostname}${req.path}`;
  return new Promise((resolve, reject) => {
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    let head: Buffer[] = [];
    let headBytes = 0;
    let body: RawBody | undefined;
    let done = false;
    const stop = (err: Error) => {
      if (body) body.fail(err);
      else if (!done) {
        done = true;
        reject(err);
      }
      socket.destroy();
    };
    const onAbort = () => stop(new Error(`the read-back of ${where} was cancelled`));
    const host =
      req.hostname.startsWith('[') && req.hostname.endsWith(']') ? req.hostname.slice(1, -1) : req.hostname;
    const socket = connect({
      host,
      port: req.port ?? 80,
      onread: {
        buffer,
        callback: (n: number, buf: Uint8Array) => {
          const b = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (body) return body.receive(b);
          head.push(Buffer.from(b)); // the head is small: copied, the buffer is reused
          headBytes += n;
          const all = Buffer.concat(head);
          const end = all.indexOf('\r\n\r\n');
          if (end < 0) {
            if (headBytes > MAX_HEAD)
              stop(new Error(`the answer's head from ${where} is over ${MAX_HEAD} bytes`));
            return true;
          }
          head = [];
          const h = parseHead(all.subarray(0, end).toString('latin1'));
          if (!h) {
            stop(new Error(`the answer from ${where} is not HTTP/1.1`));
            return false;
          }
          const len = h.headers['content-length'];
          const framed =
            h.status >= 200 && h.status < 300 && !h.headers['transfer-encoding'] && len && /^\d+$/.test(len);
          done = true;
          if (!framed) {
            socket.destroy();
            resolve(undefined);
            return false;
          }
          body = new RawBody(socket, Number(len), Buffer.from(all.subarray(end + 4)), where);
          resolve({ head: h, body });
          return false; // paused until the caller drains the body
        },
      },
    });
    socket.setNoDelay(true);
    socket.on('error', stop);
    socket.on('close', () => {
      signal?.removeEventListener('abort', onAbort);
      stop(new Error('the connection closed'));
    });
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const query = req.query ? buildQueryString(req.query) : ''; // as the SDK's Node handler builds it
    const lines = [`${req.method} ${req.path}${query ? `?${query}` : ''} HTTP/1.1`];
    for (const [k, v] of Object.entries(req.headers)) lines.push(`${k}: ${v}`);
    if (!Object.keys(req.headers).some((k) => k.toLowerCase() === 'host'))
      lines.push(`host: ${req.hostname}${req.port ? `:${req.port}` : ''}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/**
 * Makes `cmd` receive its answer's body as a `RawBody` when the endpoint is plain http (see the
 * module comment); the caller checks `Body instanceof RawBody` and drains or destroys it. `signal`
 * is the one given to `client.send` (the SDK hands it to its handler only).
 */
export function rawBodyGet(cmd: GetObjectCommand, signal?: AbortSignal): GetObjectCommand {
  const stack = cmd.middlewareStack as unknown as {
    addRelativeTo(
      mw: (
        next: (args: { request: unknown }) => Promise<{ response: unknown }>,
        context: unknown,
      ) => (args: { request: unknown }) => Promise<{ response: unknown }>,
      opts: { relation: 'after'; toMiddleware: string; name: string },
    ): void;
  };
  stack.addRelativeTo(
    (next) => async (args) => {
      const req = args.request as SignedRequest;
      const plain = req.protocol === 'http:' && req.method === 'GET' && !req.body;
      if (!plain || req.username != null || req.password != null) return next(args);
      const r = await rawRequest(req, signal);
      if (!r) return next(args);
      return {
        response: { statusCode: r.head.status, reason: r.head.reason, headers: r.head.headers, body: r.body },
      };
    },
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'sluiceRawBodyGet' },
  );
  return cmd;
}
