/** Random secrets and their digests: what goes to the client is random, what is stored is a hash. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `bytes` random bytes, base64url (32 bytes → 43 characters). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** sha256, hex: how session ids and API tokens are stored. They are random, so no salt is needed. */
export function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Compares two strings in time that does not depend on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** A password a person can type: 20 characters from an alphabet without look-alikes (~115 bits). */
export function generatePassword(length = 20): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const out: string[] = [];
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // 57 symbols: reject bytes ≥ 228 (4 × 57) so every symbol is equally likely
      if (b < 228 && out.length < length) out.push(alphabet[b % 57]!);
    }
  }
  return out.join('');
}
