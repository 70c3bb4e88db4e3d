// Generate Bundle: the export pipeline without the push. Never touches the network: a parent in an
// earlier chunk, or outside the export, is referred to by its id when the id strategy gives one, else
// by a conditional reference. Bundles are built one at a time, so a file of them is written as they come.
// Node-RED-free.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RegistryModel } from '../registry/model.js';
import type { ExportOptions, ExportPlan } from './export-plan.js';
import type { ErrorRow } from './job.js';
import type { Chunk, ExportBundle, ExportedType, OutsideReferences } from './bundles.js';
import { planExport, safeId } from './export-plan.js';
import { buildChunk, chunkBundle, chunkText, planChunks } from './bundles.js';
import { conditionalUrl } from '../fhir/search-value.js';

/** What Generate Bundle makes of a model: the rows and counts at once, the Bundles one by one. */
export interface GeneratedBundles {
  rows: ErrorRow[];
  skipped: ExportPlan['skipped'];
  objects: number;
  /** How many chunks `chunks()` yields. */
  count: number;
  /** The chunks in export order, each built when asked for. */
  chunks(): AsyncGenerator<Chunk>;
}

export interface GeneratedExport {
  bundles: ExportBundle[];
  rows: ErrorRow[];
  skipped: ExportPlan['skipped'];
  objects: number;
}

function offlineReferences(options: ExportOptions): OutsideReferences {
  return {
    reference: async (type: ExportedType, code: string) => {
      if (options.idStrategy === 'server') return conditionalUrl(type, options.system, code, options.gprCompat);
      return `${type}/${options.idStrategy === 'safe' ? safeId(code) : code}`;
    },
  };
}

export async function generateBundles(model: RegistryModel, options: ExportOptions): Promise<GeneratedBundles> {
  const plan = await planExport(model, options, 'generate');
  const chunks = planChunks(plan, options);
  const outside = offlineReferences(options);
  return {
    rows: plan.rows,
    skipped: plan.skipped,
    objects: plan.objects.length,
    count: chunks.length,
    async *chunks() {
      for (const objects of chunks) yield buildChunk(objects, plan, options, outside);
    },
  };
}

/** Hears of each Bundle built: how many so far, of the generation (its Bundle and object counts). */
export type OnBundle = (built: number, generated: GeneratedBundles) => void;

/** Every Bundle, in memory. */
export async function allBundles(generated: GeneratedBundles, onBundle?: OnBundle): Promise<ExportBundle[]> {
  const bundles: ExportBundle[] = [];
  for await (const chunk of generated.chunks()) {
    bundles.push(chunkBundle(chunk));
    onBundle?.(bundles.length, generated);
  }
  return bundles;
}

/** Generate Bundle with every Bundle in memory. */
export async function generateExport(model: RegistryModel, options: ExportOptions, onBundle?: OnBundle): Promise<GeneratedExport> {
  const generated = await generateBundles(model, options);
  return {
    bundles: await allBundles(generated, onBundle),
    rows: generated.rows,
    skipped: generated.skipped,
    objects: generated.objects,
  };
}

/**
 * The text of a Generate Bundle file, in `chunkText`'s pieces: the one Bundle, or a JSON list of the chunk Bundles in
 * export order, one per line. Each Bundle's text is its transaction's as a run sends it, byte for byte.
 */
async function* fileText(generated: GeneratedBundles): AsyncGenerator<string> {
  if (generated.count === 0) return yield '[]\n';
  const single = generated.count === 1;
  let first = true;
  for await (const chunk of generated.chunks()) {
    if (!single) yield first ? '[\n' : ',\n';
    first = false;
    yield* chunkText(chunk);
  }
  yield single ? '\n' : '\n]\n';
}

/**
 * What the file's stream takes before it asks for a pause (about 64 pieces): its writes then run in libuv's threads
 * while the next Bundles are mapped. With the default 16 KB, each piece waited for the last one's write, which added
 * about half to the time of a file of 100,000 objects.
 */
const WRITE_BUFFER = 1 << 20;

/**
 * Write a Generate Bundle file at `path` as the Bundles are built: into a file of its own beside it, renamed to `path`
 * once whole, so that `path` never holds part of a file, and a run that fails (or a runtime that stops during it)
 * leaves whatever `path` held before.
 */
export async function writeBundleFile(generated: GeneratedBundles, path: string): Promise<void> {
  const partial = join(dirname(path), `.${basename(path)}.${randomUUID()}.partial`);
  try {
    await pipeline(
      Readable.from(fileText(generated), { highWaterMark: 1 }),
      createWriteStream(partial, { flags: 'wx', highWaterMark: WRITE_BUFFER }),
    );
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw new Error(`cannot write the Bundle file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}
