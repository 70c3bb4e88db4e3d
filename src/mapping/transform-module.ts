// A custom transform from a JS module in the Node-RED user directory, as GPR's FhirResourceProcessor:
// it exports process(resource, {system, hierarchy}). Node-RED-free.
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Location, Organization } from '@medplum/fhirtypes';
import type { TransformContext, TransformResult } from './fhir-to-registry.js';
import { transformResult } from './transform-output.js';

type Processor = (resource: Location | Organization, ctx: TransformContext) => unknown;

/**
 * The transform of module `file` (relative to `userDir`), loaded on first use; import() takes CommonJS
 * and ES modules alike. Throws at once for a path outside the user directory.
 */
export function moduleTransform(
  userDir: string,
  file: string,
): (resource: Location | Organization, ctx: TransformContext) => Promise<TransformResult | undefined> {
  const path = resolve(userDir, file);
  const rel = relative(userDir, path);
  if (!file || rel.startsWith('..') || isAbsolute(rel))
    throw new Error(`transform module "${file}" must be a file inside the user directory ${userDir}`);
  let loaded: Promise<Processor> | undefined;
  const load = async (): Promise<Processor> => {
    const mod = (await import(pathToFileURL(path).href)) as { process?: Processor; default?: { process?: Processor } };
    const processor = mod.process ?? mod.default?.process;
    if (typeof processor !== 'function') throw new Error(`transform module ${path} does not export process(resource, context)`);
    return processor;
  };
  return async (resource, ctx) => transformResult(await (await (loaded ??= load()))(resource, ctx), ctx.hierarchy);
}
