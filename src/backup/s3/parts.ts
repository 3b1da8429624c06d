/**
 * The multipart upload's parts (upload.ts): a fixed set of part buffers in shared memory, reused
 * from part to part, and the hashing of the parts on threads of their own (../hash-thread.ts), so the
 * event loop only moves bytes.
 *
 * Why: measured in the backup-s3 bench's child process (CPU profile, 256 MiB, machine loaded), the
 * event loop spent more time in `Hash.update` than in anything else (5.2 s of 12.5 s busy: each
 * part's MD5, the member's whole MD5 and sha256, and the SDK's sha256 of each part for its
 * signature; MD5 has no CPU instruction and is the costly one), while the store waited; and a fresh
 * 16 MiB buffer per part left the collector 1.8 s of work. Now the memory is `size × count` whatever
 * the member's size, and the part MD5s and the member's hash run beside the network.
 *
 * A buffer is given back only after every hash of it settled and its request ended, so the bytes
 * hashed are the bytes sent. Crash points: none — threads and buffers hold no state
 * outside the process.
 */
import { HashThread, type ThreadHash } from '../hash-thread.ts';

/** `count` buffers of `size` bytes in shared memory; `take` waits while all are in use. */
export class PartBuffers {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((b: Buffer) => void)[] = [];

  constructor(size: number, count: number) {
    for (let i = 0; i < count; i++) this.free.push(Buffer.from(new SharedArrayBuffer(size)));
  }

  take(): Promise<Buffer> {
    const b = this.free.pop();
    return b ? Promise.resolve(b) : new Promise((resolve) => this.waiting.push(resolve));
  }

  give(b: Buffer): void {
    const w = this.waiting.shift();
    if (w) w(b);
    else this.free.push(b);
  }
}

/** One part handed to the hashes: its MD5 (for Content-MD5), and when the member's hash took it. */
export interface PartHashes {
  md5: Promise<Buffer>;
  taken: Promise<void>;
}

/**
 * An object's hashes from its parts, in order: each part's MD5 on one thread, the member's content
 * hash (`backup.hash`) on another.
 */
export class ObjectHashes {
  private readonly parts = new HashThread();
  private readonly whole = new HashThread();
  private readonly content: ThreadHash;

  constructor(algorithm: string) {
    this.content = this.whole.open(algorithm);
    this.parts.warm();
    this.whole.warm();
  }

  /** Hash `len` bytes of `buf` (the next part, in order); `buf` must not change until both settle. */
  part(buf: Buffer, len: number): PartHashes {
    const taken = this.content.update(buf, len);
    taken.catch(() => {}); // observed by the caller
    const h = this.parts.open('md5');
    const md5 = h.update(buf, len).then(async () => Buffer.from(await h.digest(), 'hex'));
    md5.catch(() => {});
    return { md5, taken };
  }

  /** The member's content hash (hex), after every part's `taken` settled. */
  digest(): Promise<string> {
    return this.content.digest();
  }

  async close(): Promise<void> {
    await Promise.all([this.parts.close(), this.whole.close()]);
  }
}
