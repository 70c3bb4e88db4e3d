// Where an import's geo-objects go: the output only, the embedded registry, or a live GPR. Writing is
// part of the job (the import runner writes before it ends the job): its rows and counts land in the
// record, and a write that fails as a whole makes the run a FAILURE. Node-RED-free.
import type { RegistryModel } from '../registry/model.js';
import type { GprConnection } from '../registry/gpr-client.js';
import type { KeyValue } from './job-store.js';
import type { JobRecord } from './job.js';
import { mergeRegistry } from '../registry/embedded.js';
import { writeToGpr } from './gpr-write.js';

export type ImportTarget =
  { kind: 'emit' } | { kind: 'embedded'; store: KeyValue; key: string } | { kind: 'gpr'; connection: GprConnection };

/** Write the imported model to `target`: rows and counts go into the job; a write that fails as a whole throws. */
export async function writeImport(target: ImportTarget, model: RegistryModel, job: JobRecord): Promise<void> {
  if (target.kind === 'embedded') {
    const base = (await target.store.get(target.key)) as RegistryModel | undefined;
    await target.store.set(target.key, mergeRegistry(base, model));
  } else if (target.kind === 'gpr') {
    const { rows, ...written } = await writeToGpr(target.connection, model, model.forDate);
    job.written = written;
    job.errors.push(...rows);
  }
}
