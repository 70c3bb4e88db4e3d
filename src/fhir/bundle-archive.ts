// Generate Bundle's download: one FHIR resource per file. A single Bundle is its own .json file; several are a
// zip of one Bundle per file, numbered in the order an export sends them. Node-RED-free.
import { strToU8, zipSync } from 'fflate';
import { FHIR_JSON } from './media-type.js';

export interface BundleDownload {
  filename: string;
  contentType: string;
  body: Buffer;
}

/** The download of `bundles` (FHIR Bundles, at least one) named after `name` (made safe for a file name). */
export function bundleDownload(bundles: readonly object[], name: string): BundleDownload {
  const base = name.replace(/[^\w.-]+/g, '-') || 'export';
  if (bundles.length === 1) {
    return {
      filename: `${base}-bundle.json`,
      contentType: FHIR_JSON,
      body: Buffer.from(JSON.stringify(bundles[0], null, 2)),
    };
  }
  const width = Math.max(3, String(bundles.length).length);
  const files: Record<string, Uint8Array> = {};
  bundles.forEach((b, i) => (files[`${base}-bundle-${String(i + 1).padStart(width, '0')}.json`] = strToU8(JSON.stringify(b, null, 2))));
  return { filename: `${base}-bundles.zip`, contentType: 'application/zip', body: Buffer.from(zipSync(files, { level: 6 })) };
}
