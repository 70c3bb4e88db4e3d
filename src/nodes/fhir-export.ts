// fhir-export: on any input (the "Run now" inject), export the registry model on msg.payload to the
// external system as mCSD Organizations and Locations; one job per run.
import type { NodeAPI } from 'node-red';
import type { ExportDef, ExportNode } from '../node-red/export-node.js';
import { bindExternalSystem } from '../node-red/external-system-node.js';
import { syncState } from '../node-red/sync-state.js';
import { asRegistryModel, asRegistryModelHint, isCalendarDate } from '../registry/model.js';
import { exportOptionsFrom } from '../sync/export-options.js';
import { runExport } from '../sync/export-run.js';
import { retryPolicy, retrySetting } from '../node-red/retry-setting.js';
import { configureSyncQueue } from '../node-red/sync-queue.js';
import type { Trigger } from '../node-red/sync-jobs.js';
import type { SourceNode } from '../node-red/source-node.js';
import type { RegistryModel } from '../registry/model.js';
import { jobError, syncJobs, wireRuns } from '../node-red/sync-jobs.js';
import { finishJob } from '../sync/job.js';
import { registerJobRoutes } from '../node-red/job-routes.js';
import { registerBundleRoute, registerFormBundleRoute } from '../node-red/bundle-route.js';

/** Context key of the fingerprints of what the last run (not a FAILURE) exported, for incremental runs. */
const STATE_KEY = 'exportState';

export = function (RED: NodeAPI) {
  function FhirExport(this: ExportNode, def: ExportDef) {
    RED.nodes.createNode(this, def);
    const system = bindExternalSystem(RED, this, def.system, String(def.organization ?? ''));
    // History and incremental state belong to this sync: a server, a hierarchy, a mapping.
    const identity = () => {
      try {
        const { url, system: identifiers } = system().settings;
        return {
          server: { url, identifiers },
          hierarchy: { hierarchies: def.hierarchies ?? '', source: def.source ?? '' },
          mapping: [def.implementation, def.levels, def.idStrategy, def.partOfHierarchy, def.locationPartOf, def.gprCompat],
        };
      } catch {
        return undefined;
      }
    };
    const state = syncState(RED, this, identity());
    const jobs = syncJobs(RED, this, state, Number(def.retention) || 20);
    const forDate = String(def.forDate ?? '').trim();

    this.exportOptions = () => {
      if (forDate && !isCalendarDate(forDate)) throw new Error(`for-date "${forDate}" is not a valid yyyy-mm-dd date`);
      return exportOptionsFrom(def, system().settings.system);
    };
    this.checkedModel = (payload) => {
      const model = asRegistryModel(payload);
      if (forDate && model.forDate !== forDate)
        throw new Error(`the source read the registry at ${model.forDate}; this export is for ${forDate}`);
      return model;
    };

    /** The model of a run: on msg.payload, else read from the configured source node (Run now). */
    const modelOf = (payload: unknown): (() => Promise<RegistryModel>) => {
      if (payload && typeof payload === 'object') {
        const model = this.checkedModel(payload);
        return async () => model;
      }
      const source = def.source ? (RED.nodes.getNode(def.source) as SourceNode | null) : null;
      if (!source) throw new Error(`${asRegistryModelHint}; or select a registry source for Run now`);
      // Run now asks the source for this export's For date: one date to set.
      return async () => this.checkedModel(await source.readModel(forDate || undefined));
    };
    this.readSource = async () => modelOf(undefined)();

    /** Start a run for `msg` at once; its end is reported through send/done. Throws configuration errors. */
    const trigger: Trigger = (msg, send, done) => {
      const external = system();
      const read = modelOf(msg.payload);
      const options = this.exportOptions();
      let next: Record<string, string> | undefined;
      const started = jobs.start('export', async (queued, signal) => {
        const previous = ((await state.get(STATE_KEY)) ?? {}) as Record<string, string>;
        let model: RegistryModel;
        try {
          model = await read();
        } catch (err) {
          return finishJob(queued, { message: `reading the registry: ${(err as Error).message}` });
        }
        const job = await runExport({
          model,
          options,
          previous,
          onState: (fingerprints) => (next = fingerprints),
          connection: external.connection,
          concurrency: Number(def.concurrency) || 2,
          retry: retryPolicy(RED, 'fhirExportRetry'),
          onProgress: jobs.progress,
          job: queued,
          signal,
        });
        if (next) await state.set(STATE_KEY, next);
        return job;
      });
      started.finished.then(
        (job) => {
          if (!job) return done();
          msg.payload = job;
          const failed = jobError(`export to "${external.settings.label}"`, job);
          if (failed) return done(failed);
          send(msg);
          done();
        },
        (err: Error) => done(err),
      );
      return started;
    };

    wireRuns(RED, this, trigger);
  }

  RED.nodes.registerType('fhir-export', FhirExport, {
    settings: { ...retrySetting('fhirExportRetry'), fhirExportJobConcurrency: { value: 1, exportable: false } },
  });
  registerJobRoutes(RED, 'fhir-export');
  configureSyncQueue(RED);
  registerBundleRoute(RED, 'fhir-export', (node) => node as ExportNode);
  registerFormBundleRoute(RED);
};
