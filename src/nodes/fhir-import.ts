// fhir-import: on any input (the "Run now" inject), read Locations (and their Organizations) from the
// external system through a transform into geo-objects; one job per run. msg.fullResync = true ignores
// the watermark once.
import type { Location, Organization } from '@medplum/fhirtypes';
import type { NodeAPI, NodeDef, NodeMessageInFlow, Node } from 'node-red';
import type { Transform } from '../sync/import-run.js';
import type { ImportTarget } from '../sync/import-target.js';
import type { RegistryModel } from '../registry/model.js';
import type { TransformContext } from '../mapping/fhir-to-registry.js';
import { bindExternalSystem } from '../node-red/external-system-node.js';
import { configurationError } from '../node-red/start-status.js';
import { contextStore } from '../node-red/context-store.js';
import { syncState } from '../node-red/sync-state.js';
import { EMBEDDED_REGISTRY_KEY } from '../node-red/embedded-registry.js';
import { defaultTransform } from '../mapping/fhir-to-registry.js';
import { transformResult } from '../mapping/transform-output.js';
import { moduleTransform } from '../mapping/transform-module.js';
import { writeImport } from '../sync/import-target.js';
import type { Trigger } from '../node-red/sync-jobs.js';
import { jobError, syncJobs, wireRuns } from '../node-red/sync-jobs.js';
import { registerJobRoutes } from '../node-red/job-routes.js';
import { configureSyncQueue } from '../node-red/sync-queue.js';
import { gprConnectionOf } from '../node-red/gpr-registry-node.js';
import { DEFAULT_IMPORT_OPTIONS, runImport } from '../sync/import-run.js';
import { retryPolicy, retrySetting } from '../node-red/retry-setting.js';

interface ImportDef extends NodeDef {
  organization?: string;
  system?: string;
  resourceType?: 'Location' | 'Organization';
  includeOrganizations?: boolean;
  searchParams?: string;
  pageSize?: string | number;
  maxPages?: string | number;
  hierarchy?: string;
  incremental?: boolean;
  processor?: 'default' | 'jsonata' | 'module';
  transform?: string;
  module?: string;
  target?: 'emit' | 'embedded' | 'gpr';
  registry?: string;
}

/** Context key of the start of the last run that was not a FAILURE (the incremental watermark). */
const STATE_KEY = 'importState';

export = function (RED: NodeAPI) {
  function FhirImport(this: Node, def: ImportDef) {
    RED.nodes.createNode(this, def);
    const system = bindExternalSystem(RED, this, def.system, String(def.organization ?? ''));
    // History and the watermark belong to this sync: a server, a hierarchy, a mapping.
    const identity = () => {
      try {
        const { url, system: identifiers } = system().settings;
        return {
          server: { url, identifiers },
          hierarchy: def.hierarchy ?? '',
          mapping: [
            def.resourceType,
            def.includeOrganizations,
            def.searchParams,
            def.processor,
            def.transform,
            def.module,
            def.target,
            def.registry,
          ],
        };
      } catch {
        return undefined;
      }
    };
    const state = syncState(RED, this, identity());
    const jobs = syncJobs(RED, this, state, 20);
    const hierarchy = String(def.hierarchy || DEFAULT_IMPORT_OPTIONS.hierarchy);

    let transform: Transform = defaultTransform;
    let problem: string | undefined;
    try {
      if (def.processor === 'jsonata') {
        const expr = RED.util.prepareJSONataExpression(String(def.transform ?? ''), this);
        transform = (resource: Location | Organization, ctx: TransformContext) =>
          new Promise((res, rej) =>
            RED.util.evaluateJSONataExpression(
              expr,
              { resourceType: resource.resourceType, resource, system: ctx.system, hierarchy: ctx.hierarchy } as never,
              (err, value) => (err ? rej(err) : res(transformResult(value, ctx.hierarchy))),
            ),
          );
      } else if (def.processor === 'module') {
        transform = moduleTransform(String(RED.settings.userDir ?? process.cwd()), String(def.module ?? ''));
      }
    } catch (err) {
      problem = `transform: ${(err as Error).message}`;
      configurationError(this, problem);
    }

    const searchParams = Object.fromEntries(new URLSearchParams(String(def.searchParams ?? '')));

    /** Start a run for `msg` at once; its end is reported through send/done. Throws configuration errors. */
    const trigger: Trigger = (msg, send, done) => {
      if (problem) throw new Error(problem);
      const external = system();
      const target: ImportTarget =
        def.target === 'embedded'
          ? { kind: 'embedded', store: contextStore(this.context().global), key: EMBEDDED_REGISTRY_KEY }
          : def.target === 'gpr'
            ? { kind: 'gpr', connection: gprConnectionOf(RED, def.registry) }
            : { kind: 'emit' };
      const full = (msg as { fullResync?: unknown }).fullResync === true || def.incremental === false;
      let model: RegistryModel | undefined;
      const started = jobs.start('import', async (queued, signal) => {
        const saved = (await state.get(STATE_KEY)) as { since?: string } | undefined;
        const result = await runImport({
          options: {
            ...DEFAULT_IMPORT_OPTIONS,
            system: external.settings.system,
            resourceType: def.resourceType === 'Organization' ? 'Organization' : 'Location',
            includeOrganizations: def.includeOrganizations !== false,
            searchParams,
            pageSize: Math.max(1, Number(def.pageSize) || DEFAULT_IMPORT_OPTIONS.pageSize),
            maxPages: Math.max(1, Number(def.maxPages) || DEFAULT_IMPORT_OPTIONS.maxPages),
            hierarchy,
          },
          connection: external.connection,
          transform,
          retry: retryPolicy(RED, 'fhirImportRetry'),
          ...(full || !saved?.since ? {} : { since: saved.since }),
          forDate: new Date().toISOString().slice(0, 10),
          onProgress: jobs.progress,
          job: queued,
          signal,
        });
        model = result.model;
        // Writing to the target is part of the job; so is moving the watermark, only after a run that was not a FAILURE.
        const job = model ? await writeImport(target, model, result.job) : result.job;
        if (model && job.status !== 'FAILURE') await state.set(STATE_KEY, { since: job.startedAt });
        return job;
      });
      started.finished.then(
        (job) => {
          if (!job) return done();
          const out = msg as NodeMessageInFlow & { job?: unknown };
          out.job = job;
          const failed = jobError(`import from "${external.settings.label}"`, job);
          if (failed || !model) return done(failed);
          out.payload = model;
          send(out);
          done();
        },
        (err: Error) => done(err),
      );
      return started;
    };

    wireRuns(RED, this, trigger);
  }

  RED.nodes.registerType('fhir-import', FhirImport, { settings: retrySetting('fhirImportRetry') });
  registerJobRoutes(RED, 'fhir-import');
  configureSyncQueue(RED);
};
