// Name-based (version 5) UUIDs in the URL namespace, for the export's deterministic urn:uuid full URLs.
// Node-RED-free.
import { hash } from 'node:crypto';

/** The URL namespace of RFC 9562 (appendix A), 6ba7b811-9dad-11d1-80b4-00c04fd430c8. */
const URL_NAMESPACE = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');

/**
 * The version 5 UUID of a name in the URL namespace (what the uuid package's v5 gives), from node's one-shot SHA-1 in
 * hex: uuid's own v5 makes a hash object and a byte array per call, which was a tenth of Generate Bundle's CPU.
 */
export function nameUuid(name: string): string {
  const h = hash('sha1', Buffer.concat([URL_NAMESPACE, Buffer.from(name)]), 'hex');
  // RFC 9562 §5.5: the first 16 bytes, version 5 in the 7th byte's high nibble, variant 10 in the 9th's top bits.
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
